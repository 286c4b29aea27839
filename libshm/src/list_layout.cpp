// ShareableList headers in CPython's two layouts: detection, validation of untrusted blocks,
// and the header of new blocks (docs/format.md).
//
// A block may come from anyone, so nothing here trusts a number it reads: every count, offset
// and size is checked against the block's size before it is used to compute another offset,
// with arithmetic that cannot overflow.
#include "list_layout.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>

#include "libshm/error.hpp"

namespace shm {

std::string_view to_string(Layout layout) noexcept {
  return layout == Layout::v38 ? "3.8" : "3.9+";
}

std::optional<Layout> parse_layout(std::string_view text) noexcept {
  if (text == "3.8") return Layout::v38;
  if (text == "3.9" || text == "3.9+") return Layout::v39;
  return std::nullopt;
}

namespace detail {
namespace {

std::string bytes_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

// N read as CPython reads it (struct "q"), checked to be a count at all.
template <class W>
std::size_t read_count(const W& block) {
  if (block.size() < kWord) {
    throw LayoutError(
        0, "the block is " + bytes_text(block.size()) + ", too small for the item count (8 bytes)");
  }
  const auto n = static_cast<std::int64_t>(block.word(0));
  if (n < 0) throw LayoutError(0, "the item count " + std::to_string(n) + " is negative");
  return static_cast<std::size_t>(n);
}

// Checks that N header words after the count, (N + extra) words in all, fit in the block;
// returns where the data area starts.
template <class W>
std::size_t check_header_fits(const W& block, std::size_t n, std::size_t extra, Layout layout) {
  const std::size_t words = block.size() / kWord;
  if (words < extra || n > words - extra) {
    const std::string need = n <= std::numeric_limits<std::size_t>::max() / kWord - extra
                                 ? "a header of " + bytes_text(kWord * (n + extra))
                                 : "a header larger than memory";
    throw LayoutError(0, "the item count " + std::to_string(n) + " needs " + need + " (" +
                             std::string(to_string(layout)) + " layout) but the block is " +
                             bytes_text(block.size()));
  }
  return kWord * (n + extra);
}

// Checks that the N format strings and N codes after a data area ending at `data_end` fit.
template <class W>
void check_tail_fits(const W& block, std::size_t n, std::size_t data_end,
                     std::size_t entry_offset) {
  const std::size_t room = block.size() - data_end;  // data_end <= size was checked
  if (n > room / (kWord + 1)) {
    throw LayoutError(
        entry_offset,
        "the data area ends at byte " + std::to_string(data_end) + ", leaving " + bytes_text(room) +
            " for the " + std::to_string(n) + " format strings and type codes, which need " +
            bytes_text((kWord + 1) * n) + " (block size " + std::to_string(block.size()) + ")");
  }
}

// Checks, before anything is read past N, that the block can hold N items at all: each needs
// a header word, an 8-byte format string and a 1-byte type code. A header may claim any count;
// this bounds it by the block's real size before any loop or allocation depends on it.
template <class W>
void check_count_fits(const W& block, std::size_t n, std::size_t header, Layout layout) {
  const std::size_t room = block.size() - header;  // header <= size was checked
  if (n > room / (kWord + 1)) {
    throw LayoutError(0, "the item count " + std::to_string(n) + " needs at least " +
                             bytes_text(header) + " of header and " +
                             (n <= std::numeric_limits<std::size_t>::max() / (kWord + 1)
                                  ? bytes_text((kWord + 1) * n)
                                  : std::string("more bytes than memory")) +
                             " of format strings and type codes (" +
                             std::string(to_string(layout)) + " layout) but the block is " +
                             bytes_text(block.size()));
  }
}

// 3.9+: N+1 offsets from the start of the data area, 0 first, strictly increasing (every item
// CPython or libshm writes has a slot of at least 8 bytes). A header in a hole of a sparse
// block reads as zeros and fails at its second entry, so the loop below never runs long on
// memory nobody wrote, and the slot table is allocated only once the whole header has been
// read and checked: its size is then backed by a header of the same size that really exists.
template <class W>
ListGeometry read_v39(const W& block, std::size_t n) {
  ListGeometry g;
  g.layout = Layout::v39;
  g.count = n;
  const std::size_t data = check_header_fits(block, n, 2, Layout::v39);
  check_count_fits(block, n, data, Layout::v39);
  const std::size_t room = block.size() - data;
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i <= n; ++i) {
    const std::size_t at = ListGeometry::header_entry(i);
    const std::uint64_t offset = block.word(at);
    // Built only for an error message: this loop runs once per item on every attach.
    const auto what = [&] {
      return i < n ? "item " + std::to_string(i) + "'s offset"
                   : std::string("the end offset of the data area");
    };
    if (i == 0 && offset != 0) {
      throw LayoutError(at, "item 0's offset is " + std::to_string(offset) + ", not 0");
    }
    if (i != 0 && offset <= previous) {
      throw LayoutError(at,
                        what() + " " + std::to_string(offset) +
                            (offset == previous ? " equals" : " is below") + " item " +
                            std::to_string(i - 1) + "'s offset " + std::to_string(previous) +
                            (offset == previous ? " (an empty slot, which no writer makes)" : ""));
    }
    if (offset > room) {
      throw LayoutError(at, what() + " " + std::to_string(offset) + " is past the block's end" +
                                " (the data area starts at byte " + std::to_string(data) + " of " +
                                std::to_string(block.size()) + ")");
    }
    previous = offset;
  }
  g.formats = data + static_cast<std::size_t>(previous);
  check_tail_fits(block, n, g.formats, ListGeometry::header_entry(n));
  g.codes = g.formats + kWord * n;
  g.slots.reserve(n + 1);
  for (std::size_t i = 0; i <= n; ++i) {
    g.slots.push_back(data + static_cast<std::size_t>(block.word(ListGeometry::header_entry(i))));
  }
  return g;
}

// 3.8: N item sizes, each at least 1 (CPython's are at least 8), adding up inside the block.
// Checked in full before the slot table is allocated, as for 3.9+.
template <class W>
ListGeometry read_v38(const W& block, std::size_t n) {
  ListGeometry g;
  g.layout = Layout::v38;
  g.count = n;
  const std::size_t data = check_header_fits(block, n, 1, Layout::v38);
  check_count_fits(block, n, data, Layout::v38);
  std::size_t end = data;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t at = ListGeometry::header_entry(i);
    const std::uint64_t size = block.word(at);
    if (size == 0) {
      throw LayoutError(
          at, "item " + std::to_string(i) + "'s size is 0 (an empty slot, which no writer makes)");
    }
    if (size > block.size() - end) {
      throw LayoutError(at, "item " + std::to_string(i) + "'s size " + std::to_string(size) +
                                " runs past the block's end (it would start at byte " +
                                std::to_string(end) + " of " + std::to_string(block.size()) + ")");
    }
    end += static_cast<std::size_t>(size);
  }
  g.formats = end;
  check_tail_fits(block, n, g.formats, n == 0 ? 0 : ListGeometry::header_entry(n - 1));
  g.codes = g.formats + kWord * n;
  g.slots.reserve(n + 1);
  g.slots.push_back(data);
  for (std::size_t i = 0; i < n; ++i) {
    g.slots.push_back(g.slots.back() +
                      static_cast<std::size_t>(block.word(ListGeometry::header_entry(i))));
  }
  return g;
}

}  // namespace

std::uint64_t load_word(std::span<const std::byte> block, std::size_t at) noexcept {
  std::uint64_t word;
  std::memcpy(&word, block.data() + at, sizeof word);
  return word;
}

namespace {

template <class W>
Layout detect_layout_of(const W& block) {
  const std::size_t n = read_count(block);
  if (block.size() < 2 * kWord) {
    // Only 3.8's empty list is this small.
    if (n == 0) return Layout::v38;
    throw LayoutError(0, "the item count is " + std::to_string(n) + " but the block is only " +
                             bytes_text(block.size()) + ", too small for either layout's header");
  }
  const std::uint64_t second = block.word(kWord);
  if (second == 0) return Layout::v39;  // 3.9+: the first offset is always 0
  // 3.8: the first item's size, at least 8. An empty 3.8 list ignores everything after N.
  if (n == 0 || second >= kWord) return Layout::v38;
  throw LayoutError(kWord, "the word after the item count is " + std::to_string(second) +
                               ": neither 0 (3.9+ layout: the first offset) nor an item size of"
                               " at least 8 (3.8 layout)");
}

template <class W>
ListGeometry read_geometry_of(const W& block, std::optional<Layout> layout) {
  const std::size_t n = read_count(block);
  const Layout chosen = layout ? *layout : detect_layout_of(block);
  return chosen == Layout::v39 ? read_v39(block, n) : read_v38(block, n);
}

}  // namespace

Layout detect_layout(std::span<const std::byte> block) {
  return detect_layout_of(SpanWords{block});
}

ListGeometry read_geometry(std::span<const std::byte> block, std::optional<Layout> layout) {
  return read_geometry_of(SpanWords{block}, layout);
}

ListGeometry read_geometry(const FileWords& file, std::optional<Layout> layout) {
  return read_geometry_of(file, layout);
}

FileWords::FileWords(int fd, std::size_t size) : fd_(fd), size_(size) {}

void FileWords::read(std::size_t at, std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw OsError(errno, "cannot read the block");
    if (n == 0) {
      throw LayoutError(at + done, "the block ends at byte " + std::to_string(at + done) +
                                       " but was " + std::to_string(size_) +
                                       " bytes when opened: it was truncated while being read");
    }
    done += static_cast<std::size_t>(n);
  }
}

std::uint64_t FileWords::word(std::size_t at) const {
  if (at < cached_at_ || at + kWord > cached_at_ + cached_) {
    cached_at_ = at - at % cache_.size();
    cached_ = std::min(cache_.size(), size_ - cached_at_);
    read(cached_at_, std::span(cache_).first(cached_));
  }
  std::uint64_t w;
  std::memcpy(&w, cache_.data() + (at - cached_at_), sizeof w);
  return w;
}

ListGeometry plan_geometry(Layout layout, std::span<const std::size_t> allocations) {
  ListGeometry g;
  g.layout = layout;
  g.count = allocations.size();
  constexpr std::size_t kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  const auto too_large = [] {
    throw InvalidArgument(Errc::too_large,
                          "ShareableList: the items need a block larger than memory");
  };
  if (g.count > kMax / (2 * kWord + 1)) too_large();
  std::size_t at = kWord * (g.count + (layout == Layout::v39 ? 2 : 1));
  g.slots.reserve(g.count + 1);
  g.slots.push_back(at);
  for (std::size_t allocation : allocations) {
    if (allocation > kMax - at) too_large();
    at += allocation;
    g.slots.push_back(at);
  }
  g.formats = at;
  if ((kWord + 1) * g.count > kMax - at) too_large();
  g.codes = g.formats + kWord * g.count;
  return g;
}

void write_header(std::span<std::byte> block, const ListGeometry& geometry) {
  const auto store = [&](std::size_t at, std::uint64_t word) {
    std::memcpy(block.data() + at, &word, sizeof word);
  };
  store(0, geometry.count);
  const std::size_t data = geometry.slots.front();
  if (geometry.layout == Layout::v39) {
    // N+1 cumulative offsets from the start of the data area: 0, …, the data area's size.
    for (std::size_t i = 0; i <= geometry.count; ++i) {
      store(ListGeometry::header_entry(i), geometry.slots[i] - data);
    }
  } else {
    // N per-item sizes.
    for (std::size_t i = 0; i < geometry.count; ++i) {
      store(ListGeometry::header_entry(i), geometry.slots[i + 1] - geometry.slots[i]);
    }
  }
}

}  // namespace detail
}  // namespace shm
