// Where each implementation stands for the registry (a verified CPython, one predicted from a
// verified one, one newer than the registry knows, or an implementation under test): the run's
// header says it for each, and the end of a run says how to record a CPython that met its
// prediction as verified.
#pragma once

#include <ostream>
#include <string>

#include "discovery.hpp"
#include "registry.hpp"
#include "report.hpp"

namespace harness {

/// How `impl` is judged, as the header prints it ("verified", "predicted from 3.12.1", ...).
std::string standing_text(const Implementation& impl, const Registry& registry);

/// The header: how many implementations were found, one line each with its standing, then
/// discovery's notes. Records each standing in report.standing.
std::string implementations_header(const Discovery& found, const Registry& registry,
                                   RunReport& report);

/// For each CPython the registry has not verified whose every cell met the prediction, a note
/// on how to record it as verified (unfiltered runs only: a filtered one saw too little).
void print_verification_notes(std::ostream& out, const RunReport& report, const Registry& registry,
                              bool filtered);

}  // namespace harness
