// The views `pyshm dump` gives of a block: a table, JSON, an annotated hex dump.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "libshm/shareable_list.hpp"

namespace pyshm {

/// A table of the list in block `name` of `size` bytes: name, size, layout, then one row per
/// item (index, type, format, value as repr). Values are written as CPython 3.`cpython_minor`'s
/// repr() writes them (shm::python_repr).
void print_table(std::ostream& out, const std::string& name, std::size_t size,
                 const shm::ListReader& list, int cpython_minor = shm::kNewestReprMinor);

/// {"name", "size", "layout", "format", "items": [Item JSON…]} on one line.
std::string list_json(const std::string& name, std::size_t size, const shm::ListReader& list);

/// A hex dump of the first `size` bytes of the block open on `fd` (read with pread, in chunks;
/// fewer if it has become shorter), 16 bytes a line, each line labelled with the list regions
/// it covers (header, offsets or sizes, data, formats, codes) when the block is a valid list,
/// unlabelled otherwise.
void print_hex(std::ostream& out, int fd, std::size_t size);

}  // namespace pyshm
