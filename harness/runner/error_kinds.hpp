// The one table that turns an exception an agent reported into an error kind (PROTOCOL.md §1):
// NotFound, Exists, InvalidArgument, Index, Value, Permission, Corrupt, Decode, Other. Agents
// report what was raised (type, its base classes, errno, message) and judge nothing; the same
// exception type can mean different kinds in different operations (struct.error is damage when
// reading a list and a bad value when storing one), so the operation takes part.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace harness {

/// The kind of `error` ({"type", "bases"?, "errno"?, "message", "kind"?}) raised by `op`. An
/// explicit "kind" wins: agents give one for their own request errors (a bad handle), and a
/// third-party agent whose exception types this table does not know may declare it.
std::string error_kind(const nlohmann::json& error, const std::string& op);

}  // namespace harness
