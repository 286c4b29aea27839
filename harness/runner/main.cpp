// shm-harness: the conformance runner. Finds the implementations (cpp and every CPython),
// binds every scenario's roles to them, runs the cells in parallel on long-lived agents,
// judges each step against the scenario and the quirk registry, and reports.
//
//   shm-harness [--python 3.12] [--only 'list/str/trailing-nul[writer=cpp,reader=py3.12.1]']
//               [--agent ID=COMMAND] [--strict-versions] [-j N] [--junit FILE] [--report DIR]
//               [--expect-fail]
//   shm-harness --explore SECONDS [--seed N] [--explore-out DIR]   (explore.cpp)
//   shm-harness --candidate ID=PATH@VERSION ...                      (candidate.cpp)
//
// Each phase has a file of its own: options.cpp (the command line), standing.cpp (the header),
// selection.cpp (--only and skips), cell_runner.cpp (the parallel run), leak_sweep.cpp (blocks
// left behind), coverage.cpp (registry entries no cell exercised), report.cpp (the report) and
// verdict.cpp (the exit status, canaries included).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "candidate.hpp"
#include "cell_runner.hpp"
#include "coverage.hpp"
#include "explore.hpp"
#include "leak_sweep.hpp"
#include "options.hpp"
#include "py_coverage.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "scenario.hpp"
#include "selection.hpp"
#include "standing.hpp"
#include "verdict.hpp"

using namespace harness;

namespace {

template <class Problems>
void add_problems(RunReport& report, Problems&& problems) {
  for (auto& p : problems) report.problems.push_back(std::move(p));
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Options options;
  if (auto status = parse_options(argc, argv, options)) return *status;
  const bool filtered = options.filtered();

  auto started = std::chrono::steady_clock::now();
  RunReport report;
  report.rerun_prefix = rerun_prefix(argv[0], options);
  Registry registry;
  DiscoveryOptions dopts;
  try {
    registry = Registry::load(options.registry_path);
  } catch (const std::exception& e) {
    std::cerr << "shm-harness: " << e.what() << "\n";
    return 2;
  }
  std::vector<LoadError> load_errors;
  std::vector<Scenario> scenarios = load_scenarios(options.scenarios_dir, &load_errors);
  for (const auto& e : load_errors) {
    report.problems.push_back("scenario file " + e.file + ": " + e.message);
  }
  try {
    dopts = discovery_options(options);
  } catch (const std::exception& e) {
    std::cerr << "shm-harness: " << e.what() << "\n";
    return 2;
  }

  start_py_coverage(options);
  Discovery found = discover(dopts);
  report.implementations = found.implementations;
  const std::string header = implementations_header(found, registry, report);
  std::cout << header << std::flush;
  if (!options.no_cpp && std::none_of(found.implementations.begin(), found.implementations.end(),
                                      [](const Implementation& i) { return i.id == "cpp"; })) {
    report.problems.push_back("the C++ agent is missing or does not answer: " + options.cpp_agent);
  }
  for (const auto& c : dopts.candidates) {
    if (std::none_of(
            found.implementations.begin(), found.implementations.end(),
            [&](const Implementation& i) { return i.id == c.id && !i.candidate.empty(); })) {
      report.problems.push_back("candidate " + c.id + " did not start (the notes above say why)");
    }
  }
  if (found.implementations.empty()) {
    std::cerr << "shm-harness: no implementation found\n";
    return 2;
  }
  if (options.exploring() && !dopts.candidates.empty()) {
    std::cerr << "shm-harness: --candidate runs the fixed scenarios, not --explore\n";
    return 2;
  }
  if (options.exploring()) {
    const int status = run_exploration(options, found, registry, argv[0]);
    print_py_coverage(options);
    return status;
  }

  std::vector<Cell> cells =
      select_cells(scenarios, found.implementations, options.only, filtered, report);
  if (options.list_only) {
    for (const auto& c : cells) std::cout << c.id << "\n";
    std::cout << cells.size() << " cells\n";
    return 0;
  }
  start_slow_first(cells);
  RunSettings settings;
  settings.token = random_token();
  settings.step_timeout_ms = options.timeout_ms;
  settings.strict_versions = options.strict_versions;
  std::vector<CellResult> results =
      run_cells(cells, found.implementations, std::move(found.warm_agents), registry, settings,
                options.jobs, options.verbose, report.problems);
  add_problems(report, sweep_leftovers(settings.token));
  add_problems(report,
               registry_coverage(registry, scenarios, found.implementations, results, filtered));

  for (std::size_t i = 0; i < results.size(); ++i) results[i].cell = &cells[i];
  report.results = std::move(results);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::vector<CandidateFindings> candidates = compare_candidates(report);
  add_problems(report, candidate_problems(candidates));
  std::ostringstream failures;
  print_candidates(failures, candidates);
  print_news(failures, report);
  print_failures(failures, report);
  print_verification_notes(failures, report, registry, filtered);
  std::cout << failures.str();
  if (!options.junit.empty()) write_junit(options.junit, report);
  if (!options.report_dir.empty()) {
    write_matrix(options.report_dir, report);
    std::cout << "report: " << options.report_dir << "/matrix.md, " << options.report_dir
              << "/matrix.html\n";
    if (!candidates.empty()) {
      write_candidates(options.report_dir + "/candidates.md", candidates);
      std::cout << "report: " << options.report_dir << "/candidates.md\n";
    }
  }
  print_py_coverage(options);
  std::cout << summary_line(report) << " in " << static_cast<int>(report.seconds + 0.5) << " s\n";
  return exit_status(options, count(report), failures.str(),
                     header + failures.str() + summary_line(report));
}
