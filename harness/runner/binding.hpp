// Binding a scenario's roles to implementations: the cells of the matrix.
//
// Rule (PROTOCOL.md, "Which pairs run"): a role can be played by every implementation that has
// the capabilities it requires. With "bind": "all" every ordered combination runs. With the
// default "cpp-axis", a combination runs when exactly one implementation under test (cpp, the
// Python module, an --agent) plays its roles with CPythons (the interop axis: it against each
// CPython, both ways; an implementation hosted by a CPython, like the Python module, only
// against the CPython it runs on) or when one implementation plays every role (each CPython
// against itself, where its own quirks show). A one-role scenario runs once per implementation
// either way. A candidate (--candidate) plays with each CPython, both ways, and alone; the
// CPython it runs on then also plays with each other CPython (the candidate's twins).
#pragma once

#include <string>
#include <vector>

#include "discovery.hpp"
#include "scenario.hpp"

namespace harness {

/// One test: a scenario with its roles bound.
struct Cell {
  const Scenario* scenario = nullptr;        // what to run
  std::vector<const Implementation*> bound;  // implementation per role, in role order
  std::string id;                            // "list/str/trailing-nul[writer=cpp,reader=py3.12.1]"
};

/// The test id of a binding.
std::string cell_id(const Scenario& scenario, const std::vector<const Implementation*>& bound);

/// Whether the default rule runs this combination (one implementation per role).
bool binds(const std::vector<const Implementation*>& bound);

/// Every cell of every scenario, in scenario order.
std::vector<Cell> bind_cells(const std::vector<Scenario>& scenarios,
                             const std::vector<Implementation>& implementations);

}  // namespace harness
