// pyshm dump: a block shown as a ShareableList table, an array numpy-style, JSON, annotated hex
// or its raw bytes (the views themselves: dump.hpp and array_dump.hpp).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "array_dump.hpp"
#include "block_reading.hpp"
#include "dump.hpp"
#include "libshm/shareable_list.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

// What --dtype, --shape, --offset and --order ask dump for.
struct ArrayRequest {
  std::optional<std::string> dtype;  // --dtype; none: the block is a list or an .npy array
  std::optional<std::string> shape;  // --shape; none: all of the block after the offset, 1-D
  std::size_t offset = 0;            // --offset
  std::string order = "C";           // --order
};

// The array dump: the block and the array's layout, a blank line, then the array.
void print_array_dump(const std::string& name, std::size_t size, const shm::ConstArrayView& view,
                      shm::Order order, const shm::NpyHeader* npy, bool json, int cpython_minor) {
  const std::string order_text = order == shm::Order::F ? "F" : "C";
  if (json) {
    const nlohmann::json meta = {
        {"name", name},          {"size", size},        {"dtype", dtype_text(view.dtype())},
        {"shape", view.shape()}, {"order", order_text}, {"offset", view.offset()}};
    // The data is streamed after the other keys, so that a large array never sits in a DOM.
    std::string text = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.pop_back();  // the closing brace
    std::cout << text << ",\"data\":";
    print_array_json(std::cout, view);
    std::cout << "}\n";
    return;
  }
  std::cout << "name: " << name << "\nsize: " << size << "\ndtype: " << dtype_text(view.dtype())
            << "\nshape: " << shape_repr(view.shape()) << "\norder: " << order_text
            << "\noffset: " << view.offset() << "\n";
  if (npy != nullptr) {
    std::cout << "header: .npy " << npy->version.first << "." << npy->version.second << "\n";
  }
  std::cout << "\n";
  print_array(std::cout, view, cpython_minor);
  std::cout << "\n";
}

// Copies into `copy` the bytes of the elements of `view` (a contiguous view of it) that the dump
// shows: all of them for JSON or an array print_array shows whole, only the first and last
// kEdgeItems of every long axis for one it summarises, so that a huge array costs what is shown.
void read_shown(BlockCopy& copy, const shm::ConstArrayView& view, bool json) {
  const std::size_t itemsize = view.dtype().itemsize();
  if (json || view.size() <= kSummaryThreshold) {
    copy.read(view.offset(), view.size() * itemsize);
    return;
  }
  const auto shape = view.shape();
  const auto strides = view.strides();
  const auto edges = [&](const auto& self, std::size_t axis, std::ptrdiff_t at) -> void {
    if (axis == shape.size()) {
      copy.read(static_cast<std::size_t>(at), itemsize);
      return;
    }
    const std::size_t n = shape[axis];
    for (std::size_t i = 0; i < n; ++i) {
      if (n > 2 * kEdgeItems && i == kEdgeItems) i = n - kEdgeItems;  // as print_array skips
      self(self, axis + 1, at + static_cast<std::ptrdiff_t>(i) * strides[axis]);
    }
  };
  edges(edges, 0, static_cast<std::ptrdiff_t>(view.offset()));
}

// The block `name` for a dump that reads it as bytes. SharedMemory::attach judges it (a regular,
// non-empty file) and words the errors as for every other verb; its mapping is never read.
shm::SharedMemory judged(const std::string& name) {
  return shm::SharedMemory::attach(name, {.read_only = true});
}

// dump --dtype: any block, read as the array the options describe.
int dump_as_array(const std::string& name, const ArrayRequest& request, bool json,
                  int cpython_minor) {
  const shm::Dtype dtype = parse_dtype(*request.dtype);
  const auto block = judged(name);
  std::vector<std::size_t> shape;
  if (request.shape) {
    shape = parse_shape(*request.shape);
  } else {  // as numpy.frombuffer: the rest of the block, which must be whole elements
    if (request.offset > block.size()) {
      throw std::invalid_argument("offset " + std::to_string(request.offset) +
                                  " is past the end of the " + std::to_string(block.size()) +
                                  "-byte block");
    }
    const std::size_t rest = block.size() - request.offset;
    if (rest % dtype.itemsize() != 0) {
      throw std::invalid_argument("the " + std::to_string(rest) + " bytes after offset " +
                                  std::to_string(request.offset) + " are not a whole number of " +
                                  dtype_text(dtype) + " elements (" +
                                  std::to_string(dtype.itemsize()) + " bytes each): give --shape");
    }
    shape.push_back(rest / dtype.itemsize());
  }
  const shm::Order order = request.order == "F" ? shm::Order::F : shm::Order::C;
  const BlockFd fd(name);
  BlockCopy copy(fd, block.size());
  // The view checks that every element lies in the block and is aligned before any is read.
  const shm::ConstArrayView view(copy.bytes(), dtype, shape, order, request.offset);
  read_shown(copy, view, json);
  print_array_dump(block.name(), block.size(), view, order, nullptr, json, cpython_minor);
  return 0;
}

// dump --raw: pread, in chunks: holes come out as zeros, a block shrunk meanwhile just ends
// sooner.
int dump_raw(const std::string& name) {
  const BlockFd fd(name);
  std::vector<char> chunk(1 << 16);
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd.get(), chunk.data(), chunk.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "cannot read " + name);
    if (n == 0) break;
    if (std::fwrite(chunk.data(), 1, static_cast<std::size_t>(n), stdout) !=
        static_cast<std::size_t>(n)) {
      break;  // reported by the final check of stdout
    }
    at += n;
  }
  return 0;
}

struct DumpOptions {
  bool json = false;
  bool hex = false;
  bool raw = false;
  std::string python = "3." + std::to_string(shm::kNewestReprMinor);
  ArrayRequest array;
};

int dump(const std::string& name, const DumpOptions& options) {
  if (options.raw) return dump_raw(name);
  if (options.hex) {
    const auto block = judged(name);
    print_hex(std::cout, BlockFd(name).get(), block.size());
    return 0;
  }
  const int cpython_minor = std::stoi(options.python.substr(options.python.find('.') + 1));
  if (options.array.dtype) return dump_as_array(name, options.array, options.json, cpython_minor);
  // Validated, then shown, reading with pread only (block_reading.hpp): a list or array with an
  // unreadable part is reported as invalid, and no hole or truncation can fault.
  const BlockFd fd(name);
  if (const auto npy = npy_header(name, fd.get())) {
    const std::size_t size = fd.size();
    BlockCopy copy(fd, size);
    const shm::Order order = npy->fortran_order ? shm::Order::F : shm::Order::C;
    std::optional<shm::ConstArrayView> view;
    try {
      view.emplace(copy.bytes(), npy->dtype, npy->shape, order, npy->data_offset,
                   shm::Alignment::any);
    } catch (const std::invalid_argument& e) {  // shrunk since its header was read
      throw std::runtime_error(name + " is not a valid .npy array: " + e.what());
    }
    read_shown(copy, *view, options.json);
    print_array_dump(fd.name(), size, *view, order, &*npy, options.json, cpython_minor);
    return 0;
  }
  validate_exact(fd.get());
  const shm::ListReader list(fd.get());
  if (options.json) {
    std::cout << list_json(fd.name(), fd.size(), list) << "\n";
  } else {
    print_table(std::cout, fd.name(), fd.size(), list, cpython_minor);
  }
  return 0;
}

}  // namespace

Verb add_dump(CLI::App& app) {
  Verb verb;
  CLI::App* dump_command =
      app.add_subcommand("dump",
                         "Show a ShareableList as a table, or an array (a block with numpy's "
                         ".npy header, or any block read with --dtype) numpy-style; --json for "
                         "either, --hex or --raw for any block");
  verb.command = dump_command;
  const auto options = std::make_shared<DumpOptions>();
  dump_command->add_option("NAME", *verb.block, "Block name")->required();
  auto* json = dump_command->add_flag("--json", options->json,
                                      "Print {name, size, layout, format, items} for a list, "
                                      "{name, size, dtype, shape, order, offset, data} for an "
                                      "array (data: the whole array as nested lists)");
  auto* hex =
      dump_command->add_flag("--hex", options->hex, "Annotated hex dump (works for any block)");
  auto* raw =
      dump_command->add_flag("--raw", options->raw, "The block's bytes, unchanged, on stdout");
  std::vector<std::string> pythons;
  for (int minor = shm::kOldestReprMinor; minor <= shm::kNewestReprMinor; ++minor) {
    pythons.push_back("3." + std::to_string(minor));
  }
  dump_command
      ->add_option("--python", options->python,
                   "Write the table's values as this CPython's repr() does (its Unicode "
                   "version decides which characters are escaped; default the newest)")
      ->check(CLI::IsMember(pythons));
  json->excludes(hex)->excludes(raw);
  hex->excludes(raw);
  const auto dtype = std::make_shared<std::string>();
  const auto shape = std::make_shared<std::string>();
  auto* dtype_option = dump_command->add_option(
      "--dtype", *dtype,
      "Read the block as an array of this numpy dtype.str (<f8, >i2, |b1, <c16, |S5, <U3, ...) "
      "or dtype.descr list ([('a', '<i4'), ('b', '<f8')]) instead of as a list or by its .npy "
      "header");
  auto* shape_option =
      dump_command->add_option("--shape", *shape,
                               "With --dtype: the shape, e.g. 1000,3 (default: 1-D, all of the "
                               "block after --offset)");
  auto* offset_option = dump_command
                            ->add_option("--offset", options->array.offset,
                                         "With --dtype: where the array starts in the block, in "
                                         "bytes (a multiple of the dtype's alignment; default 0)")
                            ->check(byte_count("--offset", true));
  auto* order_option = dump_command
                           ->add_option("--order", options->array.order,
                                        "With --dtype: C (row-major, default) or F (Fortran)")
                           ->check(CLI::IsMember({"C", "F"}));
  shape_option->needs(dtype_option);
  offset_option->needs(dtype_option);
  order_option->needs(dtype_option);
  dtype_option->excludes(hex)->excludes(raw);
  verb.run = [name = verb.block, options, dtype, shape, dtype_option, shape_option] {
    // CLI11 cannot store into an optional: "given" is whether the option was.
    if (*dtype_option) options->array.dtype = *dtype;
    if (*shape_option) options->array.shape = *shape;
    return dump(*name, *options);
  };
  return verb;
}

}  // namespace pyshm
