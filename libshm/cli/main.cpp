// pyshm: inspect, create and repair Python-compatible shared memory from the command line.
// Exit codes: 0 success, 1 error (message on stderr, starting "pyshm: "), 2 usage.
// main() parses the command line and runs the verb chosen; each verb is in verb_<name>.cpp.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/layout.hpp"
#include "streams.hpp"
#include "verbs.hpp"

namespace pyshm {

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

}  // namespace pyshm

namespace {

// How pyshm reports a libshm error: the exit status, and what it says of the block before the
// library's message (an .npy header error was already put in words by the verb that read it).
struct Failure {
  int status;
  const char* about_block;  // nullptr: the library's message alone
};

// The one table from libshm's error codes to pyshm's report. Every library error is exit 1
// (README, "CLI"); a corrupt list is named as such.
Failure failure_of(shm::Errc code) {
  switch (code) {
    case shm::Errc::corrupt_block:
      return {1, " is not a valid ShareableList: "};
    default:
      return {1, nullptr};
  }
}

// Runs the verb chosen, turning what it throws into "pyshm: ..." and exit 1.
int run(const pyshm::Verb& verb) {
  try {
    const int status = verb.run();
    if (!pyshm::stdout_delivered()) {
      std::cerr << "pyshm: cannot write to stdout: " << std::strerror(errno) << "\n";
      return 1;
    }
    return status;
  } catch (const std::exception& e) {
    const shm::Error* error = shm::error_of(e);
    const Failure failure = error != nullptr ? failure_of(error->code()) : Failure{1, nullptr};
    std::cerr << "pyshm: ";
    if (failure.about_block != nullptr) std::cerr << *verb.block << failure.about_block;
    std::cerr << e.what() << "\n";
    return failure.status;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "pyshm: inspect, create and repair Python-compatible shared memory "
      "(multiprocessing.shared_memory blocks, ShareableLists and numpy arrays)"};
  app.set_version_flag("--version", std::string("pyshm (libshm) ") + LIBSHM_VERSION);
  app.require_subcommand(1);
  // In the order --help lists them.
  const std::vector<pyshm::Verb> verbs = {pyshm::add_ls(app),     pyshm::add_dump(app),
                                          pyshm::add_check(app),  pyshm::add_create_list(app),
                                          pyshm::add_create(app), pyshm::add_get(app),
                                          pyshm::add_set(app),    pyshm::add_rm(app),
                                          pyshm::add_pickle(app), pyshm::add_unpickle(app)};
  for (const pyshm::Verb& verb : verbs) {
    // "-1" is an index, not an option.
    verb.command->positionals_at_end(false);
  }

  // A write to a closed pipe is an error to report (exit 1), not a silent death by SIGPIPE
  // that could leave a just-created block behind.
  std::signal(SIGPIPE, SIG_IGN);
  const auto known = [&verbs](const std::string& word) {
    for (const pyshm::Verb& verb : verbs) {
      if (verb.command->get_name() == word) return true;
    }
    return false;
  };
  if (argc >= 2 && argv[1][0] != '-' && !known(argv[1])) {
    std::cerr << "pyshm: unknown subcommand '" << pyshm::escaped(argv[1])
              << "' (pyshm --help lists them)\n";
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const pyshm::Verb& verb : verbs) {
    if (*verb.command) return run(verb);
  }
  return 2;  // unreachable: CLI11 requires one subcommand
}
