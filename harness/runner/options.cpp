#include "options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace harness {

namespace {

std::string quote(const std::string& s) {
  if (s.find_first_of(" '\"$\\") == std::string::npos) return s;
  return "'" + s + "'";
}

}  // namespace

std::optional<int> parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"shm-harness: libshm conformance against every CPython found"};
  const unsigned hc = std::thread::hardware_concurrency();
  o.jobs = static_cast<int>(hc == 0 ? 2 : hc);
  app.add_option("--scenarios", o.scenarios_dir, "scenario directory")->capture_default_str();
  app.add_option("--registry", o.registry_path, "quirk registry (compat/cpython.json)")
      ->capture_default_str();
  app.add_option("--cpp-agent", o.cpp_agent, "the C++ agent binary")->capture_default_str();
  app.add_option("--py-agent", o.py_agent, "the Python agent script")->capture_default_str();
  app.add_flag("--no-cpp", o.no_cpp, "leave the C++ implementation out");
  app.add_option("--agent", o.agent_texts,
                 "add an implementation: ID=COMMAND, a program that speaks harness/PROTOCOL.md "
                 "(repeatable; also SHM_AGENTS=\"ID=COMMAND;ID=COMMAND\")");
  app.add_option("--candidate", o.candidate_texts,
                 "judge a proposed shared_memory.py: ID=PATH@VERSION runs the Python agent under "
                 "that CPython (a version or prefix, e.g. 3.14) with PATH in place of the "
                 "interpreter's multiprocessing.shared_memory, as a column ID judged as that "
                 "CPython, and reports every cell whose outcome differs from the unpatched "
                 "interpreter's (repeatable; harness/README.md, \"Judging a proposed change\")");
  app.add_option("--libshm-python", o.libshm_python,
                 "where the libshm Python module is built, one <CPython version>/libshm per "
                 "interpreter (each becomes an implementation pylibshm<version>)")
      ->capture_default_str();
  app.add_flag("--no-libshm-python", o.no_module, "leave the libshm Python module out");
  app.add_flag("--strict-versions", o.strict_versions,
               "fail on new CPython behaviour too (a CPython newer than the registry knows doing "
               "something it does not predict)");
  app.add_option("--python", o.pythons,
                 "CPython(s) to use: id (py3.12.1), version (3.12.1, 3.12) or interpreter path; "
                 "repeatable or comma-separated (default: every one found)")
      ->delimiter(',');
  app.add_option("--only", o.only,
                 "run only these cells: a cell id, a scenario id, or a prefix ending in '*' "
                 "(repeatable)");
  app.add_option("-j,--jobs", o.jobs, "cells run in parallel")->capture_default_str();
  app.add_option("--timeout", o.timeout_ms, "per-step timeout in ms")->capture_default_str();
  app.add_option("--junit", o.junit, "write JUnit XML here");
  app.add_option("--report", o.report_dir, "write matrix.md and matrix.html into this directory");
  app.add_flag("--expect-fail", o.expect_fail,
               "self-test mode: succeed only if the run fails (canary scenarios)");
  app.add_option("--expect-text", o.expect_texts,
                 "text the report must contain (repeatable): with --expect-fail the failure "
                 "report, so that a canary fails for the reason it is about; otherwise what the "
                 "run printed");
  app.add_flag("--list", o.list_only, "list implementations and cells, run nothing");
  app.add_flag("-v,--verbose", o.verbose, "print every cell as it finishes");
  std::uint64_t seed = 0, sequence = 0;
  app.add_option("--explore", o.explore_seconds,
                 "generate random scenarios for this many seconds instead of running the fixed "
                 "ones; each finding is shrunk and written to --explore-out");
  auto* seed_option =
      app.add_option("--seed", seed, "the exploration's seed (default: random, printed)");
  app.add_option("--explore-out", o.explore_out, "where --explore writes its findings")
      ->capture_default_str();
  app.add_option("--py-coverage", o.py_coverage,
                 "record which lines of each CPython's multiprocessing/shared_memory.py and "
                 "resource_tracker.py the Python agents run, into this directory; print the "
                 "coverage at the end (missed lines: py-coverage.md in --report's directory)");
  auto* sequence_option = app.add_option(
      "--explore-sequence", sequence,
      "replay one generated sequence by its seed (printed with each finding) and shrink it");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.jobs = std::max(1, o.jobs);
  if (seed_option->count() != 0) o.seed = seed;
  if (sequence_option->count() != 0) o.explore_sequence = sequence;
  return std::nullopt;
}

std::string rerun_prefix(const std::string& argv0, const Options& o) {
  std::ostringstream prefix;
  prefix << quote(argv0);
  if (o.scenarios_dir != SHM_HARNESS_SCENARIOS) prefix << " --scenarios " << quote(o.scenarios_dir);
  if (o.registry_path != SHM_HARNESS_REGISTRY) prefix << " --registry " << quote(o.registry_path);
  if (o.cpp_agent != SHM_HARNESS_CPP_AGENT) prefix << " --cpp-agent " << quote(o.cpp_agent);
  if (o.py_agent != SHM_HARNESS_PY_AGENT) prefix << " --py-agent " << quote(o.py_agent);
  for (const auto& c : o.candidate_texts) prefix << " --candidate " << quote(c);
  return prefix.str();
}

DiscoveryOptions discovery_options(const Options& o) {
  DiscoveryOptions d;
  d.cpp_agent = o.no_cpp ? "" : o.cpp_agent;
  d.py_agent = o.py_agent;
  d.tools_python = SHM_HARNESS_TOOLS_PYTHON;
  d.find_cpythons = SHM_HARNESS_FIND_CPYTHONS;
  d.python_specs = o.pythons;
  d.libshm_python_dir = o.no_module ? "" : o.libshm_python;
  if (const char* env = std::getenv("SHM_AGENTS")) {
    std::istringstream entries(env);
    for (std::string e; std::getline(entries, e, ';');) {
      if (e.find_first_not_of(" \t\n") != std::string::npos) {
        d.agents.push_back(parse_agent_spec(e, "SHM_AGENTS"));
      }
    }
  }
  for (const auto& a : o.agent_texts) d.agents.push_back(parse_agent_spec(a, "--agent"));
  for (const auto& c : o.candidate_texts) d.candidates.push_back(parse_candidate_spec(c));
  return d;
}

}  // namespace harness
