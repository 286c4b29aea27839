// The C++ agent's own request errors (harness/PROTOCOL.md: an agent adds "kind" only for them).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace agent {

/// A request this agent cannot carry out, with the error kind to report.
class AgentError : public std::runtime_error {
 public:
  AgentError(std::string kind, const std::string& message)
      : std::runtime_error(message), kind_(std::move(kind)) {}
  [[nodiscard]] const std::string& kind() const noexcept { return kind_; }

 private:
  std::string kind_;  // error kind (harness/PROTOCOL.md)
};

}  // namespace agent
