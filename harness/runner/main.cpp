// shm-harness: the conformance runner. Finds the implementations (cpp and every CPython),
// binds every scenario's roles to them, runs the cells in parallel on long-lived agents,
// judges each step against the scenario and the quirk registry, and reports.
//
//   shm-harness [--python 3.12] [--only 'list/str/trailing-nul[writer=cpp,reader=py3.12.1]']
//               [--agent ID=COMMAND] [--strict-versions] [-j N] [--junit FILE] [--report DIR]
//               [--expect-fail]
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "agent_pool.hpp"
#include "binding.hpp"
#include "cell.hpp"
#include "discovery.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "scenario.hpp"

namespace fs = std::filesystem;
using namespace harness;

namespace {

// Does --only PATTERN select this cell? Exact cell id, scenario id, or a prefix ending in '*'.
bool selected(const std::vector<std::string>& only, const Cell& cell) {
  if (only.empty()) return true;
  for (const auto& p : only) {
    if (p == cell.id || p == cell.scenario->id) return true;
    if (!p.empty() && p.back() == '*' && cell.id.rfind(p.substr(0, p.size() - 1), 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string quote(const std::string& s) {
  if (s.find_first_of(" '\"$\\") == std::string::npos) return s;
  return "'" + s + "'";
}

std::string random_token() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << (rd() & 0xffffffu);
  std::string t = out.str();
  return std::string(6 - std::min<std::size_t>(6, t.size()), '0') + t;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"shm-harness: libshm conformance against every CPython found"};
  std::string scenarios_dir = SHM_HARNESS_SCENARIOS;
  std::string registry_path = SHM_HARNESS_REGISTRY;
  std::string cpp_agent = SHM_HARNESS_CPP_AGENT;
  std::string py_agent = SHM_HARNESS_PY_AGENT;
  std::string libshm_python = SHM_HARNESS_LIBSHM_PYTHON;
  std::vector<std::string> pythons, only, agent_texts;
  bool no_cpp = false, expect_fail = false, list_only = false, verbose = false;
  bool strict_versions = false, no_module = false;
  unsigned hc = std::thread::hardware_concurrency();
  int jobs = static_cast<int>(hc == 0 ? 2 : hc);
  int timeout_ms = 20000;
  std::string junit, report_dir;
  app.add_option("--scenarios", scenarios_dir, "scenario directory")->capture_default_str();
  app.add_option("--registry", registry_path, "quirk registry (compat/cpython.json)")
      ->capture_default_str();
  app.add_option("--cpp-agent", cpp_agent, "the C++ agent binary")->capture_default_str();
  app.add_option("--py-agent", py_agent, "the Python agent script")->capture_default_str();
  app.add_flag("--no-cpp", no_cpp, "leave the C++ implementation out");
  app.add_option("--agent", agent_texts,
                 "add an implementation: ID=COMMAND, a program that speaks harness/PROTOCOL.md "
                 "(repeatable; also SHM_AGENTS=\"ID=COMMAND;ID=COMMAND\")");
  app.add_option("--libshm-python", libshm_python,
                 "where the libshm Python module is built, one <CPython version>/libshm per "
                 "interpreter (each becomes an implementation pylibshm<version>)")
      ->capture_default_str();
  app.add_flag("--no-libshm-python", no_module, "leave the libshm Python module out");
  app.add_flag("--strict-versions", strict_versions,
               "fail on new CPython behaviour too (a CPython newer than the registry knows doing "
               "something it does not predict)");
  app.add_option("--python", pythons,
                 "CPython(s) to use: id (py3.12.1), version (3.12.1, 3.12) or interpreter path; "
                 "repeatable or comma-separated (default: every one found)")
      ->delimiter(',');
  app.add_option("--only", only,
                 "run only these cells: a cell id, a scenario id, or a prefix ending in '*' "
                 "(repeatable)");
  app.add_option("-j,--jobs", jobs, "cells run in parallel")->capture_default_str();
  app.add_option("--timeout", timeout_ms, "per-step timeout in ms")->capture_default_str();
  app.add_option("--junit", junit, "write JUnit XML here");
  app.add_option("--report", report_dir, "write matrix.md and matrix.html into this directory");
  app.add_flag("--expect-fail", expect_fail,
               "self-test mode: succeed only if the run fails (canary scenarios)");
  std::vector<std::string> expect_texts;
  app.add_option("--expect-text", expect_texts,
                 "text the report must contain (repeatable): with --expect-fail the failure "
                 "report, so that a canary fails for the reason it is about; otherwise what the "
                 "run printed");
  app.add_flag("--list", list_only, "list implementations and cells, run nothing");
  app.add_flag("-v,--verbose", verbose, "print every cell as it finishes");
  CLI11_PARSE(app, argc, argv);
  jobs = std::max(1, jobs);

  auto started = std::chrono::steady_clock::now();
  RunReport report;
  {
    std::ostringstream prefix;
    prefix << quote(argv[0]);
    if (scenarios_dir != SHM_HARNESS_SCENARIOS) prefix << " --scenarios " << quote(scenarios_dir);
    if (registry_path != SHM_HARNESS_REGISTRY) prefix << " --registry " << quote(registry_path);
    if (cpp_agent != SHM_HARNESS_CPP_AGENT) prefix << " --cpp-agent " << quote(cpp_agent);
    if (py_agent != SHM_HARNESS_PY_AGENT) prefix << " --py-agent " << quote(py_agent);
    report.rerun_prefix = prefix.str();
  }

  Registry registry;
  try {
    registry = Registry::load(registry_path);
  } catch (const std::exception& e) {
    std::cerr << "shm-harness: " << e.what() << "\n";
    return 2;
  }
  std::vector<LoadError> load_errors;
  std::vector<Scenario> scenarios = load_scenarios(scenarios_dir, &load_errors);
  for (const auto& e : load_errors) {
    report.problems.push_back("scenario file " + e.file + ": " + e.message);
  }

  DiscoveryOptions dopts;
  dopts.cpp_agent = no_cpp ? "" : cpp_agent;
  dopts.py_agent = py_agent;
  dopts.tools_python = SHM_HARNESS_TOOLS_PYTHON;
  dopts.find_cpythons = SHM_HARNESS_FIND_CPYTHONS;
  dopts.python_specs = pythons;
  dopts.libshm_python_dir = no_module ? "" : libshm_python;
  try {
    if (const char* env = std::getenv("SHM_AGENTS")) {
      std::istringstream entries(env);
      for (std::string e; std::getline(entries, e, ';');) {
        if (e.find_first_not_of(" \t\n") != std::string::npos) {
          dopts.agents.push_back(parse_agent_spec(e, "SHM_AGENTS"));
        }
      }
    }
    for (const auto& a : agent_texts) dopts.agents.push_back(parse_agent_spec(a, "--agent"));
  } catch (const std::exception& e) {
    std::cerr << "shm-harness: " << e.what() << "\n";
    return 2;
  }
  Discovery found = discover(dopts);
  report.implementations = found.implementations;
  std::ostringstream header;  // printed, and searched by --expect-text
  header << "shm-harness: " << found.implementations.size() << " implementations\n";
  std::vector<Subject> subjects;
  for (const auto& impl : found.implementations) {
    Subject subject = subject_of(impl, registry);
    subjects.push_back(subject);
    std::string standing;
    if (impl.is_cpython()) {
      std::string from;
      auto v = Version::parse(impl.version);
      switch (v ? registry.standing_of(*v, &from) : Standing::kNewer) {
        case Standing::kVerified:
          standing = "verified";
          break;
        case Standing::kPredicted:
          standing = "predicted from " + from;
          break;
        case Standing::kNewer:
          standing = "newer than anything known (newest verified: " + from + ")";
          break;
      }
    } else {
      standing = "under test" + (impl.policy.empty() ? "" : ", policy " + impl.policy) +
                 (impl.host.empty() ? "" : ", on CPython " + impl.host);
    }
    report.standing[impl.id] = standing;
    header << "  " << impl.id << "  " << impl.name << " " << impl.version << "  " << standing
           << "  " << impl.executable << "  (" << impl.found_via;
    for (const char* notable : {"numpy", "track-option", "other-user"}) {
      if (impl.capabilities.count(notable) != 0) header << ", " << notable;
    }
    header << ")\n";
  }
  for (const auto& n : found.notes) header << "  note: " << n << "\n";
  std::cout << header.str() << std::flush;
  if (!no_cpp && std::none_of(found.implementations.begin(), found.implementations.end(),
                              [](const Implementation& i) { return i.id == "cpp"; })) {
    report.problems.push_back("the C++ agent is missing or does not answer: " + cpp_agent);
  }
  if (found.implementations.empty()) {
    std::cerr << "shm-harness: no implementation found\n";
    return 2;
  }

  std::vector<Cell> bound = bind_cells(scenarios, found.implementations);
  bool filtered = !only.empty() || !pythons.empty() || no_cpp;
  std::vector<Cell> cells;
  std::set<std::string> with_cells;
  for (auto& c : bound) {
    with_cells.insert(c.scenario->id);
    if (!selected(only, c)) continue;
    if (!c.scenario->skip.empty()) {
      report.skipped.push_back(c.id + ": " + c.scenario->skip);
      continue;
    }
    cells.push_back(std::move(c));
  }
  for (const auto& s : scenarios) {
    if (with_cells.count(s.id) != 0) continue;
    std::string why = "scenario " + s.id +
                      " has no cell: no implementation found has the capabilities its roles "
                      "require";
    if (filtered) {
      std::cout << "note: " << why << " (in this filtered run)\n";
    } else {
      report.problems.push_back(why);
    }
  }
  if (!only.empty() && cells.empty()) {
    report.problems.push_back("--only selects no cell");
  }
  std::set<std::string> keys;
  for (const auto& s : scenarios) {
    for (const Step* st : all_steps(s)) keys.insert(step_key(s, *st));
  }
  if (list_only) {
    for (const auto& c : cells) std::cout << c.id << "\n";
    std::cout << cells.size() << " cells\n";
    return 0;
  }
  // Cells with fresh agents (process exits, tracker waits) are the slowest: start them first.
  std::stable_sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
    return a.scenario->slow && !b.scenario->slow;
  });

  RunSettings settings;
  settings.token = random_token();
  settings.step_timeout_ms = timeout_ms;
  settings.strict_versions = strict_versions;
  std::vector<CellResult> results(cells.size());
  {
    AgentPool pool(found.implementations, std::move(found.warm_agents));
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> done{0};
    std::atomic<int> failures{0};
    std::mutex print_mutex;
    const bool tty = ::isatty(1) != 0;
    auto worker = [&] {
      for (std::size_t i = next++; i < cells.size(); i = next++) {
        results[i] = run_cell(cells[i], pool, registry, settings);
        std::size_t n = ++done;
        if (results[i].status == Status::kFail) ++failures;
        std::lock_guard lock(print_mutex);
        if (verbose || results[i].status == Status::kFail) {
          const char* word = results[i].status == Status::kPass    ? "pass "
                             : results[i].status == Status::kQuirk ? "quirk"
                             : results[i].status == Status::kNew   ? "NEW  "
                                                                   : "FAIL ";
          std::cout << (tty ? "\r\033[K" : "") << word << " " << cells[i].id << "\n";
        }
        if (tty) {
          std::cout << "\r\033[K[" << n << "/" << cells.size() << "] " << (100 * n / cells.size())
                    << "%  failed " << failures.load() << std::flush;
        }
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < jobs; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    if (tty) std::cout << "\r\033[K" << std::flush;
    for (auto& complaint : pool.shutdown()) report.problems.push_back(std::move(complaint));
  }

  // Anything of this run still in /dev/shm is a leak (trackers get a moment to finish).
  const std::string prefix = "hx" + settings.token + "_";
  std::vector<std::string> left;
  for (int attempt = 0; attempt < 20; ++attempt) {
    left.clear();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/dev/shm", ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) left.push_back(name);
    }
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const auto& name : left) {
    ::shm_unlink(("/" + name).c_str());
    report.problems.push_back("left in /dev/shm after the run (removed): " + name);
  }

  std::set<std::pair<std::string, std::string>> used;
  for (const auto& r : results) used.insert(r.used.begin(), r.used.end());
  for (auto& p : coverage_problems(registry, used, subjects, keys, filtered)) {
    report.problems.push_back(std::move(p));
  }
  if (filtered) {
    std::cout << "note: a filtered run (--only/--python/--no-cpp): registry entries that no "
                 "cell exercised are not reported\n";
  }

  for (std::size_t i = 0; i < results.size(); ++i) results[i].cell = &cells[i];
  report.results = std::move(results);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ostringstream failures;
  print_news(failures, report);
  print_failures(failures, report);
  // A CPython no run verified, whose every cell met the prediction: say how to record it.
  for (const auto& impl : report.implementations) {
    if (!impl.is_cpython() || subject_of(impl, registry).standing == Standing::kVerified) continue;
    bool all_ok = true, any = false;
    for (const auto& r : report.results) {
      bool plays = std::any_of(r.cell->bound.begin(), r.cell->bound.end(),
                               [&](const Implementation* i) { return i->id == impl.id; });
      if (!plays) continue;
      any = true;
      all_ok = all_ok && (r.status == Status::kPass || r.status == Status::kQuirk);
    }
    if (any && all_ok && !filtered) {
      failures << "\nnote: every cell of " << impl.id
               << " met the registry's prediction; to record " << impl.version
               << " as verified, add it to verified_runs and to the verified "
               << "list of each quirk whose ranges cover it (" << registry.display_path() << ")\n";
    }
  }
  std::cout << failures.str();
  if (!junit.empty()) write_junit(junit, report);
  if (!report_dir.empty()) {
    write_matrix(report_dir, report);
    std::cout << "report: " << report_dir << "/matrix.md, " << report_dir << "/matrix.html\n";
  }
  std::cout << summary_line(report) << " in " << static_cast<int>(report.seconds + 0.5) << " s\n";
  Counts c = count(report);
  const std::string transcript = header.str() + failures.str() + summary_line(report);
  if (expect_fail) {
    if (c.unexpected == 0) {
      std::cout << "CANARY NOT CAUGHT: the run passed, but it must fail\n";
      return 1;
    }
    for (const auto& text : expect_texts) {
      if (failures.str().find(text) == std::string::npos) {
        std::cout << "CANARY FAILED FOR ANOTHER REASON: the report lacks \"" << text << "\"\n";
        return 1;
      }
    }
    std::cout << "canary caught: the run failed, as it must\n";
    return 0;
  }
  for (const auto& text : expect_texts) {
    if (transcript.find(text) == std::string::npos) {
      std::cout << "EXPECTED TEXT MISSING: the report lacks \"" << text << "\"\n";
      return 1;
    }
  }
  return c.unexpected == 0 ? 0 : 1;
}
