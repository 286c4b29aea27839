// pyshm get and set: one item of a ShareableList, as Item JSON.
#include <cstddef>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "block_reading.hpp"
#include "libshm/item_json.hpp"
#include "libshm/shareable_list.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

std::ptrdiff_t parse_index(const std::string& text) {
  try {
    // Only -?[0-9]+: stoll alone would also take " 1" and "+1".
    const std::size_t digits = text.rfind('-', 0) == 0 ? 1 : 0;
    if (text.size() == digits ||
        text.find_first_not_of("0123456789", digits) != std::string::npos) {
      throw std::invalid_argument("not an integer");
    }
    std::size_t used = 0;
    const std::ptrdiff_t index = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument("trailing characters");
    return index;
  } catch (const std::exception&) {
    throw std::invalid_argument("INDEX must be an integer, not '" + text + "'");
  }
}

int get(const std::string& name, const std::string& index_text) {
  const std::ptrdiff_t index = parse_index(index_text);
  // Validated, then read, with pread only (block_reading.hpp): a hostile block is refused
  // whole, and no hole or truncation can fault. The block is opened read-only, so one that is
  // readable but not writable works as for dump.
  const BlockFd fd(name);
  (void)shm::ShareableList::validate_by_read(fd.get());
  std::cout << shm::to_json(shm::ListReader(fd.get()).get(index)) << "\n";
  return 0;
}

struct SetOptions {
  std::string index;
  std::string item_json;
  bool strict = false;
};

int set(const std::string& name, const SetOptions& options) {
  const std::ptrdiff_t index = parse_index(options.index);
  auto list = shm::ShareableList::attach(name, {.strict = options.strict});
  list.set(index, shm::item_from_json(options.item_json));
  return 0;
}

}  // namespace

Verb add_get(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand("get", "Print one item of a ShareableList as Item JSON");
  const auto index = std::make_shared<std::string>();
  verb.command->add_option("NAME", *verb.block, "Block name")->required();
  verb.command->add_option("INDEX", *index, "Index; negative counts from the end")->required();
  verb.run = [name = verb.block, index] { return get(*name, *index); };
  return verb;
}

Verb add_set(CLI::App& app) {
  Verb verb;
  verb.command = app.add_subcommand("set", "Store one item (Item JSON) into a ShareableList");
  const auto options = std::make_shared<SetOptions>();
  verb.command->add_option("NAME", *verb.block, "Block name")->required();
  verb.command->add_option("INDEX", options->index, "Index; negative counts from the end")
      ->required();
  verb.command
      ->add_option("ITEM_JSON", options->item_json,
                   "The value, e.g. 42, 2.5, \"text\", {\"bytes\": \"00ff\"}")
      ->required();
  verb.command->add_flag("--strict", options->strict, "Refuse str/bytes ending in NUL");
  verb.run = [name = verb.block, options] { return set(*name, *options); };
  return verb;
}

}  // namespace pyshm
