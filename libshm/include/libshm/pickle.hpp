// shm::pickle: the pickles CPython writes for SharedMemory and ShareableList handles, written
// byte for byte, and read back by a recogniser that accepts only those shapes.
//
// Pickling is how Python hands a block to another process (multiprocessing queues, pipes,
// managers). CPython pickles a SharedMemory as the call SharedMemory(name, False, size) and a
// ShareableList as functools.partial(ShareableList, name=name)(); unpickling makes that call,
// which ATTACHES to the existing block. The bytes are identical in CPython 3.8 – 3.13, for
// the C pickler and the pure-Python pickle._Pickler alike, for every protocol 0 – 5.
//
// Two more writers make other bytes for the same objects, and both are read and written here
// (Style): multiprocessing's ForkingPickler (what Queues, Pipes and Pool arguments use) reduces
// the ShareableList's functools.partial with its own reducer, giving
// multiprocessing.reduction._rebuild_partial(ShareableList, (), {'name': name})() — as does
// any pickler given that reducer through copyreg.pickle or a dispatch_table; its SharedMemory
// pickle is pickle.dumps's. And pickletools.optimize drops the memo stores nothing fetches and
// renumbers the rest (the same output in 3.8 – 3.13).
//
// loads() is not an unpickler: it never calls, imports or builds anything a pickle names. It
// checks the bytes against the exact shapes dumps() writes and extracts the name (and size),
// so dumps(loads(b)) == b for every b it accepts (PickledHandle records protocol and Style). It is
// a pure function of the bytes, runs in time linear in their length, never recurses, and allocates
// only the name (at most 255 bytes) and an error message, whatever lengths the input claims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"

namespace shm::pickle {

/// The protocol dumps() uses unless told otherwise: pickle.DEFAULT_PROTOCOL in CPython 3.8 –
/// 3.13.
inline constexpr int kDefaultProtocol = 4;
/// The highest protocol there is (pickle.HIGHEST_PROTOCOL in CPython 3.8 – 3.13).
inline constexpr int kHighestProtocol = 5;

/// Bytes that are not a SharedMemory or ShareableList pickle as CPython writes one:
/// Errc::bad_pickle. Derived from std::invalid_argument (the bytes given are the bad argument).
/// what() says what is wrong
/// and where, e.g. "offset 2: global 'posix.system' is not allowed: only
/// multiprocessing.shared_memory.SharedMemory, functools.partial and
/// multiprocessing.reduction._rebuild_partial (of ...ShareableList) make a handle".
class PickleError : public std::invalid_argument, public Error {
 public:
  /// `offset` is the byte of the pickle where the problem was found.
  PickleError(std::size_t offset, const std::string& problem);
  /// The byte offset in the pickle where the problem was found (always set).
  [[nodiscard]] std::size_t offset() const noexcept { return *Error::offset(); }
  /// The problem without the offset prefix.
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

 private:
  std::string problem_;  // what is wrong there
};

/// How a handle pickle is written, beyond its protocol: by which reducer, and whether
/// pickletools.optimize rewrote it. Every combination is a pickle CPython 3.8 – 3.13 makes.
struct Style {
  /// How a ShareableList's functools.partial is reduced.
  enum class Reducer {
    pickle,   ///< partial.__reduce__: pickle.dumps, pickle._Pickler, ForkingPickler's SharedMemory
    forking,  ///< multiprocessing.reduction._reduce_partial: ForkingPickler.dumps, and any
              ///< pickler with that reducer in copyreg or its dispatch_table (ShareableList
              ///< only: a SharedMemory pickle is the same for both reducers)
  };
  /// The reducer (loads() reports Reducer::pickle for every SharedMemory pickle).
  Reducer reducer = Reducer::pickle;
  /// pickletools.optimize(pickle): only the memo stores a later fetch uses, numbered from 0.
  bool optimized = false;

  /// Both members equal.
  friend bool operator==(const Style&, const Style&) = default;
};

/// "pickle" or "forking".
std::string_view to_string(Style::Reducer reducer) noexcept;

/// What a handle pickle says: which object, its block's name and, for a SharedMemory, the
/// size it recorded.
struct PickledHandle {
  /// The two objects whose pickles libshm reads and writes.
  enum class Kind {
    shared_memory,   ///< multiprocessing.shared_memory.SharedMemory
    shareable_list,  ///< multiprocessing.shared_memory.ShareableList
  };
  /// Which object the pickle makes.
  Kind kind = Kind::shared_memory;
  /// The block's name without the leading slash (CPython's `.name` / `.shm.name`).
  std::string name;
  /// SharedMemory: the `.size` (st_size) recorded when it was pickled; unpickling ignores it,
  /// the attached block has its current st_size. ShareableList: none, its pickle has no size.
  std::optional<std::uint64_t> size;
  /// The pickle protocol, 0 – 5: the one loads() found, the one dumps(const PickledHandle&) writes.
  int protocol = kDefaultProtocol;
  /// How the pickle is written: the one loads() found, the one dumps(const PickledHandle&) writes.
  Style style{};

  /// All members equal.
  friend bool operator==(const PickledHandle&, const PickledHandle&) = default;
};

/// "shared_memory" or "shareable_list" (the names the CLI and the harness use).
std::string_view to_string(PickledHandle::Kind kind) noexcept;

/// Checks that dumps() and loads() can carry `name`: 1 – 255 bytes of ASCII without NUL or
/// '/'. This is wider than shm::BlockName::validate (names.hpp): a pickle may name a block CPython
/// can use but libshm refuses to create or attach (':' or a newline, which break CPython's
/// resource tracker, control characters, "."), so that such pickles can still be read and
/// written; attach() then refuses them. Names with a leading '/' (CPython's `.name` of a block
/// created as "/x") are not carried. Throws std::invalid_argument saying why not.
void check_picklable_name(std::string_view name);

/// The exact bytes of pickle.dumps(SharedMemory-object, protocol) for a SharedMemory whose
/// `.name` is `name` and `.size` is `size`, in every CPython 3.8 – 3.13; with
/// `style.optimized`, of pickletools.optimize of them (the reducer makes no difference here).
/// Throws std::invalid_argument for a protocol outside 0 – 5 or a name check_picklable_name
/// refuses.
std::vector<std::byte> dumps_shared_memory(std::string_view name, std::uint64_t size,
                                           int protocol = kDefaultProtocol,
                                           const Style& style = {});

/// The exact bytes of pickle.dumps(ShareableList-object, protocol) for a list whose block is
/// called `name`, in every CPython 3.8 – 3.13; with Style::Reducer::forking, of
/// ForkingPickler.dumps(list, protocol); with `style.optimized`, of pickletools.optimize of
/// either.
/// Throws std::invalid_argument for a protocol outside 0 – 5 or a name check_picklable_name
/// refuses.
std::vector<std::byte> dumps_shareable_list(std::string_view name, int protocol = kDefaultProtocol,
                                            const Style& style = {});

/// dumps_shared_memory(block.name(), block.size(), protocol). A closed block still pickles
/// (it keeps its name and size), a moved-from one does not (no name: std::invalid_argument).
std::vector<std::byte> dumps(const SharedMemory& block, int protocol = kDefaultProtocol);

/// dumps_shareable_list(list.name(), protocol).
std::vector<std::byte> dumps(const ShareableList& list, int protocol = kDefaultProtocol);

/// The pickle of what `handle` describes, in `handle.protocol` and `handle.style`: the
/// inverse of loads().
/// Throws std::invalid_argument as the functions above, and for a SharedMemory handle without
/// a size.
std::vector<std::byte> dumps(const PickledHandle& handle);

/// Reads a SharedMemory or ShareableList pickle written by CPython 3.8+ (either pickler or
/// ForkingPickler, any protocol 0 – 5, optimized by pickletools.optimize or not) or by dumps().
/// Accepts exactly those bytes: each opcode, memo index, frame length and number encoding must
/// be the one CPython writes for some Style (reported in the PickledHandle); the name must pass
/// check_picklable_name; the SharedMemory's create flag must be False (True would make CPython
/// create the block) and its size must fit 64 bits. Everything else throws PickleError: another
/// global (os.system, builtins.eval, ...), another structure, truncation, bytes after STOP.
/// Never calls anything; linear time (it tries at most four readings: protocol 0 or 1 when
/// there is no PROTO, optimized or not; the error is that of the reading that got furthest);
/// pure function of `data` (safe to fuzz).
PickledHandle loads(std::span<const std::byte> data);

/// Attaches to the block a SharedMemory handle names, as unpickling does in CPython: a plain
/// attach by name, where the size in the pickle is ignored (size() is the block's current
/// st_size). Unlike CPython before 3.13, the block is not registered with the resource
/// tracker unless `options.track` is set (docs/cpython-quirks.md): an attached block then
/// survives this process.
/// Throws std::invalid_argument for a ShareableList handle (use attach_list) and whatever
/// SharedMemory::attach throws: std::system_error with ENOENT if the block no longer exists
/// (CPython's FileNotFoundError), std::invalid_argument for a name libshm refuses.
SharedMemory attach(const PickledHandle& handle, const AttachOptions& options = {});

/// Attaches to the list a ShareableList handle names, as unpickling does in CPython (and, as
/// attach(), without tracking unless `options.track` is set).
/// Throws std::invalid_argument for a SharedMemory handle and whatever ShareableList::attach
/// throws.
ShareableList attach_list(const PickledHandle& handle, const ListAttachOptions& options = {});

}  // namespace shm::pickle
