// pyshm's verbs. Each add_<verb> registers its subcommand on the app (options and --help text)
// and returns what running it does; main.cpp only parses the command line and runs the verb
// chosen. One file per verb: verb_<verb>.cpp (create and create-list share verb_create.cpp, get
// and set verb_item.cpp, pickle and unpickle verb_pickle.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

namespace pyshm {

/// A verb registered on the app.
struct Verb {
  CLI::App* command = nullptr;  // its subcommand: *command is true when it was chosen
  /// The block it was given (NAME or --name), for the message of a block that is not a list;
  /// empty for verbs that take none.
  std::shared_ptr<std::string> block = std::make_shared<std::string>();
  std::function<int()> run;  // runs it, once the command line is parsed: the exit status
};

Verb add_ls(CLI::App& app);
Verb add_dump(CLI::App& app);
Verb add_check(CLI::App& app);
Verb add_create_list(CLI::App& app);
Verb add_create(CLI::App& app);
Verb add_get(CLI::App& app);
Verb add_set(CLI::App& app);
Verb add_rm(CLI::App& app);
Verb add_pickle(CLI::App& app);
Verb add_unpickle(CLI::App& app);

/// Checks a number of bytes given to `option`: digits only (CLI11's range checks would accept
/// "+1" and print the range as 0 to 1.79e308).
CLI::Validator byte_count(const std::string& option, bool zero_allowed);

}  // namespace pyshm
