#include "agent_pool.hpp"

#include <chrono>

namespace harness {

AgentPool::AgentPool(const std::vector<Implementation>& implementations,
                     std::vector<std::unique_ptr<Agent>> warm) {
  for (std::size_t i = 0; i < implementations.size() && i < warm.size(); ++i) {
    if (!warm[i]) continue;
    marks_[warm[i].get()] = warm[i]->stderr_mark();
    idle_[implementations[i].id].push_back(std::move(warm[i]));
  }
}

AgentPool::~AgentPool() {
  // Agents are destroyed (stdin closed, then waited for) in parallel by closing all first.
  std::lock_guard lock(mutex_);
  for (auto& [id, list] : idle_) {
    for (auto& agent : list) agent->close_input();
  }
  idle_.clear();
}

std::unique_ptr<Agent> AgentPool::acquire(const Implementation& impl, std::string* error) {
  {
    std::lock_guard lock(mutex_);
    auto& list = idle_[impl.id];
    while (!list.empty()) {
      auto agent = std::move(list.back());
      list.pop_back();
      if (agent->usable()) return agent;
    }
  }
  return spawn_fresh(impl, error);
}

std::unique_ptr<Agent> AgentPool::spawn_fresh(const Implementation& impl, std::string* error) {
  {
    std::lock_guard lock(mutex_);
    ++spawned_;
  }
  return Agent::spawn(impl.id, impl.argv, error);
}

void AgentPool::release(std::unique_ptr<Agent> agent) {
  if (!agent || !agent->usable()) return;
  std::lock_guard lock(mutex_);
  marks_[agent.get()] = agent->stderr_mark();
  idle_[agent->impl_id()].push_back(std::move(agent));
}

std::vector<std::string> AgentPool::shutdown() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> complaints;
  for (auto& [id, list] : idle_) {
    for (auto& agent : list) agent->close_input();
  }
  for (auto& [id, list] : idle_) {
    for (auto& agent : list) {
      ExitInfo info = agent->wait_exit(std::chrono::seconds(20));
      std::string late = agent->stderr_since(marks_[agent.get()]);
      if (!info.exited) {
        complaints.push_back("agent " + id + " (pid " + std::to_string(agent->pid()) +
                             ") or its resource tracker did not finish at the end of the run");
      } else if (info.code != 0 || !late.empty()) {
        complaints.push_back(
            "agent " + id + " (pid " + std::to_string(agent->pid()) + ") exited with " +
            std::to_string(info.code) +
            (late.empty() ? std::string() : " and wrote on stderr: " + late.substr(0, 600)));
      }
    }
  }
  idle_.clear();
  marks_.clear();
  return complaints;
}

int AgentPool::spawned() const {
  std::lock_guard lock(mutex_);
  return spawned_;
}

}  // namespace harness
