// One agent process (a testee): spawned with pipes on stdin/stdout/stderr, spoken to in the
// JSON-lines protocol of harness/PROTOCOL.md. Every read has a timeout; stderr is collected
// by a background thread so that the agent can never block on it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace harness {

/// What came back for one request.
struct Reply {
  /// How the exchange ended.
  enum class Status {
    kOk,       ///< a well-formed response line (which may report an error)
    kTimeout,  ///< no response within the timeout (the agent has been killed)
    kDied,     ///< the agent closed stdout / exited before answering
    kGarbage,  ///< a line that is not a response to this request
  };
  Status status = Status::kOk;  // how the exchange ended
  nlohmann::json response;      // the response object when kOk
  std::string detail;           // what went wrong otherwise
};

/// How an agent process ended.
struct ExitInfo {
  bool exited = false;  // false while still running (or on timeout)
  int code = -1;        // exit code when it exited normally
  int signal = 0;       // the signal that killed it, or 0
};

/// Collected stderr of an agent, shared with the thread that reads it.
struct StderrLog;

/// A running agent. Move-only by pointer; the destructor closes stdin, waits a little for the
/// agent to exit and kills it otherwise.
class Agent {
 public:
  /// Spawns argv[0] with argv; nullptr and *error set if it cannot be started.
  static std::unique_ptr<Agent> spawn(const std::string& impl_id,
                                      const std::vector<std::string>& argv, std::string* error);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// The implementation id this agent was started for ("cpp", "py3.12.1").
  [[nodiscard]] const std::string& impl_id() const noexcept { return impl_id_; }
  /// Its process id.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// False once it has died, timed out or was told to exit.
  [[nodiscard]] bool usable() const noexcept { return usable_; }

  /// Sends one request (an "id" member is added) and returns without waiting.
  bool send(nlohmann::json request, std::string* error);
  /// Waits for the response to the last request sent.
  Reply receive(std::chrono::milliseconds timeout);
  /// send + receive.
  Reply request(nlohmann::json request, std::chrono::milliseconds timeout);

  /// Marks the agent as going away (after "exit" or "kill"): never reused.
  void retire() noexcept { usable_ = false; }
  /// Waits until the process has exited and its stderr is closed by every holder (the
  /// resource tracker inherits it, so this also waits for the tracker's cleanup).
  ExitInfo wait_exit(std::chrono::milliseconds timeout);
  /// Closes its stdin: a healthy agent exits (idempotent).
  void close_input() noexcept;
  /// Kills the process with SIGKILL (idempotent).
  void kill() noexcept;

  /// Bytes of stderr seen so far (a mark for stderr_since).
  [[nodiscard]] std::size_t stderr_mark() const;
  /// Stderr written after `mark` (at most the last 1 MiB is kept).
  [[nodiscard]] std::string stderr_since(std::size_t mark) const;

 private:
  Agent(std::string impl_id, pid_t pid, int in, int out, std::shared_ptr<StderrLog> log);
  void reap(bool block) noexcept;

  std::string impl_id_;             // implementation id
  pid_t pid_;                       // process id
  int in_;                          // write end of its stdin, -1 once closed
  int out_;                         // read end of its stdout
  std::string buffer_;              // stdout bytes read but not yet consumed
  std::shared_ptr<StderrLog> log_;  // stderr collected by the reader thread
  long next_id_ = 1;                // id of the next request
  long waiting_for_ = 0;            // id of the request whose response is due
  bool usable_ = true;              // still fit to take requests
  std::optional<ExitInfo> exit_;    // set once the process has been reaped
};

}  // namespace harness
