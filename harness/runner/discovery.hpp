// Finding the implementations to test: the C++ agent, and every CPython >= 3.8 on PATH, under
// pyenv and in SHM_PYTHONS (the order and rules of compat/tools/regen_vectors). A candidate is
// probed by starting the Python agent under it and asking "hello": whatever fails to answer
// (a pyenv shim for an unselected version, Python 2, 3.7) is skipped with a note.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent.hpp"

namespace harness {

/// One implementation under test.
struct Implementation {
  std::string id;                      // "cpp" or "py" + full version, e.g. "py3.12.1"
  std::string kind;                    // "cpp" or "cpython"
  std::string version;                 // full CPython version, or the agent's version for cpp
  std::string executable;              // the agent binary or the interpreter
  std::vector<std::string> argv;       // how to start its agent
  std::set<std::string> capabilities;  // from hello
  std::string found_via;               // "build", "SHM_PYTHONS", "pyenv", "PATH", "--python"
};

/// What to look for.
struct DiscoveryOptions {
  std::string cpp_agent;                  // path of cpp_agent; empty: no C++ implementation
  std::string py_agent;                   // path of py_agent.py
  std::vector<std::string> python_specs;  // --python: ids, versions ("3.12", "3.12.1"), paths
};

/// The result: implementations in a stable order (cpp first, then by version), each with the
/// agent that answered the probe (handed to the pool so the probe is not wasted).
struct Discovery {
  std::vector<Implementation> implementations;      // found, deduplicated by version
  std::vector<std::unique_ptr<Agent>> warm_agents;  // the probing agents, still running
  std::vector<std::string> notes;                   // skipped candidates and why
};

/// The command prefix that runs an agent as the unprivileged user nobody (uid/gid 65534).
std::vector<std::string> other_user_prefix();

/// Probes every candidate (in parallel) and returns what answered. When the runner is root
/// and setpriv exists, each implementation whose agent also answers when started as nobody
/// gets the capability "other-user" (pyenv's interpreters under /root usually cannot).
Discovery discover(const DiscoveryOptions& options);

}  // namespace harness
