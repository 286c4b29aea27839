#include "agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

extern char** environ;

namespace harness {

namespace {
constexpr std::size_t kStderrKeep = std::size_t{1} << 20;  // bytes of stderr kept per agent
}  // namespace

struct StderrLog {
  mutable std::mutex mutex;        // guards everything below
  std::condition_variable eof_cv;  // signalled when the pipe reaches EOF
  std::string text;                // the kept tail
  std::size_t dropped = 0;         // bytes dropped from the front of `text`
  bool eof = false;                // every writer has closed the pipe
};

namespace {

void read_stderr(int fd, std::shared_ptr<StderrLog> log) {
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(log->mutex);
    log->text.append(chunk, static_cast<std::size_t>(n));
    if (log->text.size() > 2 * kStderrKeep) {
      std::size_t cut = log->text.size() - kStderrKeep;
      log->text.erase(0, cut);
      log->dropped += cut;
    }
  }
  ::close(fd);
  std::lock_guard lock(log->mutex);
  log->eof = true;
  log->eof_cv.notify_all();
}

}  // namespace

std::unique_ptr<Agent> Agent::spawn(const std::string& impl_id,
                                    const std::vector<std::string>& argv, std::string* error) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    ::close(in[0]);
    ::close(in[1]);
    return nullptr;
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    return nullptr;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    *error = "cannot start " + argv[0] + ": " + std::strerror(rc);
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return nullptr;
  }
  auto log = std::make_shared<StderrLog>();
  std::thread(read_stderr, err[0], log).detach();
  return std::unique_ptr<Agent>(new Agent(impl_id, pid, in[1], out[0], std::move(log)));
}

Agent::Agent(std::string impl_id, pid_t pid, int in, int out, std::shared_ptr<StderrLog> log)
    : impl_id_(std::move(impl_id)), pid_(pid), in_(in), out_(out), log_(std::move(log)) {}

Agent::~Agent() {
  close_input();
  // A healthy agent exits on EOF at once; give it a moment, then insist.
  for (int i = 0; i < 300 && !exit_; ++i) {
    reap(false);
    if (!exit_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exit_) {
    kill();
    reap(true);
  }
  ::close(out_);
}

void Agent::reap(bool block) noexcept {
  if (exit_) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    ExitInfo info;
    info.exited = true;
    if (WIFEXITED(status)) info.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) info.signal = WTERMSIG(status);
    exit_ = info;
    usable_ = false;
  } else if (r < 0) {
    exit_ = ExitInfo{true, -1, 0};
    usable_ = false;
  }
}

void Agent::close_input() noexcept {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
  usable_ = false;
}

void Agent::kill() noexcept {
  if (!exit_) ::kill(pid_, SIGKILL);
  usable_ = false;
}

bool Agent::send(nlohmann::json request, std::string* error) {
  if (in_ < 0) {
    *error = "agent stdin is closed";
    return false;
  }
  waiting_for_ = next_id_++;
  request["id"] = waiting_for_;
  std::string line = request.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(in_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = std::string("writing to the agent: ") + std::strerror(errno);
      usable_ = false;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

Reply Agent::receive(std::chrono::milliseconds timeout) {
  Reply reply;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.empty()) continue;
      try {
        reply.response = nlohmann::json::parse(line);
      } catch (const std::exception& e) {
        reply.status = Reply::Status::kGarbage;
        reply.detail = "not JSON on stdout: " + line.substr(0, 200);
        usable_ = false;
        return reply;
      }
      if (!reply.response.is_object() || !reply.response.contains("ok") ||
          reply.response.value("id", nlohmann::json()) != nlohmann::json(waiting_for_)) {
        reply.status = Reply::Status::kGarbage;
        reply.detail = "not the response to request " + std::to_string(waiting_for_) + ": " +
                       line.substr(0, 200);
        usable_ = false;
        return reply;
      }
      return reply;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      reply.status = Reply::Status::kTimeout;
      reply.detail = "no response within " + std::to_string(timeout.count()) + " ms";
      kill();
      return reply;
    }
    pollfd pfd{out_, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    char chunk[65536];
    ssize_t n = ::read(out_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      reply.status = Reply::Status::kDied;
      reap(false);
      reply.detail = "the agent closed stdout without answering";
      usable_ = false;
      return reply;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Reply Agent::request(nlohmann::json request, std::chrono::milliseconds timeout) {
  std::string error;
  if (!send(std::move(request), &error)) {
    Reply reply;
    reply.status = Reply::Status::kDied;
    reply.detail = error;
    return reply;
  }
  return receive(timeout);
}

ExitInfo Agent::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  usable_ = false;
  while (!exit_ && std::chrono::steady_clock::now() < deadline) {
    reap(false);
    if (!exit_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exit_) return ExitInfo{};
  std::unique_lock lock(log_->mutex);
  if (!log_->eof_cv.wait_until(lock, deadline, [&] { return log_->eof; })) return ExitInfo{};
  return *exit_;
}

std::size_t Agent::stderr_mark() const {
  std::lock_guard lock(log_->mutex);
  return log_->dropped + log_->text.size();
}

std::string Agent::stderr_since(std::size_t mark) const {
  std::lock_guard lock(log_->mutex);
  if (mark <= log_->dropped) return log_->text;
  std::size_t from = mark - log_->dropped;
  return from >= log_->text.size() ? std::string() : log_->text.substr(from);
}

}  // namespace harness
