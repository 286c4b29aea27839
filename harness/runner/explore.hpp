// shm-harness --explore SECONDS: generated conformance. Random programs (explore_generator)
// are rendered as scenarios (explore_program), parsed by the scenario parser and run as cells by
// run_cell, so they are judged exactly as fixed scenarios are (registry, quirks, standings). A
// cell whose verdict is unexpected is a finding: it is shrunk (explore_shrinker) and written to
// --explore-out as a scenario file (explore_writer) with the seeds and the command that replays
// it. The run ends with what it covered: sequences, operations, implementations, quirks hit.
#pragma once

#include <string>

#include "discovery.hpp"
#include "options.hpp"
#include "registry.hpp"

namespace harness {

/// Runs the exploration the options ask for on the implementations found (whose warm agents
/// it takes over) and returns the exit status: 0 when nothing unexpected was found, 1 when
/// something was (or a run-level problem such as a leak occurred).
int run_exploration(const Options& options, Discovery& found, const Registry& registry,
                    const std::string& argv0);

}  // namespace harness
