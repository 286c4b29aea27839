#include "binding.hpp"

#include <algorithm>

namespace harness {

std::string cell_id(const Scenario& scenario, const std::vector<const Implementation*>& bound) {
  std::string id = scenario.id + "[";
  for (std::size_t i = 0; i < bound.size(); ++i) {
    if (i != 0) id += ",";
    id += scenario.roles[i].name + "=" + bound[i]->id;
  }
  return id + "]";
}

bool binds(const std::vector<const Implementation*>& bound) {
  const Implementation* under_test = nullptr;
  for (const auto* impl : bound) {
    if (impl->is_cpython()) continue;
    if (under_test != nullptr && under_test != impl) return false;  // one under test per cell
    under_test = impl;
  }
  if (under_test == nullptr) {  // CPython only: each against itself
    return std::all_of(bound.begin(), bound.end(),
                       [&](const Implementation* i) { return i == bound.front(); });
  }
  // A Python-hosted implementation meets the CPython it runs on (its stdlib neighbour).
  return under_test->host.empty() ||
         std::all_of(bound.begin(), bound.end(), [&](const Implementation* i) {
           return !i->is_cpython() || i->version == under_test->host;
         });
}

std::vector<Cell> bind_cells(const std::vector<Scenario>& scenarios,
                             const std::vector<Implementation>& implementations) {
  std::vector<Cell> cells;
  for (const auto& s : scenarios) {
    std::vector<std::vector<const Implementation*>> eligible;
    for (const auto& role : s.roles) {
      std::vector<const Implementation*> ok;
      for (const auto& impl : implementations) {
        if (std::all_of(role.needs.begin(), role.needs.end(),
                        [&](const std::string& c) { return impl.capabilities.count(c) != 0; })) {
          ok.push_back(&impl);
        }
      }
      eligible.push_back(std::move(ok));
    }
    if (std::any_of(eligible.begin(), eligible.end(), [](const auto& e) { return e.empty(); })) {
      continue;
    }
    // Odometer over the cartesian product.
    std::vector<std::size_t> at(s.roles.size(), 0);
    for (bool more = true; more;) {
      std::vector<const Implementation*> bound;
      for (std::size_t r = 0; r < at.size(); ++r) bound.push_back(eligible[r][at[r]]);
      if (s.bind == "all" || bound.size() == 1 || binds(bound)) {
        cells.push_back({&s, bound, cell_id(s, bound)});
      }
      more = false;
      for (std::size_t r = at.size(); r-- > 0;) {
        if (++at[r] < eligible[r].size()) {
          more = true;
          break;
        }
        at[r] = 0;
      }
    }
  }
  return cells;
}

}  // namespace harness
