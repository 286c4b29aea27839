// Judging a proposed change (--candidate ID=PATH@VERSION, harness/README.md "Judging a proposed
// change"): every cell a candidate plays in is paired with its twin, the same cell with the
// candidate's roles played by the unpatched CPython it runs on, and each step's outcome is
// compared. A difference is a finding, whichever way the cells were judged: it says what the
// change would do to programs that share blocks with the released CPythons.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "report.hpp"

namespace harness {

/// One step whose outcome differs between a candidate's cell and its twin.
struct StepDifference {
  std::string step;       // its label, role and op
  std::string candidate;  // its outcome with the candidate (describe())
  std::string released;   // its outcome in the twin
};

/// A cell of a candidate whose outcome differs from its twin's.
struct CandidateDifference {
  std::string cell;                   // the candidate's cell id
  std::string twin;                   // the unpatched twin's cell id
  std::string roles;                  // the roles the candidate played: "reader", "writer+reader"
  std::string peer;                   // the released CPython in it ("" when the candidate is alone)
  std::vector<StepDifference> steps;  // every step that differs, in order
};

/// What one candidate changed.
struct CandidateFindings {
  std::string id;                                // the candidate's column
  std::string base;                              // the CPython it runs on (its unpatched id)
  std::string path;                              // its shared_memory.py
  int cells = 0;                                 // cells it played in
  int compared = 0;                              // of those, cells whose twin ran
  std::vector<CandidateDifference> differences;  // one per differing cell
  std::vector<std::string> unpaired;             // its cells whose twin did not run
};

/// Pairs every candidate cell of `report` with its twin and compares them, step by step. Block
/// names (unique per cell) are compared as placeholders.
std::vector<CandidateFindings> compare_candidates(const RunReport& report);

/// The section of the console report: per candidate, a count per released CPython (and the
/// candidate's roles), then the cells that differ (first differing step, both outcomes).
void print_candidates(std::ostream& out, const std::vector<CandidateFindings>& findings);

/// The same, as Markdown (candidates.md in --report's directory).
void write_candidates(const std::string& path, const std::vector<CandidateFindings>& findings);

/// A run-level problem for each candidate that changed an outcome, so that the run fails.
std::vector<std::string> candidate_problems(const std::vector<CandidateFindings>& findings);

}  // namespace harness
