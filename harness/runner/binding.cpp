#include "binding.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace harness {

std::string cell_id(const Scenario& scenario, const std::vector<const Implementation*>& bound) {
  std::string id = scenario.id + "[";
  for (std::size_t i = 0; i < bound.size(); ++i) {
    if (i != 0) id += ",";
    id += scenario.roles[i].name + "=" + bound[i]->id;
  }
  return id + "]";
}

namespace {

// A candidate (--candidate) plays with one released CPython at a time, in every arrangement of
// the roles, and alone; the CPython it runs on plays the same arrangements, its twins
// (candidate.hpp). Nothing to decide when the cell holds neither.
std::optional<bool> binds_candidate(const std::vector<const Implementation*>& bound) {
  std::set<const Implementation*> distinct(bound.begin(), bound.end());
  const Implementation* candidate = nullptr;
  bool base = false;
  for (const auto* impl : distinct) {
    if (!impl->candidate.empty()) {
      if (candidate != nullptr) return false;  // one candidate per cell
      candidate = impl;
    }
    base = base || impl->has_candidate;
  }
  if (candidate == nullptr && !base) return std::nullopt;
  const bool released_only = std::all_of(distinct.begin(), distinct.end(), [](const auto* i) {
    return i->is_cpython();  // a candidate is judged as a CPython too
  });
  if (candidate != nullptr) return released_only && distinct.size() <= 2;
  if (released_only && distinct.size() == 2) return true;  // a twin of a candidate's cell
  return std::nullopt;
}

// A list scenario between CPythons that write different layouts (3.8's, 3.9+'s) has nothing to
// compare: neither reads the other's lists, candidate or not.
bool shares_list_layout(const Scenario& s, const std::vector<const Implementation*>& bound) {
  auto list_op = [](const Step& step) { return step.op.rfind("list.", 0) == 0; };
  if (std::none_of(s.steps.begin(), s.steps.end(), [&](const Step& step) {
        return list_op(step) || std::any_of(step.parallel.begin(), step.parallel.end(), list_op);
      })) {
    return true;
  }
  auto all_write = [&](const std::string& layout) {
    return std::all_of(bound.begin(), bound.end(),
                       [&](const Implementation* i) { return i->capabilities.count(layout) != 0; });
  };
  return all_write("layout-3.8") || all_write("layout-3.9");
}

bool involves_candidate(const std::vector<const Implementation*>& bound) {
  return std::any_of(bound.begin(), bound.end(),
                     [](const auto* i) { return !i->candidate.empty() || i->has_candidate; });
}

}  // namespace

bool binds(const std::vector<const Implementation*>& bound) {
  if (auto decided = binds_candidate(bound)) return *decided;
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
      if ((s.bind == "all" || bound.size() == 1 || binds(bound)) &&
          (!involves_candidate(bound) || shares_list_layout(s, bound))) {
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
