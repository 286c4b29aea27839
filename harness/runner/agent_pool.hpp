// Long-lived agents, one set per implementation, shared by the cells: a cell borrows one agent
// per role and gives it back after "reset". An agent that died, timed out or exited is never
// given back, so the next cell that needs one gets a freshly spawned agent.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent.hpp"
#include "discovery.hpp"

namespace harness {

/// The pool.
class AgentPool {
 public:
  /// Pools agents for these implementations; `warm` (the discovery probes) are the first idle
  /// agents, matched by implementation id.
  AgentPool(const std::vector<Implementation>& implementations,
            std::vector<std::unique_ptr<Agent>> warm);
  ~AgentPool();
  AgentPool(const AgentPool&) = delete;
  AgentPool& operator=(const AgentPool&) = delete;

  /// An idle agent of `impl`, or a new one; nullptr and *error if none can be started.
  std::unique_ptr<Agent> acquire(const Implementation& impl, std::string* error);
  /// A new agent of `impl` that will not be pooled (for roles that exit or are killed).
  std::unique_ptr<Agent> spawn_fresh(const Implementation& impl, std::string* error);
  /// Gives an agent back; kept only while usable().
  void release(std::unique_ptr<Agent> agent);
  /// Ends every idle agent (closing stdin) and waits for each and its resource tracker.
  /// Returns one line per agent that wrote on stderr after its last cell: a healthy agent
  /// leaves its tracker nothing to clean up and nothing to complain about.
  std::vector<std::string> shutdown();
  /// Number of agent processes started (probes excluded).
  [[nodiscard]] int spawned() const;

 private:
  mutable std::mutex mutex_;                                         // guards the members
  std::map<std::string, std::vector<std::unique_ptr<Agent>>> idle_;  // by implementation id
  std::map<const Agent*, std::size_t> marks_;  // stderr mark when each idle agent came back
  int spawned_ = 0;                            // processes started
};

}  // namespace harness
