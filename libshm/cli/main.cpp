// pyshm: inspect, create and repair Python-compatible shared memory from the command line.
// Exit codes: 0 success, 1 error (message on stderr, starting "pyshm: "), 2 usage.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "array_dump.hpp"
#include "block_listing.hpp"
#include "dump.hpp"
#include "libshm/hex.hpp"
#include "libshm/item_json.hpp"
#include "libshm/pickle.hpp"
#include "libshm/shareable_list.hpp"

namespace {

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string format_time(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Text from a block (its name) as --json shows it, without the quotes: control characters and
// escapes become \n, \u001b, ..., so a name cannot clear the screen or forge table rows.
std::string escaped(const std::string& text) {
  const std::string quoted =
      nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

// Flushes stdout; false (errno set) if anything written to it was lost (EPIPE, ENOSPC, ...).
bool stdout_delivered() {
  return std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
}

[[noreturn]] void throw_stdout_error(int err) {
  throw std::system_error(err, std::generic_category(), "cannot write to stdout");
}

int cmd_ls(bool json) {
  const auto blocks = pyshm::list_blocks();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : blocks) {
      nlohmann::json entry = {{"name", b.name}, {"size", b.size},   {"owner", b.owner},
                              {"mode", b.mode}, {"mtime", b.mtime}, {"kind", b.kind}};
      if (!b.problem.empty()) entry["problem"] = b.problem;
      out.push_back(std::move(entry));
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::printf("%-32s %12s  %-10s %-5s %-19s  %s\n", "NAME", "SIZE", "OWNER", "MODE", "MODIFIED",
              "KIND");
  for (const auto& b : blocks) {
    std::printf("%-32s %12llu  %-10s %04o  %-19s  %s\n", escaped(b.name).c_str(),
                static_cast<unsigned long long>(b.size), b.owner.c_str(), b.mode,
                format_time(b.mtime).c_str(), b.kind.c_str());
  }
  return 0;
}

// What --dtype, --shape, --offset and --order ask dump for.
struct ArrayRequest {
  std::optional<std::string> dtype;  // --dtype; none: the block is a list or an .npy array
  std::optional<std::string> shape;  // --shape; none: all of the block after the offset, 1-D
  std::size_t offset = 0;            // --offset
  std::string order = "C";           // --order
};

// The .npy header of block `name` (open on fd), read with pread, or nullopt if it has no
// numpy magic; a bad one is an error that names the block.
std::optional<shm::NpyHeader> npy_header(const std::string& name, int fd) {
  try {
    return pyshm::read_npy_by_read(fd);
  } catch (const shm::NpyHeaderError& e) {
    throw std::runtime_error(name + " is not a valid .npy array: " + e.what());
  }
}

// The array dump: the block and the array's layout, a blank line, then the array.
void print_array_dump(const shm::SharedMemory& block, const shm::ConstArrayView& view,
                      shm::Order order, const shm::NpyHeader* npy, bool json, int cpython_minor) {
  const std::string order_text = order == shm::Order::F ? "F" : "C";
  if (json) {
    const nlohmann::json meta = {
        {"name", block.name()},  {"size", block.size()}, {"dtype", pyshm::dtype_text(view.dtype())},
        {"shape", view.shape()}, {"order", order_text},  {"offset", view.offset()}};
    // The data is streamed after the other keys, so that a large array never sits in a DOM.
    std::string text = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.pop_back();  // the closing brace
    std::cout << text << ",\"data\":";
    pyshm::print_array_json(std::cout, view);
    std::cout << "}\n";
    return;
  }
  std::cout << "name: " << block.name() << "\nsize: " << block.size()
            << "\ndtype: " << pyshm::dtype_text(view.dtype())
            << "\nshape: " << pyshm::shape_repr(view.shape()) << "\norder: " << order_text
            << "\noffset: " << view.offset() << "\n";
  if (npy != nullptr) {
    std::cout << "header: .npy " << npy->version.first << "." << npy->version.second << "\n";
  }
  std::cout << "\n";
  pyshm::print_array(std::cout, view, cpython_minor);
  std::cout << "\n";
}

// dump --dtype: any block, read as the array the options describe.
int dump_as_array(const std::string& name, const ArrayRequest& request, bool json,
                  int cpython_minor) {
  const shm::Dtype dtype = pyshm::parse_dtype(*request.dtype);
  const auto block = shm::SharedMemory::attach(name, {.read_only = true});
  std::vector<std::size_t> shape;
  if (request.shape) {
    shape = pyshm::parse_shape(*request.shape);
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
                                  pyshm::dtype_text(dtype) + " elements (" +
                                  std::to_string(dtype.itemsize()) + " bytes each): give --shape");
    }
    shape.push_back(rest / dtype.itemsize());
  }
  const shm::Order order = request.order == "F" ? shm::Order::F : shm::Order::C;
  // The view checks that every element lies in the block and is aligned before any is read.
  const shm::ConstArrayView view(block, dtype, shape, order, request.offset);
  print_array_dump(block, view, order, nullptr, json, cpython_minor);
  return 0;
}

int cmd_dump(const std::string& name, bool json, bool hex, bool raw, int cpython_minor,
             const ArrayRequest& request) {
  if (raw) {
    // pread, in chunks: holes come out as zeros, a block shrunk meanwhile just ends sooner.
    const pyshm::BlockFd fd(name);
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
  if (hex) {
    const auto block = shm::SharedMemory::attach(name, {.read_only = true});
    pyshm::print_hex(std::cout, block.buf());
    return 0;
  }
  if (request.dtype) return dump_as_array(name, request, json, cpython_minor);
  // Validated by reading first: a list or array with an unreadable part is reported as invalid,
  // and a hostile one never reaches a mapping.
  const pyshm::BlockFd fd(name);
  if (npy_header(name, fd.get())) {
    try {
      const auto array = shm::NpyArray::attach(name, {.read_only = true});
      print_array_dump(array.shm(), array.cview(), array.order(), &array.header(), json,
                       cpython_minor);
    } catch (const shm::NpyHeaderError& e) {  // changed since it was read
      throw std::runtime_error(name + " is not a valid .npy array: " + e.what());
    }
    return 0;
  }
  pyshm::validate_exact(fd.get());
  const auto list = shm::ShareableList::attach(name, {.read_only = true});
  if (json) {
    std::cout << pyshm::list_json(list) << "\n";
  } else {
    pyshm::print_table(std::cout, list, cpython_minor);
  }
  return 0;
}

int cmd_check(const std::string& name) {
  // Read with pread only: no mapping, so holes take no page and truncation is no SIGBUS.
  const pyshm::BlockFd fd(name);
  if (const auto npy = npy_header(name, fd.get())) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      throw std::system_error(errno, std::generic_category(), "fstat");
    const auto size = static_cast<std::size_t>(st.st_size);
    const std::size_t end = npy->data_offset + npy->nbytes;
    const std::size_t after = size > end ? size - end : 0;
    std::printf(
        "%s: valid .npy array, %s %s, %s order, .npy %d.%d header of %zu bytes, %zu data "
        "bytes%s\n",
        name.c_str(), pyshm::dtype_text(npy->dtype).c_str(), pyshm::shape_repr(npy->shape).c_str(),
        npy->fortran_order ? "Fortran" : "C", npy->version.first, npy->version.second,
        npy->data_offset, npy->nbytes,
        after == 0 ? "" : (", " + std::to_string(after) + " bytes after them").c_str());
    return 0;
  }
  const shm::ListRegions list = pyshm::validate_exact(fd.get());
  std::printf("%s: valid ShareableList, layout %s, %zu items, %zu bytes\n", name.c_str(),
              std::string(shm::to_string(list.layout)).c_str(), list.count, list.end);
  return 0;
}

int cmd_pickle(const std::string& name, int protocol, bool as_list) {
  if (as_list) pyshm::validate_exact(pyshm::BlockFd(name).get());  // only a real list pickles
  const auto block = shm::SharedMemory::attach(name, {.read_only = true});
  if (as_list) {
    std::cout << shm::to_hex(shm::pickle::dumps_shareable_list(block.name(), protocol)) << "\n";
  } else {
    std::cout << shm::to_hex(shm::pickle::dumps(block, protocol)) << "\n";
  }
  return 0;
}

int cmd_unpickle(const std::string& hex_arg) {
  std::string hex = hex_arg == "-" ? read_all(std::cin) : hex_arg;
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  const shm::pickle::Handle handle = shm::pickle::loads(shm::from_hex(hex));
  nlohmann::json out = {{"kind", shm::pickle::to_string(handle.kind)}, {"name", handle.name}};
  if (handle.size) out["size"] = *handle.size;
  // Which pickler wrote it, when not plain pickle.dumps (ForkingPickler, pickletools.optimize).
  if (handle.style.reducer != shm::pickle::Style::Reducer::pickle) {
    out["reducer"] = shm::pickle::to_string(handle.style.reducer);
  }
  if (handle.style.optimized) out["optimized"] = true;
  std::cout << out.dump() << "\n";
  return 0;
}

// Checks a number of bytes: digits only (CLI11's range checks would accept "+1" and print the
// range as 0 to 1.79e308).
CLI::Validator byte_count(const std::string& option, bool zero_allowed) {
  return CLI::Validator(
      [option, zero_allowed](const std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || (!zero_allowed && text.find_first_not_of('0') == std::string::npos)) {
          return option + " must be a " + (zero_allowed ? "" : "positive ") +
                 "number of bytes, not '" + text + "'";
        }
        return "";
      },
      "BYTES");
}

shm::Layout parse_layout(const std::string& text) {
  if (text == "3.8") return shm::Layout::v38;
  return shm::Layout::v39;  // CLI11's IsMember already refused anything else
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "pyshm: inspect, create and repair Python-compatible shared memory "
      "(multiprocessing.shared_memory blocks, ShareableLists and numpy arrays)"};
  app.set_version_flag("--version", std::string("pyshm (libshm) ") + LIBSHM_VERSION);
  app.require_subcommand(1);

  bool json = false;
  bool hex = false;
  bool raw = false;
  std::string name;
  std::vector<std::string> names;
  std::string layout = "3.9";
  bool strict = false;
  std::string items_json;
  std::size_t size = 0;
  std::string index_text;
  std::string item_json;

  auto* ls = app.add_subcommand("ls",
                                "List every block in /dev/shm: name, size, owner, mode, "
                                "modification time and kind (shareable-list 3.9+, "
                                "shareable-list 3.8, npy <f8 (1000, 3) for a block with numpy's "
                                ".npy header, raw), judged by full validation");
  ls->add_flag("--json", json, "Print a JSON array");

  auto* dump =
      app.add_subcommand("dump",
                         "Show a ShareableList as a table, or an array (a block with numpy's "
                         ".npy header, or any block read with --dtype) numpy-style; --json for "
                         "either, --hex or --raw for any block");
  dump->add_option("NAME", name, "Block name")->required();
  auto* dump_json = dump->add_flag("--json", json,
                                   "Print {name, size, layout, format, items} for a list, "
                                   "{name, size, dtype, shape, order, offset, data} for an array "
                                   "(data: the whole array as nested lists)");
  auto* dump_hex = dump->add_flag("--hex", hex, "Annotated hex dump (works for any block)");
  auto* dump_raw = dump->add_flag("--raw", raw, "The block's bytes, unchanged, on stdout");
  std::string repr_python = "3." + std::to_string(shm::kNewestReprMinor);
  std::vector<std::string> repr_pythons;
  for (int minor = shm::kOldestReprMinor; minor <= shm::kNewestReprMinor; ++minor) {
    repr_pythons.push_back("3." + std::to_string(minor));
  }
  dump->add_option("--python", repr_python,
                   "Write the table's values as this CPython's repr() does (its Unicode "
                   "version decides which characters are escaped; default the newest)")
      ->check(CLI::IsMember(repr_pythons));
  dump_json->excludes(dump_hex)->excludes(dump_raw);
  dump_hex->excludes(dump_raw);
  ArrayRequest array_request;
  std::string dtype_text;
  std::string shape_text;
  auto* dump_dtype = dump->add_option(
      "--dtype", dtype_text,
      "Read the block as an array of this numpy dtype.str (<f8, >i2, |b1, <c16, |S5, <U3, ...) "
      "or dtype.descr list ([('a', '<i4'), ('b', '<f8')]) instead of as a list or by its .npy "
      "header");
  auto* dump_shape =
      dump->add_option("--shape", shape_text,
                       "With --dtype: the shape, e.g. 1000,3 (default: 1-D, all of the block "
                       "after --offset)");
  auto* dump_offset = dump->add_option("--offset", array_request.offset,
                                       "With --dtype: where the array starts in the block, in "
                                       "bytes (a multiple of the dtype's alignment; default 0)")
                          ->check(byte_count("--offset", true));
  auto* dump_order = dump->add_option("--order", array_request.order,
                                      "With --dtype: C (row-major, default) or F (Fortran)")
                         ->check(CLI::IsMember({"C", "F"}));
  dump_shape->needs(dump_dtype);
  dump_offset->needs(dump_dtype);
  dump_order->needs(dump_dtype);
  dump_dtype->excludes(dump_hex)->excludes(dump_raw);

  auto* check = app.add_subcommand("check",
                                   "Exit 0 if NAME is a valid ShareableList or .npy array "
                                   "(header well-formed, data inside the block), else 1 with "
                                   "the reason");
  check->add_option("NAME", name, "Block name")->required();

  auto* create_list = app.add_subcommand(
      "create-list",
      "Create a ShareableList from a JSON array of items (or - to read it from stdin) and print "
      "its name. The block is meant for other processes to attach, so pyshm does not track it: "
      "it stays until `pyshm rm NAME` or an unlink.");
  create_list->add_option("--name", name, "Block name (default: a random psm_ name)");
  create_list->add_option("--layout", layout, "Block layout: 3.9 (CPython 3.9+) or 3.8")
      ->check(CLI::IsMember({"3.8", "3.9"}));
  create_list->add_flag("--strict", strict,
                        "Refuse str/bytes ending in NUL, which every CPython reads back stripped");
  create_list->add_option("JSON", items_json, "Item JSON array, e.g. '[1, 2.5, \"a\", null]'")
      ->required();

  auto* create = app.add_subcommand("create",
                                    "Create a zero-filled raw block (not tracked: it "
                                    "stays until `pyshm rm`)");
  create->add_option("NAME", name, "Block name")->required();
  create->add_option("--size", size, "Size in bytes")
      ->required()
      ->check(byte_count("--size", false));

  auto* get = app.add_subcommand("get", "Print one item of a ShareableList as Item JSON");
  get->add_option("NAME", name, "Block name")->required();
  get->add_option("INDEX", index_text, "Index; negative counts from the end")->required();

  auto* set = app.add_subcommand("set", "Store one item (Item JSON) into a ShareableList");
  set->add_option("NAME", name, "Block name")->required();
  set->add_option("INDEX", index_text, "Index; negative counts from the end")->required();
  set->add_option("ITEM_JSON", item_json,
                  "The value, e.g. 42, 2.5, \"text\", {\"bytes\": \"00ff\"}")
      ->required();
  set->add_flag("--strict", strict, "Refuse str/bytes ending in NUL");

  auto* rm = app.add_subcommand("rm", "Unlink blocks");
  rm->add_option("NAME", names, "Block names")->required();

  int protocol = shm::pickle::kDefaultProtocol;
  bool as_list = false;
  std::string hex_text;
  auto* pickle =
      app.add_subcommand("pickle",
                         "Print, in hex, the bytes Python's pickle.dumps gives for this block as a "
                         "SharedMemory (or with --list as a ShareableList)");
  pickle->add_option("NAME", name, "Block name")->required();
  pickle->add_option("--protocol", protocol, "Pickle protocol, 0 to 5 (default 4)")
      ->check(CLI::Range(0, shm::pickle::kHighestProtocol));
  pickle->add_flag("--list", as_list, "Pickle as a ShareableList (the block must be one)");

  auto* unpickle = app.add_subcommand(
      "unpickle",
      "Read a SharedMemory or ShareableList pickle (hex, or - for stdin) and print "
      "{kind, name, size} as JSON. Only those two shapes are accepted; nothing in the "
      "pickle is ever executed.");
  unpickle->add_option("HEX", hex_text, "The pickle's bytes in hex")->required();

  for (CLI::App* sub : app.get_subcommands({})) {
    // "-1" is an index, not an option.
    sub->positionals_at_end(false);
  }

  // A write to a closed pipe is an error to report (exit 1), not a silent death by SIGPIPE
  // that could leave a just-created block behind.
  std::signal(SIGPIPE, SIG_IGN);
  const auto known = [&app](const std::string& word) {
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == word) return true;
    }
    return false;
  };
  if (argc >= 2 && argv[1][0] != '-' && !known(argv[1])) {
    std::cerr << "pyshm: unknown subcommand '" << escaped(argv[1])
              << "' (pyshm --help lists them)\n";
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  const auto finish = [](int status) {
    if (!stdout_delivered()) {
      std::cerr << "pyshm: cannot write to stdout: " << std::strerror(errno) << "\n";
      return 1;
    }
    return status;
  };
  try {
    if (*ls) return finish(cmd_ls(json));
    if (*dump) {
      if (*dump_dtype) array_request.dtype = dtype_text;
      if (*dump_shape) array_request.shape = shape_text;
      return finish(cmd_dump(name, json, hex, raw,
                             std::stoi(repr_python.substr(repr_python.find('.') + 1)),
                             array_request));
    }
    if (*check) return finish(cmd_check(name));
    if (*create_list) {
      const std::string text = items_json == "-" ? read_all(std::cin) : items_json;
      const auto items = shm::items_from_json(text);
      auto list = shm::ShareableList::create(
          items, {.name = name, .layout = parse_layout(layout), .strict = strict, .track = false});
      std::cout << list.name() << "\n";
      if (!stdout_delivered()) {
        const int err = errno;
        list.shm().unlink();  // nobody received the name: the block must not stay
        throw_stdout_error(err);
      }
      return 0;
    }
    if (*create) {
      auto block = shm::SharedMemory::create(size, name, {.track = false});
      std::cout << block.name() << "\n";
      if (!stdout_delivered()) {
        const int err = errno;
        block.unlink();  // nobody received the name: the block must not stay
        throw_stdout_error(err);
      }
      return 0;
    }
    if (*get || *set) {
      std::ptrdiff_t index = 0;
      try {
        // Only -?[0-9]+: stoll alone would also take " 1" and "+1".
        const std::size_t digits = index_text.rfind('-', 0) == 0 ? 1 : 0;
        if (index_text.size() == digits ||
            index_text.find_first_not_of("0123456789", digits) != std::string::npos) {
          throw std::invalid_argument("not an integer");
        }
        std::size_t used = 0;
        index = std::stoll(index_text, &used);
        if (used != index_text.size()) throw std::invalid_argument("trailing characters");
      } catch (const std::exception&) {
        throw std::invalid_argument("INDEX must be an integer, not '" + index_text + "'");
      }
      // get validates by reading first (no fault on a hostile block), then attaches read-only,
      // so a block readable but not writable works as for dump.
      if (*get) (void)shm::ShareableList::validate_by_read(pyshm::BlockFd(name).get());
      auto list = shm::ShareableList::attach(
          name, {.strict = strict, .read_only = static_cast<bool>(*get)});
      if (*get) {
        std::cout << shm::to_json(list.get(index)) << "\n";
      } else {
        list.set(index, shm::item_from_json(item_json));
      }
      return finish(0);
    }
    if (*pickle) return finish(cmd_pickle(name, protocol, as_list));
    if (*unpickle) return finish(cmd_unpickle(hex_text));
    if (*rm) {
      int status = 0;
      for (const auto& n : names) {
        try {
          shm::unlink_block(n);
        } catch (const std::exception& e) {
          std::cerr << "pyshm: " << e.what() << "\n";
          status = 1;
        }
      }
      return status;
    }
  } catch (const shm::LayoutError& e) {
    std::cerr << "pyshm: " << name << " is not a valid ShareableList: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "pyshm: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
