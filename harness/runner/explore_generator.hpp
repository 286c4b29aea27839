// Random programs for shm-harness --explore: who plays the roles (one implementation under test
// with CPythons, or one CPython alone: the binding rule of fixed scenarios), a ShareableList with
// items of every type at their edges, a plain block with an edge-character name, and operations
// on them by every role (hand-offs: one role writes, another reads; pickles with each pickler and
// protocol). Each program comes from a 64-bit sequence seed alone, and the sequence seeds from
// the run seed and the sequence's number, so that one sequence replays on its own.
#pragma once

#include <cstdint>
#include <vector>

#include "discovery.hpp"
#include "explore_program.hpp"

namespace harness {

/// The seed of sequence `index` of a run seeded with `run_seed` (a SplitMix64 step of both).
std::uint64_t sequence_seed(std::uint64_t run_seed, std::uint64_t index);

/// The program of `seed`, cast from `implementations` (the same seed and implementations give
/// the same program). Always one that render() accepts; the implementations must include one
/// with the capability "list" or "block".
Program generate(std::uint64_t seed, const std::vector<Implementation>& implementations);

}  // namespace harness
