#include "registry.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace harness {

bool Quirk::covers(const Version& v) const {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const VersionRange& r) { return r.contains(v); });
}

bool Quirk::open_ended() const {
  return std::any_of(ranges.begin(), ranges.end(),
                     [](const VersionRange& r) { return !r.until.has_value(); });
}

namespace {

Version parse_version(const std::string& where, const nlohmann::json& j) {
  if (!j.is_string()) throw std::runtime_error(where + ": a version must be a string");
  auto v = Version::parse(j.get<std::string>());
  if (!v) throw std::runtime_error(where + ": not a CPython version: " + j.dump());
  return *v;
}

std::optional<Version> parse_bound(const std::string& where, const nlohmann::json& range,
                                   const char* member) {
  if (!range.contains(member) || range[member].is_null()) return std::nullopt;
  return parse_version(where + "." + member, range[member]);
}

VersionRange parse_range(const std::string& where, const nlohmann::json& r) {
  if (!r.is_object()) throw std::runtime_error(where + ": a range is {\"since\", \"until\"}");
  VersionRange range{parse_bound(where, r, "since"), parse_bound(where, r, "until")};
  if (range.since && range.until && !(*range.since < *range.until)) {
    throw std::runtime_error(where + ": an empty range (since must come before until)");
  }
  return range;
}

std::vector<std::string> strings(const std::string& where, const nlohmann::json& q,
                                 const char* member) {
  std::vector<std::string> out;
  if (!q.contains(member)) return out;
  if (!q[member].is_array()) throw std::runtime_error(where + "." + member + ": needs a list");
  for (const auto& s : q[member]) {
    if (!s.is_string()) throw std::runtime_error(where + "." + member + ": needs strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

Registry Registry::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  Registry r;
  r.path_ = path;
  if (!j.is_object() || !j.contains("quirks") || !j["quirks"].is_object()) {
    throw std::runtime_error(path + ": needs an object member \"quirks\"");
  }
  if (j.value("schema", 0) != 2) {
    throw std::runtime_error(path + ": schema " + j.value("schema", nlohmann::json()).dump() +
                             " is not 2 (harness/PROTOCOL.md §3)");
  }
  for (const auto& v : strings(path, j, "verified_runs")) {
    r.verified_runs_.push_back(parse_version(path + ": verified_runs", v));
  }
  std::sort(r.verified_runs_.begin(), r.verified_runs_.end());
  for (const auto& [name, q] : j["quirks"].items()) {
    const std::string where = path + ": quirks[\"" + name + "\"]";
    if (!q.is_object()) throw std::runtime_error(where + ": needs an object");
    Quirk quirk;
    quirk.name = name;
    quirk.summary = q.value("summary", "");
    quirk.upstream = q.value("upstream", "");
    if (q.contains("since") || q.contains("until")) quirk.ranges.push_back(parse_range(where, q));
    if (q.contains("ranges")) {
      if (!q["ranges"].is_array()) throw std::runtime_error(where + ".ranges: needs a list");
      for (const auto& range : q["ranges"]) quirk.ranges.push_back(parse_range(where, range));
    }
    for (const auto& v : strings(where, q, "verified")) {
      Version version = parse_version(where + ".verified", v);
      if (!quirk.covers(version)) {
        throw std::runtime_error(where + ": verified version " + v + " is outside its ranges");
      }
      if (!std::binary_search(r.verified_runs_.begin(), r.verified_runs_.end(), version)) {
        throw std::runtime_error(where + ": verified version " + v +
                                 " is not in verified_runs (add the run, or remove it here)");
      }
      quirk.verified.insert(version.str());
    }
    for (const auto& id : strings(where, q, "implementations")) quirk.implementations.insert(id);
    const nlohmann::json outcomes = q.value("outcomes", nlohmann::json::object());
    for (const auto& [key, e] : outcomes.items()) quirk.outcomes[key] = e;
    if (quirk.summary.empty()) throw std::runtime_error(where + ": has no summary");
    if ((quirk.ranges.empty() && quirk.implementations.empty()) || quirk.outcomes.empty()) {
      throw std::runtime_error(where + ": needs ranges or implementations, and outcomes");
    }
    if (q.contains("versions")) {
      throw std::runtime_error(where + ": \"versions\" is schema 1; use ranges and verified");
    }
    // A verified run settles the question for its version: the ranges must say the same
    // ("verified" entries are inside the ranges: checked above).
    for (const auto& v : r.verified_runs_) {
      if (quirk.covers(v) && quirk.verified.count(v.str()) == 0) {
        throw std::runtime_error(where + ": its ranges include " + v.str() +
                                 ", a verified run, but \"verified\" does not list it");
      }
    }
    r.quirks_[name] = std::move(quirk);
  }
  return r;
}

std::string Registry::display_path() const {
  auto at = path_.find("compat/");
  return at == std::string::npos ? path_ : path_.substr(at);
}

bool Registry::applies(const Quirk& quirk, const Subject& subject) {
  if (subject.cpython) return quirk.covers(subject.version);
  return std::any_of(subject.keys.begin(), subject.keys.end(),
                     [&](const std::string& k) { return quirk.implementations.count(k) != 0; });
}

std::vector<const Quirk*> Registry::applicable(const std::string& key, const Subject& subject,
                                               const Subject* under_test) const {
  std::vector<const Quirk*> out;
  for (const auto& [name, q] : quirks_) {
    if (q.outcomes.count(key) == 0) continue;
    if (applies(q, subject) || (under_test != nullptr && applies(q, *under_test))) {
      out.push_back(&q);
    }
  }
  return out;
}

std::vector<const Quirk*> Registry::for_step(const std::string& key) const {
  std::vector<const Quirk*> out;
  for (const auto& [name, q] : quirks_) {
    if (q.outcomes.count(key) != 0) out.push_back(&q);
  }
  return out;
}

Standing Registry::standing_of(const Version& v, std::string* from) const {
  if (std::binary_search(verified_runs_.begin(), verified_runs_.end(), v)) {
    if (from != nullptr) *from = v.str();
    return Standing::kVerified;
  }
  if (verified_runs_.empty() || verified_runs_.back().major < v.major ||
      (verified_runs_.back().major == v.major && verified_runs_.back().minor < v.minor)) {
    if (from != nullptr) *from = verified_runs_.empty() ? "" : verified_runs_.back().str();
    return Standing::kNewer;
  }
  if (from != nullptr) {
    // The nearest verified release of the same minor (the newest not after v, else the oldest
    // after it), else the newest older one.
    const Version* best = nullptr;
    for (const auto& r : verified_runs_) {
      if (r.same_minor(v) && (r <= v || best == nullptr)) best = &r;  // sorted: ascending
    }
    if (best == nullptr) {
      for (const auto& r : verified_runs_) {
        if (r < v) best = &r;
      }
    }
    *from = (best == nullptr ? verified_runs_.front() : *best).str();
  }
  return Standing::kPredicted;
}

namespace {

std::string quirk_ref(const std::string& file, const std::string& name) {
  return file + ": quirks[\"" + name + "\"]";
}

// The key of `s` that `q` lists (its id, else its policy).
std::string listed_key(const Quirk& q, const Subject& s) {
  for (const auto& k : s.keys) {
    if (q.implementations.count(k) != 0) return k;
  }
  return s.keys.empty() ? s.label : s.keys.front();
}

// The edit that stops `quirk` being expected of `subject`.
std::string removal_edit(const std::string& file, const Quirk& q, const Subject& s) {
  if (!s.cpython) {
    return quirk_ref(file, q.name) + ".implementations: remove \"" + listed_key(q, s) + "\"";
  }
  if (s.standing == Standing::kVerified) {
    return quirk_ref(file, q.name) + ": remove \"" + s.label +
           "\" from verified and end or split its range so that it excludes " + s.label;
  }
  return quirk_ref(file, q.name) + ": its range covers " + s.label +
         ", which does not show it: end the range at the first release without it (<= " + s.label +
         "), with the upstream change as evidence";
}

// The edit that makes `quirk` expected of `subject` too.
std::string addition_edit(const std::string& file, const Quirk& q, const Subject& s) {
  if (!s.cpython) {
    return quirk_ref(file, q.name) + ".implementations: add \"" + s.keys.front() + "\"";
  }
  return quirk_ref(file, q.name) + ": extend its ranges to cover " + s.label +
         (s.standing == Standing::kVerified ? " and add it to verified" : "") +
         ", with the upstream change as evidence";
}

nlohmann::json new_entry(const Subject& s, const std::string& key, const nlohmann::json& seen) {
  nlohmann::json entry = {{"summary", "TODO: what " + s.label + " does here"}};
  if (s.cpython) {
    entry["upstream"] = "";
    entry["ranges"] = {{{"since", s.label}, {"until", nullptr}}};
    if (s.standing == Standing::kVerified) entry["verified"] = {s.label};
    entry["evidence"] = "TODO: the CPython change and its first release";
  } else {
    entry["implementations"] = {s.keys.front()};
  }
  entry["outcomes"] = {{key, seen}};
  return entry;
}

}  // namespace

Verdict judge(const Registry& registry, const std::string& key, const Subject& subject,
              const Subject* under_test, const nlohmann::json& base, const Outcome& outcome,
              const Vars& vars, const Vars& names, bool strict_versions) {
  Verdict v;
  v.predicted = subject.cpython && subject.standing != Standing::kVerified;
  const std::string file = registry.display_path();
  // A newer CPython doing something the registry does not predict is news, not a failure;
  // an implementation under test (or a known CPython) doing so is a failure.
  auto fail = [&](Verdict& verdict) {
    bool news = subject.cpython && subject.standing == Standing::kNewer && !strict_versions &&
                outcome.kind != Outcome::Kind::kBroken;
    verdict.status = news ? Status::kNew : Status::kFail;
    if (news) verdict.why = "new CPython behaviour in " + subject.label + ": " + verdict.why;
    return verdict;
  };
  auto quirk_expect = [&](const Quirk* q) { return expand(q->outcomes.at(key), vars); };
  auto applicable = registry.applicable(key, subject, under_test);
  // Whose quirk it is: the step's subject's if it has it, else the implementation under test's.
  auto owner = [&](const Quirk* q) {
    return Registry::applies(*q, subject) || under_test == nullptr ? subject : *under_test;
  };
  if (!applicable.empty()) {
    std::string reasons;
    for (const Quirk* q : applicable) {
      std::string why;
      nlohmann::json e = quirk_expect(q);
      if (matches(e, outcome, &why)) {
        v.status = Status::kQuirk;
        v.quirk = q->name;
        v.quirk_of = owner(q).label;
        v.expected = e;
        return v;
      }
      reasons += (reasons.empty() ? "" : "; ") + q->name + ": " + why;
    }
    v.quirk = applicable.front()->name;
    v.quirk_of = owner(applicable.front()).label;
    v.expected = quirk_expect(applicable.front());
    std::string why;
    if (matches(base, outcome, &why)) {
      v.why = "quirk " + v.quirk + " is " +
              (v.predicted ? "predicted" : std::string("registered")) + " for " + subject.label +
              " but did not show: the scenario's own expectation held";
      v.edit = removal_edit(file, *applicable.front(), owner(applicable.front()));
    } else {
      v.why = "quirk outcome not met (" + reasons + ")";
      v.edit = quirk_ref(file, v.quirk) + ".outcomes[\"" + key +
               "\"] = " + expectation_of(outcome, names).dump();
    }
    return fail(v);
  }
  std::string why;
  v.expected = base;
  if (matches(base, outcome, &why)) return v;
  v.why = why;
  for (const Quirk* q : registry.for_step(key)) {
    std::string w;
    if (matches(quirk_expect(q), outcome, &w)) {
      v.edit = addition_edit(file, *q, subject);
      return fail(v);
    }
  }
  // A quirk this subject already has for another step of the same scenario?
  const std::string scenario = key.substr(0, key.find('#'));
  for (const auto& [name, q] : registry.quirks()) {
    if (!Registry::applies(q, subject)) continue;
    for (const auto& [k, e] : q.outcomes) {
      if (k.substr(0, k.find('#')) == scenario) {
        v.edit = quirk_ref(file, name) + ".outcomes: add \"" + key +
                 "\": " + expectation_of(outcome, names).dump() + "   (or a new quirk)";
        return fail(v);
      }
    }
  }
  v.edit = file + ": add quirks[\"NEW-NAME\"] = " +
           new_entry(subject, key, expectation_of(outcome, names)).dump() +
           (subject.cpython ? "   (only if this is CPython's behaviour and not a libshm bug)"
                            : "   (only if this implementation's policy is to differ here)");
  return fail(v);
}

std::vector<std::string> coverage_problems(
    const Registry& registry, const std::set<std::pair<std::string, std::string>>& used,
    const std::vector<Subject>& subjects, const std::set<std::string>& keys, bool filtered) {
  std::vector<std::string> problems;
  const std::string file = registry.display_path();
  for (const auto& [name, q] : registry.quirks()) {
    for (const auto& [key, e] : q.outcomes) {
      if (keys.count(key) == 0) {
        problems.push_back(quirk_ref(file, name) + ".outcomes names no scenario step: \"" + key +
                           "\" (edit: remove it, or fix the label)");
      }
    }
    if (filtered) continue;
    for (const auto& s : subjects) {
      if (s.standing != Standing::kVerified || !Registry::applies(q, s)) continue;
      if (used.count({name, s.label}) == 0) {
        problems.push_back(
            "quirk " + name + " is registered for " + s.label +
            " but no cell of this run exercised it (edit: " + removal_edit(file, q, s) + ")");
      }
    }
  }
  return problems;
}

}  // namespace harness
