// pyshm rm: unlink blocks.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "libshm/shared_memory.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

int rm(const std::vector<std::string>& names) {
  // Every name is tried: one that cannot be removed does not keep the others.
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

}  // namespace

Verb add_rm(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand("rm", "Unlink blocks");
  const auto names = std::make_shared<std::vector<std::string>>();
  verb.command->add_option("NAME", *names, "Block names")->required();
  verb.run = [names] { return rm(*names); };
  return verb;
}

}  // namespace pyshm
