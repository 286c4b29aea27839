// pyshm check: is a block a valid ShareableList or .npy array, and if not, why.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include "array_dump.hpp"
#include "block_reading.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

int check(const std::string& name) {
  // Read with pread only: no mapping, so holes take no page and truncation is no SIGBUS.
  const BlockFd fd(name);
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
        name.c_str(), dtype_text(npy->dtype).c_str(), shape_repr(npy->shape).c_str(),
        npy->fortran_order ? "Fortran" : "C", npy->version.first, npy->version.second,
        npy->data_offset, npy->nbytes,
        after == 0 ? "" : (", " + std::to_string(after) + " bytes after them").c_str());
    return 0;
  }
  const shm::ListRegions list = validate_exact(fd.get());
  std::printf("%s: valid ShareableList, layout %s, %zu items, %zu bytes\n", name.c_str(),
              std::string(shm::to_string(list.layout)).c_str(), list.count, list.end);
  return 0;
}

}  // namespace

Verb add_check(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand("check",
                                    "Exit 0 if NAME is a valid ShareableList or .npy array "
                                    "(header well-formed, data inside the block), else 1 with "
                                    "the reason");
  verb.command->add_option("NAME", *verb.block, "Block name")->required();
  verb.run = [name = verb.block] { return check(*name); };
  return verb;
}

}  // namespace pyshm
