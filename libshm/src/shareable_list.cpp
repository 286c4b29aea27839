// shm::ShareableList: creating, attaching, reading and writing lists in CPython's blocks,
// with libshm's policy where CPython has bugs (docs/cpython-quirks.md).
// Header geometry lives in list_layout.cpp, items in their slots in list_codec.cpp.
#include "libshm/shareable_list.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "item_view.hpp"
#include "libshm/error.hpp"
#include "list_codec.hpp"
#include "list_layout.hpp"
#include "list_slot.hpp"
#include "names.hpp"

namespace shm {

ShareableList::ShareableList(SharedMemory block, detail::ListGeometry geometry, bool strict)
    : block_(std::move(block)),
      layout_(geometry.layout),
      size_(geometry.count),
      slots_(std::move(geometry.slots)),
      formats_at_(geometry.formats),
      codes_at_(geometry.codes),
      strict_(strict) {}

ShareableList ShareableList::create(std::span<const Item> items, const ListCreateOptions& options) {
  // Everything that can fail is checked before the block exists (CPython creates the block
  // first and leaks it when packing fails: docs/cpython-quirks.md).
  std::vector<detail::Encoded> encoded;
  std::vector<std::size_t> allocations;
  encoded.reserve(items.size());
  allocations.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    encoded.push_back(detail::encode_new(items[i], i, options.strict));
    allocations.push_back(encoded.back().format.length);
  }
  detail::ListGeometry geometry = detail::plan_geometry(options.layout, allocations);

  // Reserved: a /dev/shm without room for the list fails here with ENOSPC, leaving nothing,
  // instead of killing this process with SIGBUS halfway through the writes below.
  const CreateOptions block_options{.track = options.track, .reserve = true};
  SharedMemory block = options.name.empty()
                           ? SharedMemory::create(geometry.end(), block_options)
                           : SharedMemory::create(geometry.end(), options.name, block_options);
  try {
    const std::span<std::byte> bytes = block.buf();
    detail::write_header(bytes, geometry);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      detail::write_item(bytes, detail::slot_ref(geometry, i), encoded[i]);
    }
    return ShareableList(std::move(block), std::move(geometry), options.strict);
  } catch (...) {
    block.unlink();  // nothing may be left behind
    throw;
  }
}

ShareableList ShareableList::create(std::initializer_list<Item> items,
                                    const ListCreateOptions& options) {
  return create(std::span<const Item>(items.begin(), items.size()), options);
}

ShareableList ShareableList::attach(std::string_view name, const ListAttachOptions& options) {
  // Registered only once the header is found sound: a refused attach then has nothing to undo
  // (CPython's ShareableList registers first and keeps the registration when the attach fails,
  // and its tracker destroys a block that is not a list at exit: docs/cpython-quirks.md,
  // attach-registers-tracker).
  ShareableList list =
      from_block(SharedMemory::attach(name, {.read_only = options.read_only}), options);
  if (options.track) list.block_.track();
  return list;
}

ShareableList ShareableList::from_block(SharedMemory block, const ListAttachOptions& options) {
  if (block.closed()) throw UsageError(Errc::closed, "ShareableList: the block is closed");
  detail::ListGeometry geometry = detail::read_geometry(block.buf(), options.layout);
  return ShareableList(std::move(block), std::move(geometry), options.strict);
}

Layout ShareableList::detect_layout(std::span<const std::byte> block) {
  return detail::detect_layout(block);
}

ListRegions ShareableList::validate(std::span<const std::byte> block,
                                    std::optional<Layout> layout) {
  const detail::ListGeometry geometry = detail::read_geometry(block, layout);
  for (std::size_t i = 0; i < geometry.count; ++i) {
    try {
      (void)detail::read_item(block, detail::slot_ref(geometry, i));
    } catch (const DecodeError&) {
      // The layout is sound; the item's text is not (a Decode error when it is read).
    }
  }
  return {geometry.layout,  geometry.count, detail::kWord, geometry.slots.front(),
          geometry.formats, geometry.codes, geometry.end()};
}

namespace {

// The size of the regular file open on `fd`, for reading it with pread.
std::size_t regular_file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw OsError(errno, "cannot stat the block");
  }
  if (!S_ISREG(st.st_mode)) {
    throw InvalidArgument(Errc::not_a_block,
                          "the block is " + detail::file_type_text(st.st_mode) +
                              ", not a regular file (only regular files are blocks)");
  }
  return static_cast<std::size_t>(st.st_size);
}

}  // namespace

ListRegions ShareableList::validate_by_read(int fd, std::optional<Layout> layout) {
  const detail::FileWords file(fd, regular_file_size(fd));
  const detail::ListGeometry geometry = detail::read_geometry(file, layout);
  for (std::size_t i = 0; i < geometry.count; ++i) {
    try {
      (void)detail::read_item(file, detail::slot_ref(geometry, i));
    } catch (const DecodeError&) {
      // As in validate(): the layout is sound; the item's text is not.
    }
  }
  return {geometry.layout,  geometry.count, detail::kWord, geometry.slots.front(),
          geometry.formats, geometry.codes, geometry.end()};
}

struct ListReader::State {
  detail::FileWords file;
  detail::ListGeometry geometry;

  // Where item `index` (negative from the end) is, with ShareableList::slot's checks.
  [[nodiscard]] detail::SlotRef slot(std::ptrdiff_t index) const {
    const auto n = static_cast<std::ptrdiff_t>(geometry.count);
    if (index < -n || index >= n) detail::throw_list_index(index, geometry.count);
    return detail::slot_ref(geometry, static_cast<std::size_t>(index < 0 ? index + n : index));
  }
};

ListReader::ListReader(int fd, std::optional<Layout> layout)
    : state_(std::make_unique<State>(State{detail::FileWords(fd, regular_file_size(fd)), {}})) {
  state_->geometry = detail::read_geometry(state_->file, layout);
  size_ = state_->geometry.count;
  layout_ = state_->geometry.layout;
}

ListReader::ListReader(ListReader&&) noexcept = default;
ListReader& ListReader::operator=(ListReader&&) noexcept = default;
ListReader::~ListReader() = default;

Item ListReader::get(std::ptrdiff_t index) const {
  if (!state_) throw UsageError(Errc::closed, "ListReader: moved from");
  return detail::read_item(state_->file, state_->slot(index));
}

std::string ListReader::format_of(std::ptrdiff_t index) const {
  if (!state_) throw UsageError(Errc::closed, "ListReader: moved from");
  return detail::read_format(state_->file, state_->slot(index)).text();
}

std::span<std::byte> ShareableList::bytes() const {
  if (block_.closed()) [[unlikely]]
    detail::throw_list_closed();
  return block_.buf();
}

Item ShareableList::get(std::ptrdiff_t index) const {
  const detail::SlotRef ref = slot(index);
  return detail::read_item_fast(bytes(), ref);
}

std::vector<std::byte> ShareableList::get_raw(std::ptrdiff_t index) const {
  const detail::SlotRef ref = slot(index);
  const std::span<const std::byte> all = bytes();
  return {all.begin() + static_cast<std::ptrdiff_t>(ref.begin),
          all.begin() + static_cast<std::ptrdiff_t>(ref.end)};
}

void ShareableList::set(std::ptrdiff_t index, const Item& value) {
  const detail::SlotRef ref = slot(index);
  const std::span<std::byte> all = bytes();
  if (block_.read_only())
    throw UsageError(Errc::read_only, "ShareableList: the block is read-only");
  if (detail::write_scalar_fast(all, ref, value)) return;
  // Validate first, then write: a failed set leaves the old value (CPython zeroes it:
  // docs/cpython-quirks.md, failed-set-zeroes).
  const detail::Encoded encoded =
      detail::encode_set(value, ref, detail::load_shared_word(all.data() + ref.format_at), strict_);
  detail::write_item(all, ref, encoded);
}

std::size_t ShareableList::allocation(std::ptrdiff_t index) const {
  return slot(index).allocation();
}

std::string ShareableList::format() const {
  const std::span<const std::byte> all = bytes();
  std::string out;
  out.reserve(size_ * 2);
  for (std::size_t i = 0; i < size_; ++i) {
    detail::read_format(all, slot(static_cast<std::ptrdiff_t>(i))).append_text(out);
  }
  return out;
}

std::string ShareableList::format_of(std::ptrdiff_t index) const {
  return detail::read_format(bytes(), slot(index)).text();
}

std::vector<Item> ShareableList::items() const {
  std::vector<Item> out;
  out.reserve(size_);
  for (Item item : *this) out.push_back(std::move(item));
  return out;
}

// count, index and repr read each item as a view (view(i), get()'s checks and exceptions), so
// no str or bytes is copied out of the block.
std::size_t ShareableList::count(const Item& value) const {
  const ItemView wanted = view_of(value);
  std::size_t n = 0;
  for (std::size_t i = 0; i < size_; ++i) {
    n += detail::python_equal(wanted, view(static_cast<std::ptrdiff_t>(i))) ? 1 : 0;
  }
  return n;
}

std::size_t ShareableList::index(const Item& value) const {
  const ItemView wanted = view_of(value);
  for (std::size_t i = 0; i < size_; ++i) {
    if (detail::python_equal(wanted, view(static_cast<std::ptrdiff_t>(i)))) return i;
  }
  throw InvalidArgument(Errc::not_in_list, python_repr(value) + " not in this container");
}

std::string ShareableList::repr(int cpython_minor) const {
  std::string out = "ShareableList([";
  for (std::size_t i = 0; i < size_; ++i) {
    if (i != 0) out += ", ";
    out += detail::python_repr(view(static_cast<std::ptrdiff_t>(i)), cpython_minor);
  }
  return out + "], name=" + python_repr(Item(name()), cpython_minor) + ")";
}

}  // namespace shm
