// The runner's command line: every option with its default and --help text, the rerun
// command a failure report prints, and what the options ask discovery to look for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "discovery.hpp"

namespace harness {

struct Options {
  std::string scenarios_dir = SHM_HARNESS_SCENARIOS;      // --scenarios
  std::string registry_path = SHM_HARNESS_REGISTRY;       // --registry
  std::string cpp_agent = SHM_HARNESS_CPP_AGENT;          // --cpp-agent
  std::string py_agent = SHM_HARNESS_PY_AGENT;            // --py-agent
  std::string libshm_python = SHM_HARNESS_LIBSHM_PYTHON;  // --libshm-python
  std::vector<std::string> pythons;                       // --python
  std::vector<std::string> only;                          // --only
  std::vector<std::string> agent_texts;                   // --agent
  std::vector<std::string> candidate_texts;               // --candidate ID=PATH@VERSION
  std::vector<std::string> expect_texts;                  // --expect-text
  bool no_cpp = false;                                    // --no-cpp
  bool no_module = false;                                 // --no-libshm-python
  bool strict_versions = false;                           // --strict-versions
  bool expect_fail = false;                               // --expect-fail
  bool list_only = false;                                 // --list
  bool verbose = false;                                   // -v
  int jobs = 2;  // -j; parse_options starts it at the hardware threads, ends it at 1 or more
  int timeout_ms = 20000;                         // --timeout
  std::string junit;                              // --junit
  std::string report_dir;                         // --report
  double explore_seconds = 0;                     // --explore: 0 runs the fixed scenarios
  std::optional<std::uint64_t> seed;              // --seed (else a random one, printed)
  std::string explore_out = "explore-findings";   // --explore-out
  std::optional<std::uint64_t> explore_sequence;  // --explore-sequence: replay one sequence
  std::string py_coverage;  // --py-coverage: trace CPython's module's lines into this directory

  /// Whether the run generates scenarios (--explore) instead of running the fixed ones.
  [[nodiscard]] bool exploring() const { return explore_seconds > 0 || explore_sequence; }

  /// Whether the run leaves cells or implementations out, so that coverage is not judged.
  [[nodiscard]] bool filtered() const { return !only.empty() || !pythons.empty() || no_cpp; }
};

/// Parses the command line into `options`. Returns the exit status when the process must end
/// here (--help, a bad option: CLI11 has printed why), nothing when the run goes on.
std::optional<int> parse_options(int argc, char** argv, Options& options);

/// The command that reruns this run's cells (failure reports append --only): argv[0] and every
/// option that changes what a cell is, where it differs from the default.
std::string rerun_prefix(const std::string& argv0, const Options& options);

/// What discovery looks for: the agents the options name, and those of SHM_AGENTS, and the
/// candidates. Throws std::invalid_argument (parse_agent_spec's, parse_candidate_spec's) for an
/// agent that is not ID=COMMAND or a candidate that is not ID=PATH@VERSION.
DiscoveryOptions discovery_options(const Options& options);

}  // namespace harness
