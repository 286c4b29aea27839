// Where things are in a ShareableList block, in either layout (private header).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "libshm/detail/list_words.hpp"
#include "libshm/layout.hpp"

namespace shm::detail {

// kWord, the 8-byte word everything is counted in: libshm/detail/list_words.hpp.

/// Where each part of a list block is, as absolute byte offsets into the block. Computed once
/// when a list is created or attached, as CPython computes its _allocated_offsets once: the
/// header is never rewritten by a well-behaved writer.
struct ListGeometry {
  Layout layout = Layout::v39;     // which layout the header uses
  std::size_t count = 0;           // N
  std::vector<std::size_t> slots;  // N+1 entries: item i occupies [slots[i], slots[i+1])
  std::size_t formats = 0;         // N 8-byte format strings start here
  std::size_t codes = 0;           // N 1-byte type codes start here

  /// The block size the layout formula gives (CPython creates blocks of exactly this size).
  [[nodiscard]] std::size_t end() const noexcept { return codes + count; }
  /// Where the header's offset (3.9+) or size (3.8) entry for item i is.
  [[nodiscard]] static std::size_t header_entry(std::size_t i) noexcept { return kWord * (i + 1); }
};

/// A block's words read from memory (the mapping).
struct SpanWords {
  std::span<const std::byte> bytes;  // the whole block
  [[nodiscard]] std::size_t size() const noexcept { return bytes.size(); }
  [[nodiscard]] std::uint64_t word(std::size_t at) const noexcept;
};

/// A block's words read from its descriptor with pread, never through a mapping: holes read
/// as zeros without allocating pages, and a block shorter than `size` (truncated meanwhile)
/// gives LayoutError, not SIGBUS. Reads 4 KiB at a time.
class FileWords {
 public:
  FileWords(int fd, std::size_t size);
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::uint64_t word(std::size_t at) const;
  /// Reads out.size() bytes at `at` (which must lie inside size()); throws as word() does.
  void read(std::size_t at, std::span<std::byte> out) const;

 private:
  int fd_;                                       // the block, open for reading (not owned)
  std::size_t size_;                             // its size when opened
  mutable std::array<std::byte, 4096> cache_{};  // the last 4 KiB read
  mutable std::size_t cached_at_ = 0;            // where cache_ starts in the block
  mutable std::size_t cached_ = 0;               // valid bytes in cache_
};

/// read_geometry for a block read with pread (see FileWords).
ListGeometry read_geometry(const FileWords& file, std::optional<Layout> layout);

/// Detects the layout of a block (docs/format.md): the word at offset 8 is 0 in 3.9+ (the first
/// offset) and at least 8 in 3.8 (the first item's size); an empty list is 8 bytes in 3.8 and
/// 16 in 3.9+. Throws LayoutError if the block cannot be a list in either layout.
Layout detect_layout(std::span<const std::byte> block);

/// Reads and validates the header of a list block: N ≥ 0, the header fits, offsets start at 0
/// and never decrease (3.9+) or sizes add up (3.8), and the data area, formats and codes all
/// lie inside the block. Never reads outside `block`; throws LayoutError naming the problem.
ListGeometry read_geometry(std::span<const std::byte> block, std::optional<Layout> layout);

/// The geometry of a new list whose item i gets allocations[i] bytes. Throws
/// std::invalid_argument if the block would be too large to address.
ListGeometry plan_geometry(Layout layout, std::span<const std::size_t> allocations);

/// Writes N and the offsets (3.9+) or sizes (3.8) of `geometry` at the start of `block`.
void write_header(std::span<std::byte> block, const ListGeometry& geometry);

/// The native-endian 64-bit word at block[at] (which must be in bounds).
std::uint64_t load_word(std::span<const std::byte> block, std::size_t at) noexcept;

}  // namespace shm::detail

namespace shm::detail {
inline std::uint64_t SpanWords::word(std::size_t at) const noexcept {
  return load_word(bytes, at);
}
}  // namespace shm::detail
