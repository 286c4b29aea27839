#include "coverage.hpp"

#include <iostream>
#include <set>
#include <utility>

namespace harness {

std::vector<std::string> registry_coverage(const Registry& registry,
                                           const std::vector<Scenario>& scenarios,
                                           const std::vector<Implementation>& implementations,
                                           const std::vector<CellResult>& results, bool filtered) {
  std::vector<Subject> subjects;
  for (const auto& impl : implementations) subjects.push_back(subject_of(impl, registry));
  std::set<std::string> keys;
  for (const auto& s : scenarios) {
    for (const Step* st : all_steps(s)) keys.insert(step_key(s, *st));
  }
  std::set<std::pair<std::string, std::string>> used;
  for (const auto& r : results) used.insert(r.used.begin(), r.used.end());
  auto problems = coverage_problems(registry, used, subjects, keys, filtered);
  if (filtered) {
    std::cout << "note: a filtered run (--only/--python/--no-cpp): registry entries that no "
                 "cell exercised are not reported\n";
  }
  return problems;
}

}  // namespace harness
