#include "registry.hpp"

#include <fstream>
#include <stdexcept>

namespace harness {

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
  for (const auto& [name, q] : j["quirks"].items()) {
    Quirk quirk;
    quirk.name = name;
    quirk.summary = q.value("summary", "");
    quirk.upstream = q.value("upstream", "");
    const nlohmann::json versions = q.value("versions", nlohmann::json::array());
    const nlohmann::json outcomes = q.value("outcomes", nlohmann::json::object());
    for (const auto& v : versions) {
      quirk.versions.insert(v.get<std::string>());
    }
    for (const auto& [key, e] : outcomes.items()) {
      quirk.outcomes[key] = e;
    }
    if (quirk.summary.empty())
      throw std::runtime_error(path + ": quirk " + name + " has no summary");
    if (quirk.versions.empty() || quirk.outcomes.empty()) {
      throw std::runtime_error(path + ": quirk " + name + " needs versions and outcomes");
    }
    r.quirks_[name] = std::move(quirk);
  }
  return r;
}

std::vector<const Quirk*> Registry::applicable(const std::string& key,
                                               const std::string& version) const {
  std::vector<const Quirk*> out;
  for (const auto& [name, q] : quirks_) {
    if (q.outcomes.count(key) != 0 && q.versions.count(version) != 0) out.push_back(&q);
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

namespace {

std::string registry_name(const Registry& r) {
  std::string p = r.path();
  auto at = p.find("compat/");
  return at == std::string::npos ? p : p.substr(at);
}

}  // namespace

Verdict judge(const Registry& registry, const std::string& key, const std::string& version,
              const nlohmann::json& base, const Outcome& outcome, const Vars& vars,
              const Vars& names) {
  Verdict v;
  const std::string file = registry_name(registry);
  auto quirk_expect = [&](const Quirk* q) { return expand(q->outcomes.at(key), vars); };
  auto applicable = registry.applicable(key, version);
  if (!applicable.empty()) {
    std::string reasons;
    for (const Quirk* q : applicable) {
      std::string why;
      nlohmann::json e = quirk_expect(q);
      if (matches(e, outcome, &why)) {
        v.status = Verdict::Status::kQuirk;
        v.quirk = q->name;
        v.expected = e;
        return v;
      }
      reasons += (reasons.empty() ? "" : "; ") + q->name + ": " + why;
    }
    v.status = Verdict::Status::kFail;
    v.quirk = applicable.front()->name;
    v.expected = quirk_expect(applicable.front());
    std::string why;
    if (matches(base, outcome, &why)) {
      v.why = "quirk " + v.quirk + " is registered for " + version +
              " but did not show: the scenario's own expectation held";
      v.edit = file + ": quirks[\"" + v.quirk + "\"].versions: remove \"" + version + "\"";
    } else {
      v.why = "quirk outcome not met (" + reasons + ")";
      v.edit = file + ": quirks[\"" + v.quirk + "\"].outcomes[\"" + key +
               "\"] = " + expectation_of(outcome, names).dump();
    }
    return v;
  }
  std::string why;
  v.expected = base;
  if (matches(base, outcome, &why)) return v;
  v.status = Verdict::Status::kFail;
  v.why = why;
  for (const Quirk* q : registry.for_step(key)) {
    std::string w;
    if (matches(quirk_expect(q), outcome, &w)) {
      v.edit = file + ": quirks[\"" + q->name + "\"].versions: add \"" + version + "\"";
      return v;
    }
  }
  // A quirk this version already has for another step of the same scenario?
  const std::string scenario = key.substr(0, key.find('#'));
  for (const auto& [name, q] : registry.quirks()) {
    if (q.versions.count(version) == 0) continue;
    for (const auto& [k, e] : q.outcomes) {
      if (k.substr(0, k.find('#')) == scenario) {
        v.edit = file + ": quirks[\"" + name + "\"].outcomes: add \"" + key +
                 "\": " + expectation_of(outcome, names).dump() + "   (or a new quirk)";
        return v;
      }
    }
  }
  nlohmann::json entry = {{"summary", "TODO: what " + version + " does here"},
                          {"upstream", ""},
                          {"versions", {version}},
                          {"outcomes", {{key, expectation_of(outcome, names)}}}};
  v.edit = file + ": add quirks[\"NEW-NAME\"] = " + entry.dump() +
           "   (only if this is CPython's behaviour and not a libshm bug)";
  return v;
}

std::vector<std::string> coverage_problems(
    const Registry& registry, const std::set<std::pair<std::string, std::string>>& used,
    const std::set<std::string>& versions, const std::set<std::string>& keys, bool filtered) {
  std::vector<std::string> problems;
  const std::string file = registry_name(registry);
  for (const auto& [name, q] : registry.quirks()) {
    for (const auto& [key, e] : q.outcomes) {
      if (keys.count(key) == 0) {
        problems.push_back(file + ": quirks[\"" + name + "\"].outcomes names no scenario step: \"" +
                           key + "\" (edit: remove it, or fix the label)");
      }
    }
    if (filtered) continue;
    for (const auto& version : q.versions) {
      if (versions.count(version) == 0) continue;  // not in this run: cannot judge
      if (used.count({name, version}) == 0) {
        problems.push_back("quirk " + name + " is registered for " + version +
                           " but no cell of this run exercised it (edit: " + file + ": quirks[\"" +
                           name + "\"].versions: remove \"" + version + "\")");
      }
    }
  }
  return problems;
}

}  // namespace harness
