// The quirk registry (compat/cpython.json): which implementation versions show which CPython
// behaviour, and the outcome to expect from them instead of the scenario's expectation.
// Enforced both ways: a listed quirk that does not happen fails, an unlisted difference fails,
// and an entry that no cell exercises fails. Every failure comes with the registry edit that
// would make it pass, for a human to judge.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "expectation.hpp"

namespace harness {

/// One named quirk.
struct Quirk {
  std::string name;                                // e.g. "nul-strip"
  std::string summary;                             // what happens
  std::string upstream;                            // CPython issue link
  std::set<std::string> versions;                  // full versions showing it ("cpp" for libshm)
  std::map<std::string, nlohmann::json> outcomes;  // step key -> expectation instead
};

/// The registry file.
class Registry {
 public:
  /// Loads `path`; throws std::runtime_error describing the problem.
  static Registry load(const std::string& path);

  /// The file it came from.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// All quirks by name.
  [[nodiscard]] const std::map<std::string, Quirk>& quirks() const noexcept { return quirks_; }
  /// Quirks with an outcome for `key` that `version` shows.
  [[nodiscard]] std::vector<const Quirk*> applicable(const std::string& key,
                                                     const std::string& version) const;
  /// Quirks with an outcome for `key`, whatever the version.
  [[nodiscard]] std::vector<const Quirk*> for_step(const std::string& key) const;

 private:
  std::string path_;                     // where it was loaded from
  std::map<std::string, Quirk> quirks_;  // by name
};

/// The judgement on one step.
struct Verdict {
  /// How the step went.
  enum class Status { kPass, kQuirk, kFail };
  Status status = Status::kPass;  // result
  std::string quirk;              // kQuirk (or a quirk that should have shown): its name
  nlohmann::json expected;        // the expectation applied (the quirk's when one applies)
  std::string why;                // kFail: what did not match
  std::string edit;               // kFail: the registry edit that would make it pass
};

/// Judges `outcome` of the step `key`, run by an implementation of registry version `version`,
/// against `base` (the scenario's expectation, expanded) and the registry.
Verdict judge(const Registry& registry, const std::string& key, const std::string& version,
              const nlohmann::json& base, const Outcome& outcome, const Vars& vars,
              const Vars& names);

/// Registry entries the run did not exercise. `used` holds (quirk, version) pairs that
/// applied in some cell; `versions` the registry versions of the implementations in the run;
/// `keys` every step key of every scenario loaded.
std::vector<std::string> coverage_problems(
    const Registry& registry, const std::set<std::pair<std::string, std::string>>& used,
    const std::set<std::string>& versions, const std::set<std::string>& keys, bool filtered);

}  // namespace harness
