// The exit status of a finished run: 0 when nothing unexpected happened, else 1; with
// --expect-fail (a canary: a scenario directory built to fail) the other way round, and only
// when the failure report holds each --expect-text, so that a canary fails for its own reason.
#pragma once

#include <string>

#include "options.hpp"
#include "report.hpp"

namespace harness {

/// `failures` is the failure report the run printed, `transcript` everything it printed that
/// --expect-text may look for (header, failure report, summary). Prints why a canary or an
/// expected text made the run fail.
int exit_status(const Options& options, const Counts& counts, const std::string& failures,
                const std::string& transcript);

}  // namespace harness
