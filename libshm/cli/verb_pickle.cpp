// pyshm pickle and unpickle: the bytes CPython's pickle gives for a block's SharedMemory or
// ShareableList, and back.
#include <cctype>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "block_reading.hpp"
#include "libshm/hex.hpp"
#include "libshm/pickle.hpp"
#include "libshm/shared_memory.hpp"
#include "streams.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

int pickle(const std::string& name, int protocol, bool as_list) {
  if (as_list) validate_exact(BlockFd(name).get());  // only a real list pickles
  // Attached for its name and size only: a pickle holds no byte of the block.
  const auto block = shm::SharedMemory::attach(name, {.read_only = true});
  if (as_list) {
    std::cout << shm::to_hex(shm::pickle::dumps_shareable_list(block.name(), protocol)) << "\n";
  } else {
    std::cout << shm::to_hex(shm::pickle::dumps(block, protocol)) << "\n";
  }
  return 0;
}

int unpickle(const std::string& hex_arg) {
  std::string hex = hex_arg == "-" ? read_all(std::cin) : hex_arg;
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  const shm::pickle::PickledHandle handle = shm::pickle::loads(shm::from_hex(hex));
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

struct PickleOptions {
  int protocol = shm::pickle::kDefaultProtocol;
  bool as_list = false;
};

}  // namespace

Verb add_pickle(CLI::App& app) {
  Verb verb;
  verb.command =
      app.add_subcommand("pickle",
                         "Print, in hex, the bytes Python's pickle.dumps gives for this block as a "
                         "SharedMemory (or with --list as a ShareableList)");
  const auto options = std::make_shared<PickleOptions>();
  verb.command->add_option("NAME", *verb.block, "Block name")->required();
  verb.command->add_option("--protocol", options->protocol, "Pickle protocol, 0 to 5 (default 4)")
      ->check(CLI::Range(0, shm::pickle::kHighestProtocol));
  verb.command->add_flag("--list", options->as_list,
                         "Pickle as a ShareableList (the block must be one)");
  verb.run = [name = verb.block, options] {
    return pickle(*name, options->protocol, options->as_list);
  };
  return verb;
}

Verb add_unpickle(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand(
      "unpickle",
      "Read a SharedMemory or ShareableList pickle (hex, or - for stdin) and print "
      "{kind, name, size} as JSON. Only those two shapes are accepted; nothing in the "
      "pickle is ever executed.");
  const auto hex = std::make_shared<std::string>();
  verb.command->add_option("HEX", *hex, "The pickle's bytes in hex")->required();
  verb.run = [hex] { return unpickle(*hex); };
  return verb;
}

}  // namespace pyshm
