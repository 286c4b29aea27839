// Finding the implementations to test: the C++ agent, every CPython that
// compat/tools/find_cpythons.py finds (the rules shared with the build and the other tools,
// described in harness/README.md), the libshm Python module on each CPython it was built for,
// and any program given with --agent or SHM_AGENTS. A candidate is probed by starting its agent
// and asking "hello": whatever fails to answer is skipped with a note.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent.hpp"

namespace harness {

/// One implementation under test.
struct Implementation {
  std::string id;                      // "cpp", "py3.12.1", "pylibshm3.12.1", an --agent id
  std::string kind;                    // "cpython" (the stdlib), else "other" (under test)
  std::string name;                    // what hello calls it: "CPython", "libshm", ...
  std::string version;                 // full CPython version, or the agent's own version
  std::string policy;                  // a non-CPython agent's declared policy ("libshm")
  std::string host;                    // the CPython version a Python-hosted agent runs on
  std::string executable;              // the agent binary or the interpreter
  std::vector<std::string> argv;       // how to start its agent
  std::set<std::string> capabilities;  // from hello
  std::string found_via;  // "build", "SHM_PYTHONS", "pyenv", "PATH", "--python", "--agent", ...
  /// --candidate: the shared_memory.py this CPython runs in place of its own module; the
  /// implementation is judged as the CPython it runs on, whose id is `candidate_of`.
  std::string candidate;
  std::string candidate_of;
  /// Whether some candidate runs on this CPython: it then also meets every other CPython, so
  /// that each cell of the candidate has its twin (harness/runner/candidate.hpp).
  bool has_candidate = false;
  /// Whether this is a CPython running the stdlib (the reference), not an implementation
  /// under test.
  [[nodiscard]] bool is_cpython() const noexcept { return kind == "cpython"; }
};

/// An implementation given by the user: its column id and the command that starts its agent.
struct AgentSpec {
  std::string id;                 // the column id (overrides what hello says)
  std::vector<std::string> argv;  // the command, split on blanks
  std::string found_via;          // "--agent" or "SHM_AGENTS"
};

/// Parses "ID=COMMAND ARGS..." (--agent, and each ';'-separated entry of SHM_AGENTS).
/// Throws std::invalid_argument naming what is wrong.
AgentSpec parse_agent_spec(const std::string& text, const std::string& found_via);

/// A proposed multiprocessing/shared_memory.py to judge (--candidate ID=PATH@VERSION).
struct CandidateSpec {
  std::string id;       // its column id
  std::string path;     // the shared_memory.py, absolute
  std::string version;  // the CPython it runs on: "3.14.10", or "3.14" for the newest 3.14.x
};

/// Parses "ID=PATH@VERSION" (--candidate). Throws std::invalid_argument naming what is wrong
/// (no '=' or '@', a bad id, no such file).
CandidateSpec parse_candidate_spec(const std::string& text);

/// What to look for.
struct DiscoveryOptions {
  std::string cpp_agent;                  // path of cpp_agent; empty: no C++ implementation
  std::string py_agent;                   // path of py_agent.py
  std::string tools_python;               // the interpreter that runs find_cpythons
  std::string find_cpythons;              // path of compat/tools/find_cpythons.py
  std::vector<std::string> python_specs;  // --python: ids, versions ("3.12", "3.12.1"), paths
  std::vector<AgentSpec> agents;          // --agent / SHM_AGENTS
  std::vector<CandidateSpec> candidates;  // --candidate
  std::string libshm_python_dir;  // <dir>/<CPython version>/libshm: the module, built per CPython
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
