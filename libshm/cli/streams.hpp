// pyshm and its standard streams: stdin read whole, text from a block made safe for a terminal,
// and whether stdout received everything written to it.
#pragma once

#include <istream>
#include <string>

namespace pyshm {

/// All of `in`.
std::string read_all(std::istream& in);

/// Text from a block (its name) as --json shows it, without the quotes: control characters and
/// escapes become \n, \u001b, ..., so a name cannot clear the screen or forge table rows.
std::string escaped(const std::string& text);

/// Flushes stdout; false (errno set) if anything written to it was lost (EPIPE, ENOSPC, ...).
bool stdout_delivered();

/// std::system_error "cannot write to stdout" for errno `err`.
[[noreturn]] void throw_stdout_error(int err);

}  // namespace pyshm
