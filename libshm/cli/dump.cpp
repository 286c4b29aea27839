#include "dump.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "block_reading.hpp"
#include "libshm/item_json.hpp"

namespace pyshm {

namespace {

// A named byte range of a list block, for labelling the hex dump.
struct Region {
  std::size_t begin;  // first byte
  std::size_t end;    // one past the last byte
  const char* label;  // what lives there
};

// Regions of a block that passes ShareableList::validate_by_read; none for anything else.
std::vector<Region> regions_of(int fd, std::size_t size) {
  try {
    const shm::ListRegions r = shm::ShareableList::validate_by_read(fd);
    const bool v39 = r.layout == shm::Layout::v39;
    return {{0, r.table, "count"},       {r.table, r.data, v39 ? "offsets" : "sizes"},
            {r.data, r.formats, "data"}, {r.formats, r.codes, "formats"},
            {r.codes, r.end, "codes"},   {r.end, size, "beyond the list"}};
  } catch (const shm::LayoutError&) {
    return {};  // not a list: an unlabelled dump is still useful
  }
}

// One line of the hex dump: the `bytes` (at most 16) at `line`, and the regions they cover.
void print_hex_line(std::ostream& out, std::span<const std::byte> bytes, std::size_t line,
                    const std::vector<Region>& regions) {
  const std::size_t end = line + bytes.size();
  char text[128];
  int len = std::snprintf(text, sizeof text, "%08zx: ", line);
  std::string ascii;
  for (std::size_t i = line; i < line + 16; ++i) {
    if (i < end) {
      const auto b = static_cast<unsigned char>(bytes[i - line]);
      len += std::snprintf(text + len, sizeof text - static_cast<std::size_t>(len), "%02x ", b);
      ascii += (b >= 0x20 && b < 0x7f) ? static_cast<char>(b) : '.';
    } else {
      len += std::snprintf(text + len, sizeof text - static_cast<std::size_t>(len), "   ");
    }
  }
  out << text << ' ' << ascii;
  std::string labels;
  for (const Region& r : regions) {
    if (r.begin < end && r.end > line && r.begin < r.end) {
      labels += labels.empty() ? "" : ", ";
      labels += r.label;
      if (r.begin >= line) {
        char at[32];
        std::snprintf(at, sizeof at, " @%zx", r.begin);
        labels += at;
      }
    }
  }
  if (!labels.empty()) out << std::string(16 - ascii.size() + 2, ' ') << labels;
  out << "\n";
}

}  // namespace

void print_table(std::ostream& out, const std::string& name, std::size_t size,
                 const shm::ListReader& list, int cpython_minor) {
  out << "name: " << name << "\nsize: " << size << "\nlayout: " << shm::to_string(list.layout())
      << "\nitems: " << list.size() << "\n";
  out << "\n index  type      format     value\n";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto index = static_cast<std::ptrdiff_t>(i);
    std::string type;
    std::string value;
    try {
      const shm::Item item = list.get(index);
      type = shm::type_name(item);
      value = shm::python_repr(item, cpython_minor);
    } catch (const std::exception& e) {
      type = "?";
      value = std::string("<") + e.what() + ">";
    }
    char row[64];
    std::snprintf(row, sizeof row, "%6zu  %-8s  ", i, type.c_str());
    out << row;
    std::string format;
    try {
      format = list.format_of(index);
    } catch (const std::exception&) {
      format = "?";
    }
    char fmt[24];
    std::snprintf(fmt, sizeof fmt, "%-9s  ", format.c_str());
    out << fmt << value << "\n";
  }
}

std::string list_json(const std::string& name, std::size_t size, const shm::ListReader& list) {
  // Every format first, then every item, as ShareableList's format() and items(): the first
  // bad one is the error.
  std::string format;
  for (std::size_t i = 0; i < list.size(); ++i) {
    format += list.format_of(static_cast<std::ptrdiff_t>(i));
  }
  std::vector<shm::Item> items;
  items.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    items.push_back(list.get(static_cast<std::ptrdiff_t>(i)));
  }
  nlohmann::json doc = {{"name", name},
                        {"size", size},
                        {"layout", shm::to_string(list.layout())},
                        {"format", std::move(format)},
                        {"items", std::move(items)}};
  return doc.dump();
}

void print_hex(std::ostream& out, int fd, std::size_t size) {
  const auto regions = regions_of(fd, size);
  // Whole lines at a time, so that a chunk never splits one.
  std::vector<std::byte> chunk(std::size_t{1} << 16);
  for (std::size_t at = 0; at < size; at += chunk.size()) {
    const std::size_t got =
        pread_full(fd, std::span(chunk).first(std::min(chunk.size(), size - at)), at);
    for (std::size_t line = at; line < at + got; line += 16) {
      print_hex_line(
          out, std::span(chunk).subspan(line - at, std::min<std::size_t>(16, at + got - line)),
          line, regions);
    }
    if (got < std::min(chunk.size(), size - at)) break;  // shrunk meanwhile: it ends sooner
  }
}

}  // namespace pyshm
