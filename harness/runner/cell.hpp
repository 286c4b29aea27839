// Running one cell: borrow an agent per role, create the cell's unique block names, carry out
// the steps in order (judging each against the scenario and the quirk registry), then clean
// up: "reset" every agent, remove anything the cell left in /dev/shm (which fails the cell).
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent_pool.hpp"
#include "binding.hpp"
#include "expectation.hpp"
#include "registry.hpp"

namespace harness {

/// What happened in one step.
struct StepRecord {
  std::string label;       // step label
  std::string as;          // role (or "runner")
  std::string impl;        // implementation that ran it ("runner" for runner ops)
  std::string op;          // operation
  nlohmann::json request;  // arguments after expansion (long values abbreviated)
  Outcome outcome;         // what came back
  Verdict verdict;         // the judgement
  bool skipped = false;    // not run (only_if not met, or an earlier step failed)
};

/// The result of a cell.
struct CellResult {
  const Cell* cell = nullptr;                          // which cell
  Status status = Status::kPass;                       // overall: the worst
  std::vector<StepRecord> steps;                       // every step, in order
  std::vector<std::string> problems;                   // failures outside steps (leaks, ...)
  std::set<std::string> quirks;                        // quirks that showed
  std::set<std::pair<std::string, std::string>> used;  // (quirk, subject label) that applied
  bool predicted = false;                              // a step was judged by a prediction
  std::map<std::string, std::string> stderr_tails;     // role -> its agent's stderr (tail)
  Vars names;                                          // block variable -> this cell's name
  double seconds = 0;                                  // wall time
};

/// Settings shared by every cell of a run.
struct RunSettings {
  std::string token;                     // unique per run, in every block name: "hx" + token + ...
  int step_timeout_ms = 20000;           // default per-step timeout
  std::atomic<unsigned> next_number{0};  // numbers cells for their block names
  bool strict_versions = false;          // new CPython behaviour fails too
};

/// How the registry sees `impl`: a CPython by its version (and where that version stands),
/// anything else by its id and declared policy.
Subject subject_of(const Implementation& impl, const Registry& registry);

/// Runs one cell.
CellResult run_cell(const Cell& cell, AgentPool& pool, const Registry& registry,
                    RunSettings& settings);

}  // namespace harness
