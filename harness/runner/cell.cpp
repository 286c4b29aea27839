#include "cell.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "error_kinds.hpp"

namespace harness {

namespace {

constexpr auto kResetTimeout = std::chrono::seconds(20);
constexpr auto kExitTimeout = std::chrono::seconds(20);
constexpr std::size_t kStderrTail = 4000;

bool shm_exists(const std::string& name) {
  return ::access(("/dev/shm/" + name).c_str(), F_OK) == 0;
}

bool shm_remove(const std::string& name) {
  return ::shm_unlink(("/" + name).c_str()) == 0;
}

Outcome outcome_of(const Reply& reply, const Agent& agent, std::size_t mark,
                   const std::string& op) {
  Outcome o;
  switch (reply.status) {
    case Reply::Status::kOk: {
      const auto& r = reply.response;
      if (r.value("ok", false)) {
        o.kind = Outcome::Kind::kValue;
        o.value = r.contains("value") ? r["value"] : nlohmann::json();
      } else {
        const nlohmann::json e = r.value("error", nlohmann::json::object());
        o.kind = Outcome::Kind::kError;
        o.error_kind = error_kind(e, op);
        o.error_type = e.value("type", "");
        o.message = e.value("message", "");
      }
      return o;
    }
    case Reply::Status::kTimeout:
      o.kind = Outcome::Kind::kTimeout;
      break;
    case Reply::Status::kDied:
      o.kind = Outcome::Kind::kDied;
      break;
    case Reply::Status::kGarbage:
      o.kind = Outcome::Kind::kBroken;
      break;
  }
  o.message = reply.detail;
  std::string err = agent.stderr_since(mark);
  if (!err.empty()) o.message += "; stderr: " + abbreviate(err, 500);
  return o;
}

// Bytes of the strings in `value` (enough to tell whether it is worth keeping whole).
std::size_t text_size(const nlohmann::json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().size();
  std::size_t n = 8;
  if (value.is_structured()) {
    for (const auto& v : value) n += text_size(v);
  }
  return n;
}

// What a record keeps of a request: itself, or an abbreviation if it is big.
nlohmann::json for_record(const nlohmann::json& request) {
  if (text_size(request) <= 4096) return request;
  std::string text = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return abbreviate(text, 600);
}

struct RoleAgent {
  const Role* role = nullptr;            // the role
  const Implementation* impl = nullptr;  // who plays it
  std::unique_ptr<Agent> agent;          // its agent (null if it could not be started)
  std::size_t mark = 0;                  // stderr mark at the start of the cell
};

class CellRun {
 public:
  CellRun(const Cell& cell, AgentPool& pool, const Registry& registry, RunSettings& settings)
      : cell_(cell), pool_(pool), registry_(registry), settings_(settings) {
    result_.cell = &cell;
  }

  CellResult run() {
    auto started = std::chrono::steady_clock::now();
    const Scenario& s = *cell_.scenario;
    // Zero-padded, so that every cell's names have the same length: a candidate's cell and its
    // twin then pickle to the same bytes but for the names (candidate.cpp compares them).
    std::string number = std::to_string(settings_.next_number++);
    if (number.size() < 5) number.insert(0, 5 - number.size(), '0');
    for (const auto& b : s.blocks) {
      names_[b] = "hx" + settings_.token + "_" + number + "_" + b;
    }
    result_.names = names_;
    vars_ = names_;
    for (const auto* impl : cell_.bound) {
      if (!impl->is_cpython()) under_test_ = subject_of(*impl, registry_);
    }
    bool ready = start_agents();
    vars_["layout"] = common_layout();
    bool stop = !ready;
    for (const auto& step : s.steps) {
      if (stop) {
        skip(step);
        continue;
      }
      if (step.parallel.empty()) {
        run_step(step);
      } else {
        run_parallel(step);
      }
      stop = failed_;
    }
    clean_up();
    if (hard_failure_ || !result_.problems.empty()) {
      result_.status = Status::kFail;
    } else if (news_) {
      result_.status = Status::kNew;
    } else if (!result_.quirks.empty()) {
      result_.status = Status::kQuirk;
    }
    result_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(result_);
  }

 private:
  bool start_agents() {
    const Scenario& s = *cell_.scenario;
    for (std::size_t i = 0; i < s.roles.size(); ++i) {
      RoleAgent ra;
      ra.role = &s.roles[i];
      ra.impl = cell_.bound[i];
      std::string error;
      ra.agent = ra.role->fresh ? pool_.spawn_fresh(as_role(*ra.impl, *ra.role), &error)
                                : pool_.acquire(*ra.impl, &error);
      if (!ra.agent) {
        result_.problems.push_back("cannot start an agent for " + ra.impl->id + ": " + error);
        roles_[ra.role->name] = std::move(ra);
        return false;
      }
      ra.mark = ra.agent->stderr_mark();
      roles_[ra.role->name] = std::move(ra);
    }
    return true;
  }

  // "$layout": the list layout every role of the cell can write and read ("3.8" when one of
  // them is CPython 3.8, else "3.9"), so that generic list scenarios include 3.8.
  std::string common_layout() const {
    bool v38 = true, v39 = true;
    for (const auto& [name, ra] : roles_) {
      v38 = v38 && ra.impl->capabilities.count("layout-3.8") != 0;
      v39 = v39 && ra.impl->capabilities.count("layout-3.9") != 0;
    }
    return v39 ? "3.9" : v38 ? "3.8" : "none";
  }

  // How to start `impl` for `role`: through setpriv for a role played by another user.
  static Implementation as_role(const Implementation& impl, const Role& role) {
    Implementation out = impl;
    if (role.other_user) {
      out.argv = other_user_prefix();
      out.argv.insert(out.argv.end(), impl.argv.begin(), impl.argv.end());
    }
    return out;
  }

  void skip(const Step& step) {
    if (!step.parallel.empty()) {
      for (const auto& p : step.parallel) skip(p);
      return;
    }
    StepRecord rec;
    rec.label = step.label;
    rec.as = step.as;
    rec.op = step.op;
    rec.skipped = true;
    result_.steps.push_back(std::move(rec));
  }

  // Whose behaviour a step shows: its quirk role's implementation (the runner's own steps
  // are nobody's: no quirk applies to them).
  Subject subject_for(const std::string& role) const {
    auto it = roles_.find(role);
    if (it == roles_.end()) return Subject{"runner", false, {}, {"runner"}, Standing::kVerified};
    return subject_of(*it->second.impl, registry_);
  }

  // Starts a step: checks only_if, expands the arguments. False if the step is not to run.
  bool prepare(const Step& step, StepRecord& rec, nlohmann::json& request) {
    rec.label = step.label;
    rec.as = step.as;
    rec.op = step.op;
    auto r = roles_.find(step.as);
    rec.impl = r == roles_.end() ? "runner" : r->second.impl->id;
    if (!step.only_if.empty() && !ok_labels_.count(step.only_if)) {
      rec.skipped = true;
      return false;
    }
    try {
      request = expand(step.args, vars_);
    } catch (const std::exception& e) {
      rec.outcome.kind = Outcome::Kind::kBroken;
      rec.outcome.message = std::string("cannot expand the arguments: ") + e.what();
      return false;
    }
    rec.request = for_record(request);
    request["op"] = step.op;
    return true;
  }

  void finish(const Step& step, StepRecord& rec) {
    if (rec.skipped) {
      result_.steps.push_back(std::move(rec));
      return;
    }
    const std::string key = step_key(*cell_.scenario, step);
    const Subject subject = subject_for(step.quirk_role);
    nlohmann::json base;
    try {
      base = expand(step.expect, vars_);
    } catch (const std::exception& e) {
      rec.outcome.kind = Outcome::Kind::kBroken;
      rec.outcome.message = std::string("cannot expand the expectation: ") + e.what();
    }
    rec.verdict = judge(registry_, key, subject, under_test_ ? &*under_test_ : nullptr, base,
                        rec.outcome, vars_, names_, settings_.strict_versions);
    if (rec.verdict.status == Status::kQuirk) {
      result_.quirks.insert(rec.verdict.quirk);
    }
    if (rec.verdict.predicted) result_.predicted = true;
    if (!rec.verdict.quirk_of.empty())
      result_.used.insert({rec.verdict.quirk, rec.verdict.quirk_of});
    // New behaviour stops the cell as a failure does (later steps build on this one).
    if (rec.verdict.status == Status::kFail) hard_failure_ = failed_ = true;
    if (rec.verdict.status == Status::kNew) news_ = failed_ = true;
    if (rec.outcome.kind == Outcome::Kind::kValue) {
      ok_labels_.insert(step.label);
      if (!step.save.empty()) vars_[step.save] = rec.outcome.value;
      if (rec.outcome.value.is_object()) {
        const auto& v = rec.outcome.value;
        if (v.contains("name") && v["name"].is_string())
          created_.insert(v["name"].get<std::string>());
        // A synchronisation object's semaphores: /dev/shm/sem.<name> (sync.create).
        if (v.contains("files") && v["files"].is_array()) {
          for (const auto& f : v["files"]) {
            if (f.is_string()) created_.insert(f.get<std::string>());
          }
        }
      }
    }
    result_.steps.push_back(std::move(rec));
  }

  std::chrono::milliseconds timeout(const Step& step) const {
    return std::chrono::milliseconds(step.timeout_ms > 0 ? step.timeout_ms
                                                         : settings_.step_timeout_ms);
  }

  void run_step(const Step& step) {
    StepRecord rec;
    nlohmann::json request;
    if (prepare(step, rec, request)) {
      if (step.as == "runner") {
        rec.outcome = runner_op(step, request);
      } else {
        RoleAgent& ra = roles_.at(step.as);
        if (!ra.agent || !ra.agent->usable()) {
          rec.outcome.kind = Outcome::Kind::kBroken;
          rec.outcome.message = "the agent of role " + step.as + " is gone";
        } else {
          Reply reply = ra.agent->request(request, timeout(step));
          if (step.op == "exit" || step.op == "kill") ra.agent->retire();
          rec.outcome = outcome_of(reply, *ra.agent, ra.mark, step.op);
        }
      }
    }
    finish(step, rec);
  }

  void run_parallel(const Step& group) {
    std::vector<StepRecord> recs(group.parallel.size());
    std::vector<bool> sent(group.parallel.size(), false);
    for (std::size_t i = 0; i < group.parallel.size(); ++i) {
      const Step& step = group.parallel[i];
      nlohmann::json request;
      if (!prepare(step, recs[i], request)) continue;
      RoleAgent& ra = roles_.at(step.as);
      std::string error;
      if (!ra.agent || !ra.agent->usable() || !ra.agent->send(request, &error)) {
        recs[i].outcome.kind = Outcome::Kind::kBroken;
        recs[i].outcome.message = "cannot send to role " + step.as + ": " + error;
        continue;
      }
      sent[i] = true;
    }
    for (std::size_t i = 0; i < group.parallel.size(); ++i) {
      const Step& step = group.parallel[i];
      if (sent[i]) {
        RoleAgent& ra = roles_.at(step.as);
        recs[i].outcome = outcome_of(ra.agent->receive(timeout(step)), *ra.agent, ra.mark, step.op);
      }
      finish(step, recs[i]);
    }
    ok_labels_.insert(group.label);
  }

  Outcome runner_op(const Step& step, const nlohmann::json& args) {
    Outcome o;
    try {
      if (step.op == "shm.exists") {
        o.value = shm_exists(args.at("name").get<std::string>());
      } else if (step.op == "shm.unlink") {
        o.value = shm_remove(args.at("name").get<std::string>());
      } else if (step.op == "sleep") {
        std::this_thread::sleep_for(std::chrono::milliseconds(args.value("ms", 100)));
        o.value = nullptr;
      } else if (step.op == "agent.wait" || step.op == "agent.stderr") {
        RoleAgent& ra = roles_.at(args.at("role").get<std::string>());
        if (!ra.agent) throw std::runtime_error("role has no agent");
        if (step.op == "agent.stderr") {
          o.value = ra.agent->stderr_since(ra.mark);
        } else {
          ra.agent->close_input();
          ExitInfo info = ra.agent->wait_exit(timeout(step));
          if (!info.exited) {
            o.kind = Outcome::Kind::kTimeout;
            o.message = "the agent (or its resource tracker) did not finish";
            return o;
          }
          o.value = {{"exited", true}, {"code", info.code}, {"signal", info.signal}};
        }
      }
    } catch (const std::exception& e) {
      o.kind = Outcome::Kind::kBroken;
      o.message = std::string("runner op failed: ") + e.what();
    }
    return o;
  }

  void clean_up() {
    for (auto& [name, ra] : roles_) {
      if (!ra.agent) continue;
      if (ra.agent->usable()) {
        Reply reply = ra.agent->request({{"op", "reset"}}, kResetTimeout);
        if (reply.status != Reply::Status::kOk || !reply.response.value("ok", false)) {
          result_.problems.push_back("reset of role " + name + " (" + ra.impl->id + ") failed: " +
                                     describe(outcome_of(reply, *ra.agent, ra.mark, "reset")));
          ra.agent->kill();
        }
      }
      if (ra.role->fresh || !ra.agent->usable()) {
        // Wait for it (and its tracker) to finish: their cleanup must precede the leak check.
        ra.agent->close_input();
        ra.agent->wait_exit(kExitTimeout);
      }
      result_.stderr_tails[name] = abbreviate_tail(ra.agent->stderr_since(ra.mark));
      if (ra.role->fresh) {
        ra.agent.reset();
      } else {
        pool_.release(std::move(ra.agent));
      }
    }
    std::set<std::string> all = created_;
    for (const auto& [var, name] : names_) all.insert(name.get<std::string>());
    for (const auto& name : all) {
      if (shm_exists(name)) {
        shm_remove(name);
        // After a failed step the rest of the scenario (its unlinks) did not run.
        if (!failed_) {
          result_.problems.push_back("the cell left /dev/shm/" + name +
                                     " behind (removed by the runner)");
        }
      }
    }
  }

  static std::string abbreviate_tail(const std::string& text) {
    if (text.size() <= kStderrTail) return text;
    return "…" + text.substr(text.size() - kStderrTail);
  }

  const Cell& cell_;                        // what runs
  AgentPool& pool_;                         // where agents come from
  const Registry& registry_;                // quirks
  RunSettings& settings_;                   // run-wide settings
  CellResult result_;                       // being built
  Vars names_;                              // block-name variables
  Vars vars_;                               // names + saved values
  std::map<std::string, RoleAgent> roles_;  // by role name
  std::set<std::string> created_;           // names reported by create/attach steps
  std::set<std::string> ok_labels_;         // steps that succeeded
  bool failed_ = false;                     // a step failed (or showed new behaviour)
  std::optional<Subject> under_test_;       // the cell's implementation under test, if any
  bool hard_failure_ = false;               // a step failed
  bool news_ = false;                       // a step showed new CPython behaviour
};

}  // namespace

Subject subject_of(const Implementation& impl, const Registry& registry) {
  Subject s;
  if (impl.kind == "cpython") {
    s.cpython = true;
    s.label = impl.version;
    if (auto v = Version::parse(impl.version)) {
      s.version = *v;
      s.standing = registry.standing_of(*v, nullptr);
    } else {
      s.standing = Standing::kNewer;  // an unparsable version is nothing the registry knows
    }
    return s;
  }
  s.label = impl.id;
  s.keys.push_back(impl.id);
  if (!impl.policy.empty() && impl.policy != impl.id) s.keys.push_back(impl.policy);
  return s;
}

CellResult run_cell(const Cell& cell, AgentPool& pool, const Registry& registry,
                    RunSettings& settings) {
  return CellRun(cell, pool, registry, settings).run();
}

}  // namespace harness
