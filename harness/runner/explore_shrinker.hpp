// Shrinking a failing generated program: fewer actions, fewer items, smaller and simpler values
// (shorter strings and bytes, ASCII for non-ASCII, 0 for ints), no block or list it does not
// need, a plain unlink for an exit, fewer roles. A candidate is kept only when it still fails
// the same way: the same implementation, operation and kind of outcome in its first failing
// step (the Signature), so that the minimal case is the same bug, not another one.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "explore_program.hpp"

namespace harness {

/// How a cell failed: its first failing step's implementation, operation and outcome kind
/// ("value", "error Index", "died", "timeout", "broken"), or a cell problem ("problem").
struct Signature {
  std::string impl;     // who ran the step
  std::string op;       // the step's operation
  std::string outcome;  // what kind of outcome it had
  /// Whether two failures are the same.
  bool operator==(const Signature&) const = default;
  /// "cpp list.get → value".
  [[nodiscard]] std::string text() const;
};

/// Runs a candidate program: the signature of its failure, or nothing when it passed or could
/// not be run as a program of the modelled region.
using Attempt = std::function<std::optional<Signature>(const Program&)>;

/// What shrinking did.
struct ShrinkStats {
  int runs = 0;      // candidates run
  int accepted = 0;  // candidates that failed the same way and replaced the program
};

/// The smallest program reachable from `failing` (which fails with `signature`) by the steps
/// above, trying candidates until none is accepted, `max_runs` were run or `deadline` passed.
Program shrink(Program failing, const Signature& signature, const Attempt& attempt, int max_runs,
               std::chrono::steady_clock::time_point deadline, ShrinkStats* stats);

}  // namespace harness
