// pyshm create and create-list: a new block, left for other processes (never tracked), its name
// printed on stdout.
#include <cerrno>
#include <iostream>
#include <memory>
#include <string>

#include "libshm/item_json.hpp"
#include "libshm/shareable_list.hpp"
#include "streams.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

// Prints the name of a block just made. A name stdout did not deliver reaches nobody, and an
// untracked block nobody can name would stay forever: it is removed before the error.
void hand_over(shm::SharedMemory& block) {
  std::cout << block.name() << "\n";
  if (!stdout_delivered()) {
    const int err = errno;
    block.unlink();
    throw_stdout_error(err);
  }
}

shm::Layout parse_layout(const std::string& text) {
  return shm::parse_layout(text).value();  // CLI11's IsMember already refused anything else
}

struct CreateListOptions {
  std::string layout = "3.9";
  bool strict = false;
  std::string items_json;
};

int create_list(const std::string& name, const CreateListOptions& options) {
  const std::string text = options.items_json == "-" ? read_all(std::cin) : options.items_json;
  const auto items = shm::items_from_json(text);
  auto list = shm::ShareableList::create(items, {.name = name,
                                                 .layout = parse_layout(options.layout),
                                                 .strict = options.strict,
                                                 .track = false});
  hand_over(list.shm());
  return 0;
}

int create(const std::string& name, std::size_t size) {
  auto block = shm::SharedMemory::create(size, name, {.track = false});
  hand_over(block);
  return 0;
}

}  // namespace

Verb add_create_list(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand(
      "create-list",
      "Create a ShareableList from a JSON array of items (or - to read it from stdin) and print "
      "its name. The block is meant for other processes to attach, so pyshm does not track it: "
      "it stays until `pyshm rm NAME` or an unlink.");
  const auto options = std::make_shared<CreateListOptions>();
  verb.command->add_option("--name", *verb.block, "Block name (default: a random psm_ name)");
  verb.command->add_option("--layout", options->layout, "Block layout: 3.9 (CPython 3.9+) or 3.8")
      ->check(CLI::IsMember({"3.8", "3.9"}));
  verb.command->add_flag("--strict", options->strict,
                         "Refuse str/bytes ending in NUL, which every CPython reads back stripped");
  verb.command
      ->add_option("JSON", options->items_json, "Item JSON array, e.g. '[1, 2.5, \"a\", null]'")
      ->required();
  verb.run = [name = verb.block, options] { return create_list(*name, *options); };
  return verb;
}

Verb add_create(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand("create",
                                    "Create a zero-filled raw block (not tracked: it "
                                    "stays until `pyshm rm`)");
  const auto size = std::make_shared<std::size_t>(0);
  verb.command->add_option("NAME", *verb.block, "Block name")->required();
  verb.command->add_option("--size", *size, "Size in bytes")
      ->required()
      ->check(byte_count("--size", false));
  verb.run = [name = verb.block, size] { return create(*name, *size); };
  return verb;
}

}  // namespace pyshm
