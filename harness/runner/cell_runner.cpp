#include "cell_runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "agent_pool.hpp"

namespace harness {

void start_slow_first(std::vector<Cell>& cells) {
  std::stable_sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
    return a.scenario->slow && !b.scenario->slow;
  });
}

std::vector<CellResult> run_cells(const std::vector<Cell>& cells,
                                  const std::vector<Implementation>& implementations,
                                  std::vector<std::unique_ptr<Agent>> warm_agents,
                                  const Registry& registry, RunSettings& settings, int jobs,
                                  bool verbose, std::vector<std::string>& problems) {
  std::vector<CellResult> results(cells.size());
  AgentPool pool(implementations, std::move(warm_agents));
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<int> failures{0};
  std::mutex print_mutex;
  const bool tty = ::isatty(1) != 0;
  auto worker = [&] {
    for (std::size_t i = next++; i < cells.size(); i = next++) {
      results[i] = run_cell(cells[i], pool, registry, settings);
      std::size_t n = ++done;
      if (results[i].status == Status::kFail) ++failures;
      std::lock_guard lock(print_mutex);
      if (verbose || results[i].status == Status::kFail) {
        const char* word = results[i].status == Status::kPass    ? "pass "
                           : results[i].status == Status::kQuirk ? "quirk"
                           : results[i].status == Status::kNew   ? "NEW  "
                                                                 : "FAIL ";
        std::cout << (tty ? "\r\033[K" : "") << word << " " << cells[i].id << "\n";
      }
      if (tty) {
        std::cout << "\r\033[K[" << n << "/" << cells.size() << "] " << (100 * n / cells.size())
                  << "%  failed " << failures.load() << std::flush;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < jobs; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (tty) std::cout << "\r\033[K" << std::flush;
  for (auto& complaint : pool.shutdown()) problems.push_back(std::move(complaint));
  return results;
}

}  // namespace harness
