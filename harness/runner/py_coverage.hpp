// shm-harness --py-coverage DIR: which lines of each CPython's multiprocessing/shared_memory.py
// and resource_tracker.py the run executed. Every Python agent the run starts (and the resource
// tracker it starts) traces those two files (harness/tools/coverage_site/shm_line_tracer.py,
// enabled by SHM_AGENT_COVERAGE) and writes its lines to DIR; at the end
// harness/tools/py_coverage.py prints "py3.12.1 shared_memory.py: X/Y lines" per version and
// file and lists the missed lines in <report>/py-coverage.md.
#pragma once

#include <string>

#include "options.hpp"

namespace harness {

/// With --py-coverage: empties DIR of earlier trace files and has the agents trace into it
/// (they inherit the runner's environment). Must run before discovery starts any agent.
void start_py_coverage(const Options& options);

/// With --py-coverage: prints the coverage of the agents that have all exited by now, and
/// writes py-coverage.md into --report's directory (or DIR).
void print_py_coverage(const Options& options);

}  // namespace harness
