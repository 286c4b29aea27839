// shm::ShareableList: CPython's multiprocessing.shared_memory.ShareableList, byte for byte, in
// both block layouts (3.8 and 3.9+), libshm's policy for CPython's bugs (docs/cpython-quirks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "libshm/atomic.hpp"
#include "libshm/detail/list_words.hpp"
#include "libshm/item.hpp"
#include "libshm/layout.hpp"
#include "libshm/shared_memory.hpp"

namespace shm {

namespace detail {
struct ListGeometry;
struct SlotRef;
}  // namespace detail

/// Options for ShareableList::create.
struct ListCreateOptions {
  /// Block name without the leading slash; a random "psm_" name when empty.
  std::string name;
  /// The layout to write; 3.9+ unless the list is for CPython 3.8.
  Layout layout = Layout::v39;
  /// Refuse writes (here and in set()) that would not read back equal in CPython: str/bytes
  /// with trailing NULs, which every reader strips.
  bool strict = false;
  /// Register the block with the resource tracker (unlinked if this process dies without
  /// unlink()), as CPython does.
  bool track = true;
};

/// Options for ShareableList::attach.
struct ListAttachOptions {
  /// Force a layout instead of detecting it from the block.
  std::optional<Layout> layout = std::nullopt;
  /// As ListCreateOptions::strict, for set().
  bool strict = false;
  /// Register with the resource tracker (off by default, unlike CPython: see AttachOptions),
  /// once the header has been validated: an attach that throws has registered nothing.
  bool track = false;
  /// Map read-only; set() then throws std::logic_error.
  bool read_only = false;
};

/// A fixed-length list of Items packed into a SharedMemory block exactly as CPython packs it.
///
/// Reads go to the block every time (formats and type codes included), so values and type
/// changes written by other processes are seen at once. The header (N and the offsets or
/// sizes) is read and validated once, at attach, as CPython reads it once: a well-behaved
/// writer never changes it. Every read validates the format string and type code it touches
/// against the slot first: a corrupted block gives LayoutError, never an out-of-bounds read.
/// There is no locking, as in CPython: see README for concurrent use. A set writes the format
/// string, then the type code, then the value (CPython's order); 8-byte values and format
/// strings at 8-aligned places (all of them, in blocks CPython makes) are written and read
/// with one atomic access each.
/// Move-only; the destructor closes the block (never unlinks it). A closed or moved-from list
/// throws std::logic_error from every method that reads or writes the block.
class ShareableList {
 public:
  /// Creates a new block holding `items`. Str slots are sized as CPython sizes them (by
  /// character count), except that a str whose UTF-8 bytes would not fit gets a slot sized by
  /// its UTF-8 length instead (CPython would truncate it). Throws std::invalid_argument for an
  /// item CPython cannot store (str/bytes longer than 9,999,991 bytes, a str that is not
  /// UTF-8, trailing NULs under strict) or a bad name; std::system_error on OS failures.
  /// The block's memory is reserved (posix_fallocate) before anything is written, so a
  /// /dev/shm without room for the list gives std::system_error ENOSPC, never SIGBUS.
  /// On failure no block is left behind, tracked or not.
  static ShareableList create(std::span<const Item> items, const ListCreateOptions& options = {});
  /// As above, for a braced list: ShareableList::create({1, 2.5, "x"}).
  static ShareableList create(std::initializer_list<Item> items,
                              const ListCreateOptions& options = {});

  /// Attaches to an existing list, detecting its layout. Validates the header (count,
  /// offsets/sizes, block size) and throws LayoutError if the block is not a list.
  /// A header may claim any count: the claim is checked against the block's size before
  /// anything depends on it, every item must have a non-empty slot (a header lying in a hole of
  /// a sparse block reads as zeros and fails at its second word), and the slot table (8 bytes
  /// per item) is allocated only once the whole header has been read and checked. So a hostile
  /// header gives LayoutError with its offset, never std::bad_alloc or a long loop over memory
  /// nobody wrote. The header is read through the mapping: see SharedMemory for where SIGBUS
  /// can still reach a program that maps a block someone else truncates.
  /// With `options.track` the block is registered (SharedMemory::track) only after the header
  /// passed, so a refused attach leaves every registration of the name as it found them.
  static ShareableList attach(std::string_view name, const ListAttachOptions& options = {});

  /// Wraps an already attached block (validated as attach() does).
  static ShareableList from_block(SharedMemory block, const ListAttachOptions& options = {});

  /// Detects the layout of a block's bytes, or throws LayoutError.
  static Layout detect_layout(std::span<const std::byte> block);

  /// Checks a whole block as a list: header, every format string and every type code (each
  /// as get() checks it), and says where its parts are. Throws LayoutError for the first
  /// problem found. Str slots that are not UTF-8 pass: the layout is sound, and get() reports
  /// those items as DecodeError. A block longer
  /// than its list (regions().end < size) passes, as CPython attaches it; CPython itself always
  /// makes blocks of exactly `end` bytes on Linux.
  static ListRegions validate(std::span<const std::byte> block, std::optional<Layout> layout = {});

  /// validate() for a block read with pread from `fd` (open for reading), never through a
  /// mapping: holes of a sparse block read as zeros without taking pages of /dev/shm, and a
  /// block truncated while it is read gives LayoutError, never SIGBUS. For inspectors that
  /// must not fault (pyshm's ls, check, dump, get and pickle use it). The block's size is the
  /// descriptor's st_size now. Memory: the slot table (8 bytes per item, allocated only after
  /// the header has been read and checked) and one item's bytes at a time.
  /// Throws LayoutError as validate() does, std::invalid_argument if `fd` is not a regular
  /// file, std::system_error if it cannot be stat'ed or read.
  static ListRegions validate_by_read(int fd, std::optional<Layout> layout = {});

  ShareableList(ShareableList&&) noexcept = default;
  ShareableList& operator=(ShareableList&&) noexcept = default;
  ShareableList(const ShareableList&) = delete;
  ShareableList& operator=(const ShareableList&) = delete;
  ~ShareableList() = default;

  /// Number of items (fixed when the list was created).
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// The block's layout.
  [[nodiscard]] Layout layout() const noexcept { return layout_; }
  /// The underlying block.
  [[nodiscard]] const SharedMemory& shm() const noexcept { return block_; }
  /// The underlying block, e.g. to unlink() it.
  [[nodiscard]] SharedMemory& shm() noexcept { return block_; }
  /// The block's name (without the leading slash).
  [[nodiscard]] const std::string& name() const noexcept { return block_.name(); }

  /// Item `index`; negative indices count from the end as in Python. Trailing NULs of str and
  /// bytes are stripped, as every CPython does. Throws std::out_of_range outside [-N, N),
  /// DecodeError if a str slot holds bytes that are not UTF-8, and LayoutError if the slot
  /// cannot be read: a format string CPython never writes ("q", "d", "xxxxxxx?", "xxxxxx?x"
  /// and "<k>s" with 1 ≤ k are accepted) or one longer than the slot, a type code other than
  /// 0 – 3, or a code CPython fails to apply to the format (1 or 2 on a number: its
  /// AttributeError). Combinations CPython reads without error read the same way here:
  /// code 3 gives None whatever the (valid) format, code 0 on "<k>s" the raw slot bytes
  /// including padding, code 0 on None's format the bool in byte 6.
  [[nodiscard]] Item get(std::ptrdiff_t index) const;
  /// The whole slot of item `index`, padding included (no NUL stripping).
  [[nodiscard]] std::vector<std::byte> get_raw(std::ptrdiff_t index) const;
  /// Stores `value` at `index` with the format string and type code CPython writes: a scalar's
  /// own format; a str/bytes keeps the slot's "<k>s" format, and in any other slot gets
  /// "<slot size>s". The value is validated before anything is written, so a failed set
  /// changes nothing. Throws std::out_of_range for a bad index, std::invalid_argument when a
  /// str/bytes does not fit (CPython's "bytes/str item exceeds available storage"), a str is
  /// not UTF-8 or strict refuses it, std::logic_error on a read-only list, LayoutError if the
  /// slot cannot hold the value at all (damaged blocks only). A set also repairs a damaged
  /// format string.
  void set(std::ptrdiff_t index, const Item& value);

  /// Concatenated format strings, e.g. "q8sxxxxxx?x" (CPython's ShareableList.format).
  [[nodiscard]] std::string format() const;
  /// The bytes reserved for item `index`'s slot (CPython's _allocated_offsets[i + 1] -
  /// _allocated_offsets[i]): the most a str (as UTF-8) or bytes set() stores there can have,
  /// less if the slot's current "<k>s" format is shorter. Throws std::out_of_range outside
  /// [-N, N), std::logic_error on a closed list.
  [[nodiscard]] std::size_t allocation(std::ptrdiff_t index) const;
  /// The format string of item `index` alone, e.g. "8s" (CPython's private
  /// _get_packing_format). Throws std::out_of_range outside [-N, N), LayoutError if it is not
  /// one CPython writes.
  [[nodiscard]] std::string format_of(std::ptrdiff_t index) const;
  /// All items in order.
  [[nodiscard]] std::vector<Item> items() const;
  /// How many items equal `value` by Python's ==. Reads every item, so like CPython's count
  /// it throws if any item cannot be read (e.g. DecodeError for a str CPython cut).
  [[nodiscard]] std::size_t count(const Item& value) const;
  /// The first index holding a value equal to `value` by Python's ==; throws
  /// std::invalid_argument ("'zz' not in this container") when there is none.
  [[nodiscard]] std::size_t index(const Item& value) const;
  /// "ShareableList([1, 'a'], name='psm_…')", as CPython 3.`cpython_minor`'s repr (the
  /// versions differ in which characters a str shows as escapes: python_repr()).
  /// Throws std::invalid_argument for a version python_repr() has no table for.
  [[nodiscard]] std::string repr(int cpython_minor = kNewestReprMinor) const;

  // --- Typed, zero-copy and bulk access (src/list_typed.cpp). None of these builds an Item.

  /// Item `index` as an ItemView, with get()'s checks, rules and exceptions (out_of_range,
  /// LayoutError, DecodeError): to_item(view(i)) == get(i) for every item. The views of str
  /// and bytes point into the block (see ItemView for how long and the concurrency caveat).
  [[nodiscard]] ItemView view(std::ptrdiff_t index) const;
  /// Item `index`, which must hold a `T` (std::int64_t, double or bool) by get()'s reading:
  /// get_as<T>(i) == std::get<T>(get(i)) whenever get(i) holds a T. Checks the format string
  /// and type code as get() does and throws what get() throws for the same slot
  /// (std::out_of_range, LayoutError); an item of another type is std::invalid_argument
  /// ("item 3 is a str, not an int"). Inline: an exact T slot is a few loads and compares.
  template <class T>
  [[nodiscard]] T get_as(std::ptrdiff_t index) const;
  /// Int item `index` as an AtomicInt64 (atomic.hpp): load, store, exchange, compare_exchange
  /// and fetch_add on its slot, sequentially consistent, shared with every process that uses
  /// atomic operations on the same item (C++, or the Python module's sl.atomic_fetch_add(i, d)
  /// and its siblings). The slot keeps format "q" and type code 0, so every reader, the stdlib's
  /// ShareableList included, reads a valid int from it at any moment. The item must be an int
  /// when the handle is made (it is not checked again: a set() of another type afterwards
  /// leaves the handle writing into that value's bytes). Throws std::out_of_range
  /// (Errc::index) outside [-N, N), shm::InvalidArgument (Errc::wrong_type: "item 1 is a str,
  /// not an int") for an item of another type, LayoutError for a damaged slot (one CPython
  /// would not read, or an int slot not at a multiple of 8), shm::UsageError (Errc::closed) on
  /// a closed list. A read-only list gives a handle whose writes throw Errc::read_only.
  [[nodiscard]] AtomicInt64 atomic_int64(std::ptrdiff_t index);
  /// The characters of str or bytes item `index` inside the block, without copying: a str's
  /// UTF-8 (DecodeError if it is not UTF-8) or a bytes' data, trailing NULs stripped exactly as
  /// get() strips them (the raw slot, padding included, where get() gives that). Valid while
  /// the list is open; another process may change the bytes under the view at any time (see
  /// ItemView). Throws std::invalid_argument for an item of another type, else as get().
  [[nodiscard]] std::string_view get_view(std::ptrdiff_t index) const;
  /// The same characters as get_view(), as bytes.
  [[nodiscard]] std::span<const std::byte> get_bytes_view(std::ptrdiff_t index) const;
  /// Reads items first, first+1, ... into `out` (one per element), each as get_as<T> reads it,
  /// in one pass over the block. Throws std::out_of_range unless [first, first+out.size())
  /// lies inside [0, N), and as get_as<T> for an item of another type or a damaged slot;
  /// `out` is then filled up to that item. T: std::int64_t, double or bool.
  template <class T>
  void read_into(std::size_t first, std::span<T> out) const;
  /// Stores `values` at first, first+1, ... as set() stores each (format string, type code,
  /// value, in CPython's order), in one pass. Throws std::out_of_range unless the range lies
  /// inside [0, N) (nothing written), std::logic_error on a read-only list, and LayoutError for
  /// a slot too small for a word (damaged blocks only; items before it are written).
  /// T: std::int64_t, double or bool.
  template <class T>
  void write_from(std::size_t first, std::span<const T> values);

  /// Iteration reads each item when dereferenced.
  class const_iterator {
   public:
    using value_type = Item;
    using difference_type = std::ptrdiff_t;
    const_iterator() = default;
    const_iterator(const ShareableList* list, std::size_t i) : list_(list), i_(i) {}
    Item operator*() const { return list_->get(static_cast<std::ptrdiff_t>(i_)); }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    bool operator==(const const_iterator& o) const noexcept { return i_ == o.i_; }

   private:
    const ShareableList* list_ = nullptr;  // the list iterated
    std::size_t i_ = 0;                    // current index
  };
  [[nodiscard]] const_iterator begin() const { return {this, 0}; }
  [[nodiscard]] const_iterator end() const { return {this, size_}; }

 private:
  ShareableList(SharedMemory block, detail::ListGeometry geometry, bool strict);
  // The open block's bytes; throws std::logic_error once it is closed.
  [[nodiscard]] std::span<std::byte> bytes() const;
  // Where item `index` (negative from the end) is; throws std::out_of_range outside [-N, N)
  // and std::logic_error once closed (src/list_slot.hpp, inlined into its callers).
  [[nodiscard]] detail::SlotRef slot(std::ptrdiff_t index) const;
  // get_as<T> for everything its inline fast path does not take: a closed list, an index
  // outside [-N, N), None, another type, a damaged slot (src/list_typed.cpp).
  // Cold and out of line so that the inline path stays a few instructions in a caller's loop.
  template <class T>
  [[nodiscard, gnu::cold, gnu::noinline]] T get_as_slow(std::ptrdiff_t index) const;

  SharedMemory block_;              // the mapped block
  Layout layout_;                   // its layout
  std::size_t size_;                // N, read and validated at attach
  std::vector<std::size_t> slots_;  // N+1 block offsets: item i is [slots_[i], slots_[i+1])
  std::size_t formats_at_;          // block offset of the N format strings
  std::size_t codes_at_;            // block offset of the N type codes
  bool strict_;                     // refuse values that cannot read back equal
};

/// A list block read with pread from a descriptor, never through a mapping: for inspectors that
/// must never fault (pyshm's dump and get). As with ShareableList::validate_by_read, holes of a
/// sparse block read as zeros without taking pages of /dev/shm (a hole read through a mapping of
/// a full /dev/shm is SIGBUS), and a block truncated while it is read gives LayoutError, never
/// SIGBUS. The header is read and checked once, here, as attach() checks it; each get() or
/// format_of() then reads that item's format string, type code and value with pread, never more
/// of its slot than the format says, so a huge sparse block costs only what is read. The
/// descriptor (open for reading) is not owned and must stay open while the reader is used.
/// Move-only; a moved-from reader throws shm::UsageError (Errc::closed) from get() and
/// format_of().
class ListReader {
 public:
  /// Reads and checks the header of the block open on `fd`, whose size is its st_size now.
  /// Throws LayoutError as attach() does, shm::InvalidArgument (Errc::not_a_block) if `fd` is
  /// not a regular file, shm::OsError if it cannot be stat'ed or read.
  explicit ListReader(int fd, std::optional<Layout> layout = {});
  ListReader(ListReader&&) noexcept;
  ListReader& operator=(ListReader&&) noexcept;
  ListReader(const ListReader&) = delete;
  ListReader& operator=(const ListReader&) = delete;
  ~ListReader();

  /// Number of items.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// The block's layout.
  [[nodiscard]] Layout layout() const noexcept { return layout_; }
  /// Item `index`, with ShareableList::get's results, checks and exceptions; also
  /// shm::OsError if the block cannot be read.
  [[nodiscard]] Item get(std::ptrdiff_t index) const;
  /// The format string of item `index`, as ShareableList::format_of.
  [[nodiscard]] std::string format_of(std::ptrdiff_t index) const;

 private:
  struct State;                   // the descriptor and the geometry (src/shareable_list.cpp)
  std::unique_ptr<State> state_;  // null once moved from
  std::size_t size_ = 0;          // N
  Layout layout_ = Layout::v39;   // the block's layout
};

// Always inline: a caller's loop over items then pays the checks, not a call, per item.
template <class T>
[[gnu::always_inline]] inline T ShareableList::get_as(std::ptrdiff_t index) const {
  static_assert(
      std::is_same_v<T, std::int64_t> || std::is_same_v<T, double> || std::is_same_v<T, bool>,
      "get_as<T>: T is std::int64_t, double or bool");
  // An item CPython wrote as a T is read here; everything else, errors included, is
  // get_as_slow's, which reads as get() reads.
  const std::byte* block = block_.buf().data();  // null once closed
  const std::size_t n = size_;
  // A negative index counted from the end, then one unsigned compare for [-N, N): an index
  // below -N wraps past 2^63, so it fails the compare as one at or past N does.
  const std::size_t i = static_cast<std::size_t>(index) + (index < 0 ? n : 0);
  if (block != nullptr && i < n) [[likely]] {
    T value;
    if (detail::read_exact_scalar(block, slots_[i], slots_[i + 1], formats_at_ + detail::kWord * i,
                                  codes_at_ + i, value)) [[likely]] {
      return value;
    }
  }
  return get_as_slow<T>(index);
}

}  // namespace shm
