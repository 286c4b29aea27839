// The pickle opcodes and the two handle shapes, written once for both directions (private).
//
// A shape is a function template that walks a handle pickle token by token and calls a
// visitor: the Encoder (pickle_dumps.cpp) appends each token, the Decoder (pickle_loads.cpp)
// checks that the input has exactly that token there. So the bytes loads() accepts are, by
// construction, the bytes dumps() writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bytes_text.hpp"
#include "libshm/pickle.hpp"

namespace shm::pickle::detail {

/// The opcodes the handle pickles and the synchronisation objects' pickles (sync_pickle.hpp)
/// use (Lib/pickle.py's names).
namespace op {
inline constexpr char kMark = '(';
inline constexpr char kStop = '.';
inline constexpr char kInt = 'I';
inline constexpr char kBinInt = 'J';
inline constexpr char kBinInt1 = 'K';
inline constexpr char kLong = 'L';
inline constexpr char kBinInt2 = 'M';
inline constexpr char kNone = 'N';
inline constexpr char kReduce = 'R';
inline constexpr char kUnicode = 'V';
inline constexpr char kBinUnicode = 'X';
inline constexpr char kBuild = 'b';
inline constexpr char kGlobal = 'c';
inline constexpr char kDict = 'd';
inline constexpr char kEmptyDict = '}';
inline constexpr char kGet = 'g';
inline constexpr char kBinGet = 'h';
inline constexpr char kLongBinGet = 'j';
inline constexpr char kPut = 'p';
inline constexpr char kBinPut = 'q';
inline constexpr char kLongBinPut = 'r';
inline constexpr char kSetItem = 's';
inline constexpr char kSetItems = 'u';
inline constexpr char kTuple = 't';
inline constexpr char kEmptyTuple = ')';
inline constexpr char kProto = '\x80';
inline constexpr char kNewObj = '\x81';
inline constexpr char kTuple1 = '\x85';
inline constexpr char kTuple2 = '\x86';
inline constexpr char kTuple3 = '\x87';
inline constexpr char kNewTrue = '\x88';
inline constexpr char kNewFalse = '\x89';
inline constexpr char kLong1 = '\x8a';
inline constexpr char kShortBinUnicode = '\x8c';
inline constexpr char kStackGlobal = '\x93';
inline constexpr char kMemoize = '\x94';
inline constexpr char kFrame = '\x95';
}  // namespace op

/// Bytes of the PROTO and FRAME headers in protocol 4 and 5: PROTO n, FRAME + 8-byte length.
inline constexpr std::size_t kFramedHeaderSize = 11;

/// The module of both classes.
inline constexpr std::string_view kModule = "multiprocessing.shared_memory";

/// Lib/pickle.py's name of an opcode, e.g. "BINUNICODE8", or "" for a byte that is none.
std::string_view opcode_name(unsigned char code) noexcept;

// Messages show bytes as all of libshm does (bytes_text.hpp).
using shm::detail::shown;

/// Why `name` cannot be carried in a handle pickle (see shm::pickle::check_picklable_name), or
/// nothing if it can.
std::optional<std::string> name_problem(std::string_view name);

/// Appends what save_str writes for `text` (ASCII): UNICODE with CPython's raw-unicode-escape
/// escapes in protocol 0, BINUNICODE in 1 – 3, SHORT_BINUNICODE in 4 and 5.
void put_str(std::string& out, int protocol, std::string_view text);
/// Appends what save_long writes for `value`: BININT1/BININT2/BININT, then INT or LONG in
/// protocol 0, LONG in 1 and LONG1 from 2 on.
void put_int(std::string& out, int protocol, std::uint64_t value);
/// Appends the memo store of memo index `index` (PUT, BINPUT/LONG_BINPUT, MEMOIZE).
void put_memo(std::string& out, int protocol, std::uint32_t index);
/// Appends the memo fetch of `index` (GET in protocol 0, BINGET/LONG_BINGET from 1 on).
void put_get(std::string& out, int protocol, std::uint32_t index);
/// Appends the False that CPython writes: INT "00" in protocols 0 and 1, NEWFALSE from 2 on.
void put_false(std::string& out, int protocol);

// The visitor interface: protocol(), reducer() (Style::Reducer), op(code), memo(fetched)
// (a memo store; `fetched` says a later get() uses it, the only stores pickletools.optimize
// keeps; returns the index), get(index), global(module, name), text(s), name(),
// create_flag(), size().

/// The empty tuple: MARK TUPLE in protocol 0, EMPTY_TUPLE from 1 on (save_tuple).
template <class Visitor>
void empty_tuple(Visitor& v) {
  if (v.protocol() == 0) {
    v.op(op::kMark);
    v.op(op::kTuple);
  } else {
    v.op(op::kEmptyTuple);
  }
}

/// An empty dict and its memo store: MARK DICT in protocol 0, EMPTY_DICT from 1 on (save_dict).
template <class Visitor>
void empty_dict(Visitor& v) {
  if (v.protocol() == 0) {
    v.op(op::kMark);
    v.op(op::kDict);
  } else {
    v.op(op::kEmptyDict);
  }
  v.memo(false);
}

/// SharedMemory(name, False, size) after the header: CPython's save_reduce of
/// SharedMemory.__reduce__.
template <class Visitor>
void shared_memory_body(Visitor& v) {
  const int p = v.protocol();
  v.global(kModule, "SharedMemory");
  v.memo(false);
  if (p < 2) v.op(op::kMark);
  v.name();
  v.memo(false);
  v.create_flag();
  v.size();
  v.op(p < 2 ? op::kTuple : op::kTuple3);
  v.memo(false);
  v.op(op::kReduce);
  v.memo(false);
  v.op(op::kStop);
}

/// functools.partial(ShareableList, name=name)() after the header: the partial is saved by
/// partial.__reduce__ = (partial, (func,), (func, args, kwds, dict)), then called with ().
template <class Visitor>
void shareable_list_body(Visitor& v) {
  const int p = v.protocol();
  v.global("functools", "partial");
  v.memo(false);
  if (p < 2) v.op(op::kMark);
  v.global(kModule, "ShareableList");
  const std::uint32_t list_class = v.memo(true);
  v.op(p < 2 ? op::kTuple : op::kTuple1);
  v.memo(false);
  v.op(op::kReduce);
  v.memo(false);
  // The state tuple (ShareableList, (), {'name': name}, None), applied by BUILD.
  v.op(op::kMark);
  v.get(list_class);
  empty_tuple(v);
  empty_dict(v);
  v.text("name");
  v.memo(false);
  v.name();
  v.memo(false);
  v.op(op::kSetItem);
  v.op(op::kNone);
  v.op(op::kTuple);
  v.memo(false);
  v.op(op::kBuild);
  // partial(...)() : the call with no arguments.
  empty_tuple(v);
  v.op(op::kReduce);
  v.memo(false);
  v.op(op::kStop);
}

/// The module and name of the function multiprocessing's ForkingPickler reduces a
/// functools.partial to (multiprocessing/reduction.py, 3.8 – 3.13).
inline constexpr std::string_view kForkingModule = "multiprocessing.reduction";
inline constexpr std::string_view kForkingFunction = "_rebuild_partial";

/// The same list as ForkingPickler writes it, after the header:
/// _rebuild_partial(ShareableList, (), {'name': name})(), the save_reduce of
/// _reduce_partial(p) = (_rebuild_partial, (p.func, p.args, p.keywords or {})).
template <class Visitor>
void forking_list_body(Visitor& v) {
  const int p = v.protocol();
  v.global(kForkingModule, kForkingFunction);
  v.memo(false);
  if (p < 2) v.op(op::kMark);
  v.global(kModule, "ShareableList");
  v.memo(false);
  empty_tuple(v);
  empty_dict(v);
  v.text("name");
  v.memo(false);
  v.name();
  v.memo(false);
  v.op(op::kSetItem);
  v.op(p < 2 ? op::kTuple : op::kTuple3);
  v.memo(false);
  v.op(op::kReduce);
  v.memo(false);
  // The partial called with no arguments.
  empty_tuple(v);
  v.op(op::kReduce);
  v.memo(false);
  v.op(op::kStop);
}

/// The body of the handle `kind` in the visitor's reducer(), after the header.
template <class Visitor>
void handle_body(Visitor& v, PickledHandle::Kind kind) {
  if (kind == PickledHandle::Kind::shared_memory) {
    shared_memory_body(v);
  } else if (v.reducer() == Style::Reducer::forking) {
    forking_list_body(v);
  } else {
    shareable_list_body(v);
  }
}

}  // namespace shm::pickle::detail
