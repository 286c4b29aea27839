// Reporting a run: the console (live progress, failures with their rerun command, the summary
// line), JUnit XML, and the Markdown and HTML matrices (matrix.cpp).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cell.hpp"
#include "discovery.hpp"

namespace harness {

/// Everything a report needs.
struct RunReport {
  std::vector<Implementation> implementations;  // what ran
  std::vector<CellResult> results;              // every cell that ran
  std::vector<std::string> skipped;             // cells bound but not run (scenario "skip")
  std::vector<std::string> problems;            // run-level failures (load errors, coverage, leaks)
  std::map<std::string, std::string> standing;  // implementation id -> how it was judged
  std::string rerun_prefix;                     // command line to rerun one cell, minus --only
  double seconds = 0;                           // wall time of the run
};

/// Counts for the summary line.
struct Counts {
  int passed = 0;      // cells that met the scenario's expectations
  int quirk = 0;       // cells that showed only registered quirks
  int news = 0;        // cells where a newer CPython than the registry knows did something else
  int predicted = 0;   // cells (of the above) judged by a prediction for an unverified CPython
  int unexpected = 0;  // failed cells plus run-level problems
  int skipped = 0;     // cells not run
  int cells = 0;       // cells run
};

/// Counts of a run.
Counts count(const RunReport& report);
/// "CONFORMANCE PASSED: 10 passed, 2 expected-quirk, 0 new-cpython-behaviour, 0 unexpected,
/// 0 skipped (cells 12, 0 predicted)".
std::string summary_line(const RunReport& report);
/// The command that reruns just this cell.
std::string rerun_command(const RunReport& report, const std::string& cell_id);
/// Prints every failed cell (step, expected, actual, registry edit, stderr, rerun) and every
/// run-level problem.
void print_failures(std::ostream& out, const RunReport& report);
/// Prints every cell that showed new CPython behaviour, with the edit that would record it.
void print_news(std::ostream& out, const RunReport& report);
/// The one-line mark of a cell: ✓ ✓ᵖ Q Qᵖ N ✗ (ᵖ: judged by a prediction).
std::string cell_mark(const CellResult& result);
/// Writes JUnit XML.
void write_junit(const std::string& path, const RunReport& report);
/// Writes matrix.md and matrix.html into `dir` (matrix.cpp).
void write_matrix(const std::string& dir, const RunReport& report);

/// Escapes text for XML/HTML.
std::string xml_escape(const std::string& text);
/// A one-line description of why a cell failed (first failing step or problem).
std::string failure_summary(const CellResult& result);

}  // namespace harness
