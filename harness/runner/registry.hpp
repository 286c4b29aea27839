// The quirk registry (compat/cpython.json, schema 2): which implementations show which
// CPython behaviour, and the outcome to expect from them instead of the scenario's own.
//
// A quirk names the CPython releases that show it as version ranges whose bounds come from
// upstream evidence (the change that introduced or fixed it, and its first release), keeps
// separately the exact versions where a run verified it, and lists the non-CPython
// implementations (by id or by the policy their agent declares, e.g. "libshm") that reproduce
// it on purpose. The registry also lists every CPython version a whole run has verified.
//
// An interpreter is judged by where its version stands (harness/PROTOCOL.md §3):
// - verified (a whole run on this exact version is recorded): strict both ways;
// - predicted (not verified, but no newer minor than the newest verified one): the ranges are
//   the expectation, a mismatch fails;
// - newer (a minor beyond every verified run, e.g. 3.14 when the newest is 3.13): the ranges
//   still predict, but a mismatch in a step judged by that CPython is reported as new CPython
//   behaviour and does not fail the run (unless --strict-versions).
// Every failure comes with the registry edit that would make it pass, for a human to judge.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "expectation.hpp"
#include "version.hpp"

namespace harness {

/// Where an implementation's version stands against the registry's evidence.
enum class Standing {
  kVerified,   ///< recorded as verified by a whole run (every non-CPython implementation)
  kPredicted,  ///< inside what the registry knows, not verified: its prediction is the rule
  kNewer,      ///< newer than anything known: mismatches are new CPython behaviour
};

/// Whose behaviour a step shows, as the registry sees it.
struct Subject {
  std::string label;                        // "3.12.1" for CPython, the implementation id otherwise
  bool cpython = false;                     // a CPython interpreter (judged by version ranges)
  Version version;                          // CPython only
  std::vector<std::string> keys;            // non-CPython: the ids a quirk may list (id, policy)
  Standing standing = Standing::kVerified;  // how strictly mismatches are judged
};

/// A half-open range of CPython releases [since, until); a missing bound is open.
struct VersionRange {
  std::optional<Version> since;  // first release that shows it
  std::optional<Version> until;  // first release that no longer shows it
  /// Whether `v` is inside.
  [[nodiscard]] bool contains(const Version& v) const {
    return (!since || *since <= v) && (!until || v < *until);
  }
};

/// One named quirk.
struct Quirk {
  std::string name;                                // e.g. "nul-strip"
  std::string summary;                             // what happens
  std::string upstream;                            // CPython issue link
  std::vector<VersionRange> ranges;                // CPython releases showing it
  std::set<std::string> verified;                  // exact versions a run saw it in
  std::set<std::string> implementations;           // non-CPython ids or policies showing it
  std::map<std::string, nlohmann::json> outcomes;  // step key -> expectation instead
  /// Whether some range includes `v`.
  [[nodiscard]] bool covers(const Version& v) const;
  /// Whether a range has no end (the quirk is expected of future releases too).
  [[nodiscard]] bool open_ended() const;
};

/// The registry file.
class Registry {
 public:
  /// Loads `path` and checks it (versions parse, ranges agree with the verified runs);
  /// throws std::runtime_error describing the problem.
  static Registry load(const std::string& path);

  /// The file it came from.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// The path to print in edits ("compat/cpython.json").
  [[nodiscard]] std::string display_path() const;
  /// All quirks by name.
  [[nodiscard]] const std::map<std::string, Quirk>& quirks() const noexcept { return quirks_; }
  /// CPython versions that whole runs verified, oldest first.
  [[nodiscard]] const std::vector<Version>& verified_runs() const noexcept {
    return verified_runs_;
  }

  /// Whether `quirk` is expected of `subject`.
  [[nodiscard]] static bool applies(const Quirk& quirk, const Subject& subject);
  /// Quirks with an outcome for `key` that `subject` is expected to show, or that the cell's
  /// implementation under test (if any) brings to every step of its cells: a quirk listing an
  /// implementation describes what its cells show, whoever runs the step (a CPython loading
  /// the module's pickle fails because of the pickle).
  [[nodiscard]] std::vector<const Quirk*> applicable(const std::string& key, const Subject& subject,
                                                     const Subject* under_test = nullptr) const;
  /// Quirks with an outcome for `key`, whoever shows them.
  [[nodiscard]] std::vector<const Quirk*> for_step(const std::string& key) const;

  /// Where CPython `v` stands; for kPredicted, *from is the verified version the prediction
  /// leans on (the nearest of the same minor, else the nearest older); for kNewer, the newest
  /// verified version.
  [[nodiscard]] Standing standing_of(const Version& v, std::string* from) const;

 private:
  std::string path_;                     // where it was loaded from
  std::map<std::string, Quirk> quirks_;  // by name
  std::vector<Version> verified_runs_;   // sorted
};

/// How a step, and a cell (its worst step, or kFail for a problem outside steps), went.
/// Ordered: a cell's status is the greatest of its steps'.
enum class Status {
  kPass,   ///< the scenario's expectation held
  kQuirk,  ///< a registered quirk's outcome held
  kNew,    ///< a newer CPython than the registry knows did something else (not a failure)
  kFail,   ///< anything else
};

/// The judgement on one step.
struct Verdict {
  Status status = Status::kPass;  // result
  bool predicted = false;         // judged by a prediction, not a verified version
  std::string quirk;              // kQuirk (or a quirk that should have shown): its name
  std::string quirk_of;           // with quirk: the subject label it applies for
  nlohmann::json expected;        // the expectation applied (the quirk's when one applies)
  std::string why;                // kFail/kNew: what did not match
  std::string edit;               // kFail/kNew: the registry edit that would make it pass
};

/// Judges `outcome` of the step `key`, whose behaviour is `subject`'s, in a cell whose
/// implementation under test is `under_test` (null: CPython only), against `base` (the
/// scenario's expectation, expanded) and the registry. With `strict_versions`, what would be
/// new CPython behaviour fails instead.
Verdict judge(const Registry& registry, const std::string& key, const Subject& subject,
              const Subject* under_test, const nlohmann::json& base, const Outcome& outcome,
              const Vars& vars, const Vars& names, bool strict_versions);

/// Registry entries the run did not exercise. `used` holds (quirk, subject label) pairs that
/// applied in some cell; `subjects` every implementation in the run; `keys` every step key of
/// every scenario loaded. Only verified subjects are held to it, and only in unfiltered runs.
std::vector<std::string> coverage_problems(
    const Registry& registry, const std::set<std::pair<std::string, std::string>>& used,
    const std::vector<Subject>& subjects, const std::set<std::string>& keys, bool filtered);

}  // namespace harness
