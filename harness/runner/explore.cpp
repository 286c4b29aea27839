#include "explore.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "agent_pool.hpp"
#include "cell.hpp"
#include "explore_generator.hpp"
#include "explore_program.hpp"
#include "explore_shrinker.hpp"
#include "explore_writer.hpp"
#include "leak_sweep.hpp"

namespace harness {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kShrinkRuns = 400;                        // candidates one finding may cost
constexpr auto kShrinkTime = std::chrono::seconds(90);  // and time, even past the budget

std::string quote(const std::string& s) {
  if (s.find_first_of(" '\"$\\;&|<>()*?") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The options that decide which implementations a run finds (and so how programs are cast).
std::string discovery_args(const Options& o) {
  std::string args;
  if (o.cpp_agent != SHM_HARNESS_CPP_AGENT) args += " --cpp-agent " + quote(o.cpp_agent);
  if (o.py_agent != SHM_HARNESS_PY_AGENT) args += " --py-agent " + quote(o.py_agent);
  if (o.no_cpp) args += " --no-cpp";
  if (o.no_module) args += " --no-libshm-python";
  for (const auto& p : o.pythons) args += " --python " + quote(p);
  for (const auto& a : o.agent_texts) args += " --agent " + quote(a);
  if (o.registry_path != SHM_HARNESS_REGISTRY) args += " --registry " + quote(o.registry_path);
  return args;
}

// A program run once: its scenario and the cell's result.
struct Run {
  nlohmann::json scenario;  // as rendered
  CellResult result;        // its cell pointer is cleared: the cell is gone
};

std::string outcome_kind(const Outcome& o) {
  switch (o.kind) {
    case Outcome::Kind::kValue:
      return "value";
    case Outcome::Kind::kError:
      return "error " + o.error_kind;
    case Outcome::Kind::kDied:
      return "died";
    case Outcome::Kind::kTimeout:
      return "timeout";
    case Outcome::Kind::kBroken:
      return "broken";
  }
  return "?";
}

std::optional<Signature> signature_of(const CellResult& r) {
  if (r.status != Status::kFail) return std::nullopt;
  for (const auto& s : r.steps) {
    if (!s.skipped && s.verdict.status == Status::kFail) {
      return Signature{s.impl, s.op, outcome_kind(s.outcome)};
    }
  }
  return Signature{"", "", "problem"};
}

// The first failing step of a result, as a line: where, expected, actual.
std::string failure_lines(const CellResult& r) {
  for (const auto& s : r.steps) {
    if (!s.skipped && s.verdict.status == Status::kFail) {
      return "step " + s.label + " (" + s.as + "=" + s.impl + " " + s.op +
             ")\n    expected: " + describe_expect(s.verdict.expected) +
             "\n    actual:   " + describe(s.outcome) + "\n    why:      " + s.verdict.why;
    }
  }
  return r.problems.empty() ? "" : r.problems.front();
}

struct Finding {
  Signature signature;
  std::uint64_t seed = 0;        // the sequence's seed
  std::size_t steps_before = 0;  // steps of the generated scenario
  std::size_t steps_after = 0;   // of the shrunk one
  ShrinkStats shrink;            // what shrinking cost
  std::string failure;           // the shrunk case's failing step
  std::string file;              // where it was written
  std::string replay;            // the command that replays the file
  std::string roles;             // the shrunk cell's casting
  int repeats = 0;               // further sequences that failed the same way
};

class Exploration {
 public:
  Exploration(const Options& o, Discovery& found, const Registry& registry,
              const std::string& argv0)
      : options_(o),
        impls_(found.implementations),
        registry_(registry),
        argv0_(argv0),
        pool_(found.implementations, std::move(found.warm_agents)) {
    settings_.token = random_token();
    settings_.step_timeout_ms = o.timeout_ms;
    settings_.strict_versions = o.strict_versions;
  }

  int run() {
    std::uint64_t run_seed = options_.seed.value_or(0);
    if (!options_.seed)
      run_seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    if (options_.explore_sequence) {
      std::cout << "explore: replaying sequence seed " << *options_.explore_sequence << "\n";
    } else {
      std::cout << "explore: run seed " << run_seed
                << (options_.seed ? ""
                                  : " (random; rerun this exploration with --seed " +
                                        std::to_string(run_seed) + ")")
                << ", " << options_.explore_seconds << " s\n";
    }
    const auto started = Clock::now();
    deadline_ = started +
                std::chrono::milliseconds(static_cast<long long>(options_.explore_seconds * 1000));
    std::atomic<std::uint64_t> next{0};
    auto worker = [&] {
      for (;;) {
        const std::uint64_t index = next++;
        std::uint64_t seed = 0;
        if (options_.explore_sequence) {
          if (index > 0) return;
          seed = *options_.explore_sequence;
        } else {
          if (Clock::now() >= deadline_) return;
          seed = sequence_seed(run_seed, index);
        }
        explore_one(seed);
      }
    };
    std::vector<std::thread> threads;
    const int jobs = options_.explore_sequence ? 1 : options_.jobs;
    for (int t = 0; t < jobs; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    for (auto& complaint : pool_.shutdown()) problems_.push_back(std::move(complaint));
    for (auto& leak : sweep_leftovers(settings_.token)) problems_.push_back(std::move(leak));
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::ostringstream report;
    print_report(report, run_seed, seconds);
    std::cout << report.str();
    if (!options_.report_dir.empty()) {
      std::filesystem::create_directories(options_.report_dir);
      std::ofstream md(options_.report_dir + "/explore.md");
      md << "# shm-harness --explore\n\n```\n" << report.str() << "```\n";
      std::cout << "report: " << options_.report_dir << "/explore.md\n";
    }
    return findings_.empty() && problems_.empty() ? 0 : 1;
  }

 private:
  // Renders, parses and runs `program` as one cell.
  std::optional<Run> execute(const Program& program, const std::string& id,
                             const std::string& description) {
    std::optional<nlohmann::json> json = render(program, id, description);
    if (!json) return std::nullopt;
    Scenario scenario = parse_scenario(*json, id);
    Cell cell{&scenario, program.roles, cell_id(scenario, program.roles)};
    Run run{*json, run_cell(cell, pool_, registry_, settings_)};
    run.result.cell = nullptr;
    return run;
  }

  void explore_one(std::uint64_t seed) {
    const Program program = generate(seed, impls_);
    const std::string id = finding_id(seed);
    std::optional<Run> run;
    try {
      run = execute(program, id, "generated");
    } catch (const std::exception& e) {  // a program the parser refuses: the generator's bug
      std::lock_guard lock(mutex_);
      problems_.push_back("sequence " + std::to_string(seed) + ": " + e.what());
      return;
    }
    if (!run) return;
    record(program, run->result);
    std::optional<Signature> signature = signature_of(run->result);
    if (!signature) return;
    {
      std::lock_guard lock(mutex_);
      for (auto& f : findings_) {
        if (f.signature == *signature) {
          ++f.repeats;
          return;
        }
      }
      if (!shrinking_.insert(signature->text()).second) return;  // another thread has it
    }
    std::cout << "explore: sequence " << seed << " failed (" << signature->text()
              << "); shrinking\n"
              << std::flush;
    report_finding(program, *signature, step_count(run->scenario));
  }

  void report_finding(const Program& program, const Signature& signature, std::size_t steps) {
    Finding f;
    f.signature = signature;
    f.seed = program.seed;
    f.steps_before = steps;
    const Attempt attempt = [&](const Program& candidate) -> std::optional<Signature> {
      try {
        auto run = execute(candidate, "explore/candidate", "candidate");
        return run ? signature_of(run->result) : std::nullopt;
      } catch (const std::exception&) {
        return std::nullopt;
      }
    };
    const Program minimal =
        shrink(program, signature, attempt, kShrinkRuns, Clock::now() + kShrinkTime, &f.shrink);
    const std::string id = finding_id(program.seed);
    const std::string out = options_.explore_out;
    std::vector<std::string> verified;
    for (const auto& v : registry_.verified_runs()) verified.push_back(v.str());
    std::string replay_registry;
    try {
      replay_registry = write_replay_registry(out, verified);
    } catch (const std::exception& e) {
      replay_registry = std::string("(not written: ") + e.what() + ")";
    }
    Options replay = options_;
    replay.registry_path = SHM_HARNESS_REGISTRY;  // replaced by the replay registry
    f.replay = argv0_ + " --scenarios " + quote(out + "/scenarios") + " --registry " +
               quote(replay_registry) + discovery_args(replay) + " --only " + id;
    const std::string regenerate = argv0_ + discovery_args(options_) + " --explore-sequence " +
                                   std::to_string(program.seed) + " --explore-out " + quote(out);
    std::optional<Run> last;
    try {
      last = execute(minimal, id, "shrunk");
    } catch (const std::exception&) {
    }
    f.failure = last ? failure_lines(last->result) : "(the shrunk case no longer ran)";
    for (std::size_t r = 0; r < minimal.roles.size(); ++r) {
      f.roles += (r ? "," : "") + role_name(static_cast<int>(r)) + "=" + minimal.roles[r]->id;
    }
    const std::string description =
        "Found by shm-harness --explore: " + signature.text() + " in [" + f.roles +
        "] where the model expects otherwise (sequence seed " + std::to_string(program.seed) +
        ", shrunk from " + std::to_string(f.steps_before) + " steps). Replay: " + f.replay +
        ". Regenerate and shrink again: " + regenerate +
        ". To keep it as a fixed scenario, move the file to scenarios/explore/ and judge the "
        "registry edit it prints.";
    std::optional<nlohmann::json> json = render(minimal, id, description);
    if (json) {
      f.steps_after = step_count(*json);
      try {
        f.file = write_finding(out, *json);
      } catch (const std::exception& e) {
        f.file = std::string("(not written: ") + e.what() + ")";
      }
    }
    std::lock_guard lock(mutex_);
    findings_.push_back(std::move(f));
  }

  void record(const Program& program, const CellResult& r) {
    std::lock_guard lock(mutex_);
    ++sequences_;
    ++statuses_[r.status];
    std::set<std::string> cast;
    for (const auto* impl : program.roles) cast.insert(impl->id);
    for (const auto& id : cast) ++implementations_[id];
    for (const auto& s : r.steps) {
      if (s.skipped) continue;
      ++operations_[s.op];
      ++steps_;
      if (s.verdict.status == Status::kQuirk) ++quirks_[s.verdict.quirk];
    }
  }

  void print_report(std::ostream& out, std::uint64_t run_seed, double seconds) {
    for (std::size_t i = 0; i < findings_.size(); ++i) {
      const Finding& f = findings_[i];
      out << "\nEXPLORE FINDING " << i + 1 << ": " << f.signature.text() << " [" << f.roles
          << "]\n  sequence seed " << f.seed << ", " << f.steps_before << " steps, shrunk to "
          << f.steps_after << " in " << f.shrink.runs << " runs (" << f.shrink.accepted
          << " accepted)";
      if (f.repeats > 0) out << "; " << f.repeats << " more sequences failed the same way";
      out << "\n  " << f.failure << "\n  scenario: " << f.file << "\n  replay:   " << f.replay
          << "\n";
    }
    for (const auto& p : problems_) out << "\nPROBLEM " << p << "\n";
    out << "\nexplore: " << sequences_ << " sequences, " << steps_ << " operations in "
        << static_cast<int>(seconds + 0.5) << " s (run seed " << run_seed << ")\n";
    out << "  operations:";
    for (const auto& [op, n] : operations_) out << " " << op << " " << n << ",";
    out << "\n  implementations (sequences):";
    for (const auto& impl : impls_) {
      auto it = implementations_.find(impl.id);
      out << " " << impl.id << " " << (it == implementations_.end() ? 0 : it->second) << ",";
    }
    out << "\n  cells: " << statuses_[Status::kPass] << " passed, " << statuses_[Status::kQuirk]
        << " expected-quirk, " << statuses_[Status::kNew] << " new-cpython-behaviour, "
        << statuses_[Status::kFail] << " unexpected\n  registry quirks hit:";
    if (quirks_.empty()) out << " none (the generators stay where no quirk is registered)";
    for (const auto& [q, n] : quirks_) out << " " << q << " " << n << ",";
    out << "\n"
        << (findings_.empty() && problems_.empty() ? "EXPLORE PASSED" : "EXPLORE FAILED") << ": "
        << findings_.size() << " findings, " << problems_.size() << " problems\n";
  }

  const Options& options_;
  const std::vector<Implementation>& impls_;
  const Registry& registry_;
  const std::string argv0_;
  AgentPool pool_;
  RunSettings settings_;
  Clock::time_point deadline_;
  std::mutex mutex_;  // guards what follows
  std::vector<Finding> findings_;
  std::set<std::string> shrinking_;
  std::vector<std::string> problems_;
  std::uint64_t sequences_ = 0, steps_ = 0;
  std::map<Status, int> statuses_;
  std::map<std::string, int> operations_, implementations_, quirks_;
};

}  // namespace

int run_exploration(const Options& options, Discovery& found, const Registry& registry,
                    const std::string& argv0) {
  return Exploration(options, found, registry, argv0).run();
}

}  // namespace harness
