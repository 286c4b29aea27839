// The pickles of multiprocessing.synchronize objects (libshm/src/sync_pickle.hpp) against every
// CPython compat/tools/find_cpythons.py finds: dumps() writes byte for byte what spawn's
// ForkingPickler writes (protocols 2 - 5), loads() reads all of it (optimized too), each
// CPython's pickle.loads turns dumps() of its own objects' states into objects on the same
// semaphores; and loads() on hostile input: truncations, mutations, foreign globals, deep
// nesting, huge lengths, missing memo entries, oversized input (run under ASan/UBSan too).
#include "../src/sync_pickle.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/hex.hpp"
#include "libshm/pickle.hpp"
#include "libshm/sync.hpp"
#include "test_support.hpp"

extern char** environ;

namespace shm::detail::sync_pickle {
namespace {

using namespace std::string_literals;
using json = nlohmann::json;

// ---- states and bytes

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

State loads_text(std::string_view text) {
  return loads(bytes_of(text));
}

SemLockState semlock(Class cls, std::string name, std::int64_t handle = 140183449600000) {
  SemLockState s;
  s.cls = cls;
  s.handle = handle;
  s.kind = cls == Class::rlock ? 0 : 1;
  s.maxvalue = cls == Class::semaphore ? kSemValueMax : 1;
  s.name = std::move(name);
  return s;
}

ConditionState condition(Class lock, const std::string& prefix) {
  return {semlock(lock, prefix + "l"), semlock(Class::semaphore, prefix + "s"),
          semlock(Class::semaphore, prefix + "w"), semlock(Class::semaphore, prefix + "x")};
}

EventState event(const std::string& prefix) {
  return {condition(Class::lock, prefix), semlock(Class::semaphore, prefix + "f")};
}

// One state of each shape, with names a CPython could have made.
std::vector<State> sample_states() {
  SemLockState bounded = semlock(Class::bounded_semaphore, "/mp-b0und3d_");
  bounded.maxvalue = 2;
  return {semlock(Class::lock, "/mp-4xzdrkre"),
          semlock(Class::rlock, "/mp-b61gj_63"),
          semlock(Class::semaphore, "/mp-djfwaze3"),
          bounded,
          condition(Class::rlock, "/mp-c0nd"),
          condition(Class::lock, "/mp-c0nl"),
          event("/mp-ev3n")};
}

Class class_named(const std::string& name) {
  for (Class cls : {Class::lock, Class::rlock, Class::semaphore, Class::bounded_semaphore,
                    Class::condition, Class::event}) {
    if (class_name(cls) == name) return cls;
  }
  ADD_FAILURE() << "no class " << name;
  return Class::lock;
}

SemLockState semlock_from(const json& j) {
  SemLockState s;
  s.cls = class_named(j.at("class").get<std::string>());
  s.handle = j.at("handle").get<std::int64_t>();
  s.kind = j.at("kind").get<int>();
  s.maxvalue = j.at("maxvalue").get<std::int64_t>();
  s.name = j.at("name").get<std::string>();
  return s;
}

ConditionState condition_from(const json& j) {
  return {semlock_from(j.at("lock")), semlock_from(j.at("sleeping_count")),
          semlock_from(j.at("woken_count")), semlock_from(j.at("wait_semaphore"))};
}

State state_from(const json& j) {
  const std::string cls = j.at("class").get<std::string>();
  if (cls == "Condition") return condition_from(j);
  if (cls == "Event") return EventState{condition_from(j.at("cond")), semlock_from(j.at("flag"))};
  return semlock_from(j);
}

// Every semaphore name in a state.
std::vector<std::string> names_of(const State& state) {
  auto of_condition = [](const ConditionState& c) {
    return std::vector<std::string>{c.lock.name, c.sleeping_count.name, c.woken_count.name,
                                    c.wait_semaphore.name};
  };
  if (const auto* s = std::get_if<SemLockState>(&state)) return {s->name};
  if (const auto* c = std::get_if<ConditionState>(&state)) return of_condition(*c);
  const auto& e = std::get<EventState>(state);
  auto names = of_condition(e.cond);
  names.push_back(e.flag.name);
  return names;
}

std::string describe(const State& state) {
  std::string out;
  for (const auto& name : names_of(state)) out += (out.empty() ? "" : ", ") + name;
  return "state with " + out;
}

// ---- CPython

using Interpreter = test::CPython;
using test::cpythons;

bool semaphore_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/dev/shm/sem." + name.substr(1)).c_str(), &st) == 0;
}

// The probe's "dumps" JSON lines, or nothing (with a test failure) if it did not run cleanly.
// Its semaphores must be gone once it has ended (CPython's finalizers unlink them).
std::vector<json> probe_dumps(const Interpreter& python) {
  const auto result = test::run_child({python.executable, LIBSHM_SYNC_PICKLE_PROBE, "dumps"},
                                      std::chrono::minutes(2));
  EXPECT_EQ(result.exit_code, 0) << python.version << ": " << result.err;
  std::vector<json> out;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    out.push_back(json::parse(line));
    if (!out.back().contains("state")) continue;
    for (const auto& name : names_of(state_from(out.back().at("state")))) {
      EXPECT_FALSE(semaphore_exists(name)) << name << " left by the probe";
    }
  }
  return out;
}

bool older_than_314(const std::string& version) {
  unsigned major = 0;
  unsigned minor = 0;
  std::sscanf(version.c_str(), "%u.%u", &major, &minor);
  return major == 3 && minor < 14;
}

#define REQUIRE_CPYTHONS(list)  \
  const auto list = cpythons(); \
  if (list.empty()) GTEST_SKIP() << "no CPython 3.8+ found (find_cpythons.py)";

TEST(SyncPickle, DumpsWritesWhatEveryCPythonsSpawnWrites) {
  REQUIRE_CPYTHONS(pythons);
  for (const auto& python : pythons) {
    SCOPED_TRACE("CPython " + python.version);
    const auto lines = probe_dumps(python);
    ASSERT_GT(lines.size(), 1u);
    const int default_protocol = lines[0].at("default_protocol").get<int>();
    // What spawn uses: pickle.DEFAULT_PROTOCOL, 4 before 3.14 and 5 from 3.14 on.
    EXPECT_EQ(default_protocol, older_than_314(python.version) ? 4 : 5);
    std::cout << "CPython " << python.version << ": spawn pickles with protocol "
              << default_protocol << "\n";
    int compared = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::string name = lines[i].at("case").get<std::string>();
      const State state = state_from(lines[i].at("state"));
      for (const auto& pickle : lines[i].at("pickles")) {
        const int protocol = pickle.at("protocol").get<int>();
        if (protocol < kMinProtocol || pickle.at("optimized").get<bool>()) continue;
        EXPECT_EQ(to_hex(dumps(state, protocol)), pickle.at("hex").get<std::string>())
            << name << ", protocol " << protocol
            << (pickle.at("default").get<bool>() ? " (spawn's default)" : "");
        ++compared;
      }
    }
    // 9 objects, protocols 2 - 5 and the default one.
    EXPECT_EQ(compared, 9 * 5);
  }
}

TEST(SyncPickle, LoadsReadsWhatEveryCPythonWrites) {
  REQUIRE_CPYTHONS(pythons);
  for (const auto& python : pythons) {
    SCOPED_TRACE("CPython " + python.version);
    const auto lines = probe_dumps(python);
    ASSERT_GT(lines.size(), 1u);
    int read = 0;
    int refused = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::string name = lines[i].at("case").get<std::string>();
      const State state = state_from(lines[i].at("state"));
      for (const auto& pickle : lines[i].at("pickles")) {
        const int protocol = pickle.at("protocol").get<int>();
        const bool optimized = pickle.at("optimized").get<bool>();
        const auto data = from_hex(pickle.at("hex").get<std::string>());
        const std::string what =
            name + ", protocol " + std::to_string(protocol) + (optimized ? ", optimized" : "");
        if (protocol < kMinProtocol) {
          // copy_reg._reconstructor ... REDUCE: refused, saying why (sync_pickle.hpp).
          try {
            loads(data);
            ADD_FAILURE() << what << ": accepted";
          } catch (const pickle::PickleError& e) {
            EXPECT_NE(std::string(e.what()).find("protocol 0 or 1"), std::string::npos)
                << what << ": " << e.what();
            ++refused;
          }
          continue;
        }
        try {
          EXPECT_EQ(loads(data), state) << what;
          ++read;
        } catch (const pickle::PickleError& e) {
          ADD_FAILURE() << what << ": " << e.what() << "\n" << to_hex(data);
        }
      }
    }
    EXPECT_EQ(read, 9 * (4 * 2 + 1));
    EXPECT_EQ(refused, 9 * 2 * 2);
  }
}

// A CPython running sync_pickle_probe.py loads: lines to its stdin, lines from its stdout.
class ProbeSession {
 public:
  explicit ProbeSession(const Interpreter& python) {
    int in[2];
    int stdout_pipe[2];
    int stderr_pipe[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(stdout_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(stderr_pipe, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, stdout_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, stderr_pipe[1], STDERR_FILENO);
    std::vector<std::string> argv{python.executable, LIBSHM_SYNC_PICKLE_PROBE, "loads"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(stdout_pipe[1]);
    ::close(stderr_pipe[1]);
    in_ = in[1];
    out_ = stdout_pipe[0];
    err_ = stderr_pipe[0];
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << python.executable << ": " << std::strerror(rc);
      pid_ = -1;
    }
    // A probe that died must fail the test, not kill it with SIGPIPE.
    old_sigpipe_ = ::signal(SIGPIPE, SIG_IGN);
  }

  ProbeSession(const ProbeSession&) = delete;
  ProbeSession& operator=(const ProbeSession&) = delete;

  ~ProbeSession() {
    if (pid_ > 0) finish();
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) ::close(fd);
    }
    ::signal(SIGPIPE, old_sigpipe_);
  }

  void write_line(const std::string& line) {
    const std::string data = line + "\n";
    for (std::size_t done = 0; done < data.size();) {
      const ssize_t n = ::write(in_, data.data() + done, data.size() - done);
      if (n <= 0) {
        ADD_FAILURE() << "writing to the probe: " << std::strerror(errno) << "; stderr: " << err;
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  }

  // The next line, or nothing at end of output or after 60 s (a failure).
  std::optional<std::string> read_line() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      const auto newline = out.find('\n');
      if (newline != std::string::npos) {
        std::string line = out.substr(0, newline);
        out.erase(0, newline + 1);
        return line;
      }
      if (!pump(deadline)) return std::nullopt;
    }
  }

  // Closes the probe's input, reads to the end of its output (and its resource tracker's),
  // returns its exit code.
  int finish() {
    if (in_ >= 0) {
      ::close(in_);
      in_ = -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (pump(deadline)) {
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string out;  // read, not yet returned by read_line
  std::string err;  // everything it wrote to stderr

 private:
  // Reads what is there from stdout or stderr; false at the end of stdout or the deadline.
  bool pump(std::chrono::steady_clock::time_point deadline) {
    while (out_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ADD_FAILURE() << "the probe did not answer in time; stderr: " << err;
        ::kill(pid_, SIGKILL);
        return false;
      }
      pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      if (::poll(fds, err_ >= 0 ? 2 : 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      if (err_ >= 0 && fds[1].revents != 0) {
        const ssize_t n = ::read(err_, buf, sizeof buf);
        if (n > 0) {
          err.append(buf, static_cast<std::size_t>(n));
        } else {
          ::close(err_);
          err_ = -1;
        }
      }
      if (fds[0].revents != 0) {
        const ssize_t n = ::read(out_, buf, sizeof buf);
        if (n <= 0) {
          ::close(out_);
          out_ = -1;
          return false;
        }
        out.append(buf, static_cast<std::size_t>(n));
        return true;
      }
    }
    return false;
  }

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  sighandler_t old_sigpipe_ = SIG_DFL;
};

TEST(SyncPickle, EveryCPythonUnpicklesDumpsOntoItsOwnSemaphores) {
  REQUIRE_CPYTHONS(pythons);
  for (const auto& python : pythons) {
    SCOPED_TRACE("CPython " + python.version);
    ProbeSession probe(python);
    std::vector<std::pair<std::string, State>> cases;
    for (auto line = probe.read_line(); line && *line != "ready"; line = probe.read_line()) {
      const json j = json::parse(*line);
      cases.emplace_back(j.at("case").get<std::string>(), state_from(j.at("state")));
    }
    ASSERT_EQ(cases.size(), 9u) << probe.err;
    int ok = 0;
    for (const auto& [name, state] : cases) {
      for (int protocol = kMinProtocol; protocol <= kMaxProtocol; ++protocol) {
        probe.write_line(name + " " + to_hex(dumps(state, protocol)));
        const auto reply = probe.read_line();
        ASSERT_TRUE(reply) << probe.err;
        EXPECT_EQ(*reply, "ok " + name) << "protocol " << protocol;
        ok += *reply == "ok " + name ? 1 : 0;
      }
    }
    EXPECT_EQ(ok, 9 * 4);
    // The check can fail: a Lock on a semaphore that does not exist is no Lock of the probe's.
    SemLockState missing = std::get<SemLockState>(cases[0].second);
    missing.name = "/mp-" + test::unique_name().substr(8, 8);
    probe.write_line(cases[0].first + " " + to_hex(dumps(missing, 4)));
    const auto reply = probe.read_line();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->rfind("FAIL Lock: FileNotFoundError", 0), 0u) << *reply;
    probe.write_line("end");
    EXPECT_EQ(probe.finish(), 0) << probe.err;
    // The probe's objects unlinked their semaphores when it ended; the loaded ones never own.
    for (const auto& [name, state] : cases) {
      for (const auto& semaphore : names_of(state)) {
        EXPECT_FALSE(semaphore_exists(semaphore)) << semaphore << " of " << name << " left";
      }
    }
  }
}

// ---- without CPython

TEST(SyncPickle, LoadsReadsBackWhatDumpsWrites) {
  std::vector<State> states = sample_states();
  // Every integer encoding a handle can take, and the name lengths at the bounds.
  for (std::int64_t handle : {std::int64_t{0}, std::int64_t{255}, std::int64_t{256},
                              std::int64_t{65535}, std::int64_t{65536}, std::int64_t{0x7fffffff},
                              std::int64_t{0x80000000}, std::int64_t{0x7fffffffffffffff}}) {
    states.push_back(semlock(Class::lock, "/a", handle));
  }
  states.push_back(semlock(Class::rlock, "/" + std::string(251, 'n')));
  for (std::int64_t maxvalue : {std::int64_t{0}, std::int64_t{1}, std::int64_t{255},
                                std::int64_t{256}, std::int64_t{65536}, kSemValueMax}) {
    SemLockState bounded = semlock(Class::bounded_semaphore, "/mp-bounded");
    bounded.maxvalue = maxvalue;
    states.push_back(bounded);
  }
  // The same Semaphore twice, and an Event whose flag is its Condition's wait semaphore.
  ConditionState shared = condition(Class::rlock, "/mp-shared");
  shared.woken_count = shared.sleeping_count;
  states.push_back(shared);
  EventState flag_shared = event("/mp-flag");
  flag_shared.flag = flag_shared.cond.wait_semaphore;
  states.push_back(flag_shared);
  for (const auto& state : states) {
    for (int protocol = kMinProtocol; protocol <= kMaxProtocol; ++protocol) {
      const std::string data = dumps(state, protocol);
      EXPECT_EQ(loads_text(data), state) << describe(state) << ", protocol " << protocol;
    }
  }
  // A shared object is written once and fetched: shorter than two copies.
  ConditionState unshared = shared;
  unshared.woken_count.name += "2";
  EXPECT_LT(dumps(shared, 2).size() + 20, dumps(unshared, 2).size());
}

template <class F>
std::string invalid(F&& call, Errc code) {
  try {
    call();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no InvalidArgument";
  return {};
}

TEST(SyncPickle, DumpsRefusesWhatLoadsWouldRefuse) {
  const State lock = semlock(Class::lock, "/mp-x");
  for (int protocol : {-1, 0, 1, 6}) {
    EXPECT_NE(invalid([&] { dumps(lock, protocol); }, Errc::invalid_argument)
                  .find("pickle protocol " + std::to_string(protocol)),
              std::string::npos);
  }
  SemLockState s = semlock(Class::lock, "/mp-x");
  s.kind = 0;
  EXPECT_EQ(invalid([&] { dumps(s, 4); }, Errc::invalid_argument),
            "cannot pickle this synchronisation object: a Lock's kind must be 1 (a semaphore), "
            "got 0");
  s = semlock(Class::semaphore, "/mp-x");
  s.maxvalue = 7;
  invalid([&] { dumps(s, 4); }, Errc::invalid_argument);
  s = semlock(Class::bounded_semaphore, "/mp-x");
  s.maxvalue = kSemValueMax + 1;
  invalid([&] { dumps(s, 4); }, Errc::invalid_argument);
  s = semlock(Class::lock, "/mp-x", -1);
  invalid([&] { dumps(s, 4); }, Errc::invalid_argument);
  for (const std::string& name :
       {"mp-x"s, "/"s, "/a/b"s, "/a\0b"s, "/caf\xc3\xa9"s, "/" + std::string(252, 'n')}) {
    s = semlock(Class::lock, name);
    invalid([&] { dumps(s, 4); }, Errc::invalid_name);
  }
  s = semlock(Class::condition, "/mp-x");
  invalid([&] { dumps(s, 4); }, Errc::invalid_argument);
  ConditionState c = condition(Class::semaphore, "/mp-c");
  EXPECT_EQ(invalid([&] { dumps(c, 4); }, Errc::invalid_argument),
            "cannot pickle this synchronisation object: a Condition's lock cannot be a Semaphore "
            "(a SemLockState)");
  EventState e = event("/mp-e");
  e.cond.lock = semlock(Class::rlock, "/mp-r");
  invalid([&] { dumps(e, 4); }, Errc::invalid_argument);
  e = event("/mp-e");
  e.flag = semlock(Class::lock, "/mp-f");
  invalid([&] { dumps(e, 4); }, Errc::invalid_argument);
}

// ---- hostile input

// The message of the PickleError loads() throws, "" (a failure) if it accepts.
std::string refusal(std::string_view data) {
  try {
    const State state = loads_text(data);
    ADD_FAILURE() << "accepted a " << describe(state) << ": " << to_hex(data);
  } catch (const pickle::PickleError& e) {
    EXPECT_EQ(e.code(), Errc::bad_pickle);
    return e.what();
  }
  return {};
}

// Protocol 2 pieces, to assemble pickles CPython would not write.
std::string global2(std::string_view cls) {
  return "cmultiprocessing.synchronize\n"s + std::string(cls) + "\n";
}
std::string str2(std::string_view text) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i) out += static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return out + std::string(text);
}
std::string int1(int value) {
  return "K"s + static_cast<char>(value);
}
std::string int4(std::uint32_t value) {
  std::string out = "J";
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}
// A SemLock object with the state items `items` (its BUILD included).
std::string object2(std::string_view cls, const std::string& items) {
  return global2(cls) + ")\x81(" + items + "tb";
}
std::string lock_items(std::string_view name = "/mp-x") {
  return int1(1) + int1(1) + int1(1) + str2(name);
}
std::string semaphore2(std::string_view name) {
  return object2("Semaphore", int1(1) + int1(1) + int4(0x7fffffff) + str2(name));
}
std::string condition2(std::string_view lock) {
  return global2("Condition") + ")\x81(" + std::string(lock) + semaphore2("/mp-s") +
         semaphore2("/mp-w") + semaphore2("/mp-x") + "tb";
}
const std::string kProto2 = "\x80\x02";

TEST(SyncPickleHostile, AHandcraftedProtocol2PickleIsRead) {
  // The assembler below makes what loads() reads, so the refusals are about what they change.
  EXPECT_EQ(loads_text(kProto2 + object2("Lock", lock_items()) + "."),
            State{semlock(Class::lock, "/mp-x", 1)});
  const std::string event = kProto2 + global2("Event") + ")\x81}(" + str2("_cond") +
                            condition2(object2("Lock", lock_items("/mp-l"))) + str2("_flag") +
                            semaphore2("/mp-f") + "ub.";
  EXPECT_TRUE(std::holds_alternative<EventState>(loads_text(event)));
}

TEST(SyncPickleHostile, AnEventsKeysAreTakenInEitherOrder) {
  // CPython writes '_cond' first; the other order is the same __dict__, and the same Event.
  const std::string cond = str2("_cond") + condition2(object2("Lock", lock_items("/mp-l")));
  const std::string flag = str2("_flag") + semaphore2("/mp-f");
  const std::string head = kProto2 + global2("Event") + ")\x81}(";
  const State in_order = loads_text(head + cond + flag + "ub.");
  ASSERT_TRUE(std::holds_alternative<EventState>(in_order));
  EXPECT_EQ(std::get<EventState>(in_order).flag.name, "/mp-f");
  EXPECT_EQ(loads_text(head + flag + cond + "ub."), in_order);
}

TEST(SyncPickleHostile, OtherGlobalsAreRefusedByName) {
  EXPECT_EQ(refusal(kProto2 + "cposix\nsystem\n" + str2("id") + "\x85R."),
            "offset 2: global 'posix.system' is not allowed: only "
            "multiprocessing.synchronize.Lock, RLock, Semaphore, BoundedSemaphore, Condition "
            "and Event");
  // STACK_GLOBAL (protocol 4): the offset of the module string.
  EXPECT_EQ(refusal("\x80\x04\x8c\x08"
                    "builtins\x94\x8c\x04"
                    "eval\x94\x93."s),
            "offset 2: global 'builtins.eval' is not allowed: only "
            "multiprocessing.synchronize.Lock, RLock, Semaphore, BoundedSemaphore, Condition "
            "and Event");
  EXPECT_NE(refusal(kProto2 + "cos\nsystem\n.").find("global 'os.system' is not allowed"),
            std::string::npos);
  // The same module, a class not read (Barrier is not among the six).
  EXPECT_NE(refusal(kProto2 + global2("Barrier") + ")\x81.")
                .find("global 'multiprocessing.synchronize.Barrier' is not allowed"),
            std::string::npos);
  // As a nested object: a Condition whose lock is something else.
  EXPECT_NE(refusal(kProto2 + condition2("cbuiltins\neval\n)\x81(tb") + ".")
                .find("global 'builtins.eval' is not allowed"),
            std::string::npos);
}

TEST(SyncPickleHostile, HandlePicklesAreNamed) {
  for (int protocol = 0; protocol <= 5; ++protocol) {
    SCOPED_TRACE(protocol);
    const auto block = pickle::dumps_shared_memory("psm_1234", 4096, protocol);
    EXPECT_NE(refusal(std::string_view(reinterpret_cast<const char*>(block.data()), block.size()))
                  .find("SharedMemory handle, not of a synchronisation object"),
              std::string::npos);
    for (auto reducer : {pickle::Style::Reducer::pickle, pickle::Style::Reducer::forking}) {
      const auto list = pickle::dumps_shareable_list("psm_1234", protocol, {reducer, false});
      EXPECT_NE(refusal(std::string_view(reinterpret_cast<const char*>(list.data()), list.size()))
                    .find("ShareableList handle, not of a synchronisation object"),
                std::string::npos);
    }
  }
}

TEST(SyncPickleHostile, StructureErrorsSayWhatIsWrongAndWhere) {
  // Offsets: PROTO 2, then the GLOBAL (34 bytes for Lock, one more for RLock), EMPTY_TUPLE at
  // 36, NEWOBJ, MARK at 38, the handle, the kind at 41 (42 for RLock), ...
  EXPECT_EQ(refusal(kProto2 + object2("Lock", int1(1) + int1(1) + str2("/mp-x")) + "."),
            "offset 38: a Lock's state must be (handle, kind, maxvalue, name), got a tuple of 3");
  EXPECT_EQ(refusal(kProto2 + object2("RLock", lock_items()) + "."),
            "offset 42: an RLock's kind must be 0 (a recursive mutex), got 1");
  EXPECT_EQ(refusal(kProto2 + object2("Semaphore", lock_items()) + "."),
            "offset 48: a Semaphore's maxvalue must be 2147483647 (SEM_VALUE_MAX), got 1");
  EXPECT_NE(
      refusal(kProto2 +
              object2("BoundedSemaphore", int1(1) + int1(1) + "J\xff\xff\xff\xff" + str2("/m")) +
              ".")
          .find("a BoundedSemaphore's maxvalue must be 0 to 2147483647 (SEM_VALUE_MAX), "
                "got -1"),
      std::string::npos);
  // A negative handle (LONG1 with its sign bit), and one of 9 bytes.
  EXPECT_NE(
      refusal(kProto2 + object2("Lock", "\x8a\x01\xff"s + int1(1) + int1(1) + str2("/a")) + ".")
          .find("must not be negative, got -1"),
      std::string::npos);
  EXPECT_NE(refusal(kProto2 +
                    object2("Lock",
                            "\x8a\x09" + std::string(9, '\x01') + int1(1) + int1(1) + str2("/a")) +
                    ".")
                .find("the handle is a LONG1 of more than 8 bytes"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + object2("Lock", int1(1) + int1(1) + int1(1) + int1(1)) + ".")
                .find("a Lock's name must be a str, got the integer 1"),
            std::string::npos);
  for (const auto& [name, why] : std::vector<std::pair<std::string, std::string>>{
           {"mp-x", "does not start with '/'"},
           {"/", "has nothing after its '/'"},
           {"/a/b", "has a second '/' at byte 2"},
           {"/a\0b"s, "has a NUL at byte 2"},
           {"/caf\xc3\xa9", "has a non-ASCII byte at byte 4"},
           {"/" + std::string(252, 'n'), "is too long: 252 bytes after its '/', at most 251"}}) {
    EXPECT_NE(refusal(kProto2 + object2("Lock", lock_items(name)) + ".").find(why),
              std::string::npos)
        << why;
  }
  // A Condition's lock must be a Lock or an RLock, its others Semaphores.
  EXPECT_NE(refusal(kProto2 + condition2(semaphore2("/mp-l")) + ".")
                .find("a Condition's lock must be a Lock or an RLock, got a Semaphore object"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + global2("Condition") + ")\x81(" + object2("Lock", lock_items()) +
                    semaphore2("/s") + semaphore2("/w") + "tb.")
                .find("a Condition's state must be (lock, sleeping_count, woken_count, "
                      "wait_semaphore), got a tuple of 3"),
            std::string::npos);
  // An Event: its Condition over a Lock, exactly the keys '_cond' and '_flag'.
  const std::string rlock_event =
      kProto2 + global2("Event") + ")\x81}(" + str2("_cond") +
      condition2(object2("RLock", "K\x00"s + int1(0) + int1(1) + str2("/mp-r"))) + str2("_flag") +
      semaphore2("/mp-f") + "ub.";
  EXPECT_NE(refusal(rlock_event).find("an Event's Condition's lock must be a Lock, got an RLock"),
            std::string::npos);
  const std::string extra_key = kProto2 + global2("Event") + ")\x81}(" + str2("_cond") +
                                condition2(object2("Lock", lock_items())) + str2("_flag") +
                                semaphore2("/mp-f") + str2("_extra") + int1(1) + "ub.";
  EXPECT_NE(refusal(extra_key).find("has the str '_extra' as a key"), std::string::npos);
  const std::string twice = kProto2 + global2("Event") + ")\x81}(" + str2("_flag") +
                            semaphore2("/mp-f") + str2("_flag") + semaphore2("/mp-g") + "ub.";
  EXPECT_NE(refusal(twice).find("has the key '_flag' twice"), std::string::npos);
  const std::string no_flag = kProto2 + global2("Event") + ")\x81}" + str2("_cond") +
                              condition2(object2("Lock", lock_items())) + "sb.";
  EXPECT_NE(refusal(no_flag).find("lacks the key '_flag'"), std::string::npos);
  EXPECT_NE(refusal(kProto2 + global2("Event") + ")\x81" + object2("Lock", lock_items()) + "b.")
                .find("an Event's state must be its __dict__"),
            std::string::npos);
}

TEST(SyncPickleHostile, OpcodesOutsideTheShapesAreRefused) {
  const std::string lock = kProto2 + object2("Lock", lock_items());
  EXPECT_EQ(refusal(lock), "offset 57: the pickle ends without STOP");
  EXPECT_EQ(refusal(lock + ".x"), "offset 58: 1 more bytes after STOP");
  EXPECT_EQ(refusal(lock + lock.substr(2) + "."),
            "offset 112: STOP with 2 values on the stack: a pickle leaves exactly one");
  EXPECT_NE(
      refusal(lock + "b.").find("BUILD needs an object and its state, but the stack is empty"),
      std::string::npos);
  EXPECT_NE(refusal(kProto2 + global2("Lock") + ")\x81(" + lock_items() +
                    "tbK\x01"
                    "b.")
                .find("BUILD a second time for the Lock made at offset 37"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + global2("Lock") + int1(1) + "\x85\x81.")
                .find("NEWOBJ's arguments must be the empty tuple"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + global2("Lock") + "N\x81.").find("opcode NONE is not allowed"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + global2("Lock") + ")R.").find("opcode REDUCE is not allowed"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + "\xff.").find("byte 0xff, which is no opcode,"), std::string::npos);
  EXPECT_EQ(refusal(kProto2 + "\x80\x02."), "offset 2: a second PROTO (CPython writes one, first)");
  EXPECT_NE(refusal("\x80\x01.").find("protocol 1 is not read"), std::string::npos);
  EXPECT_NE(refusal("\x80\x06.").find("protocol 6 is not read"), std::string::npos);
  EXPECT_NE(refusal("(t.").find("no PROTO opcode"), std::string::npos);
  EXPECT_EQ(refusal(""), "offset 0: no data: the pickle is empty");
  EXPECT_NE(refusal(kProto2 + "t.").find("TUPLE without a MARK"), std::string::npos);
  EXPECT_NE(refusal(kProto2 + "(\x85.").find("stack has nothing above its MARK"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + "(.").find("STOP with the MARK at offset 2 still open"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + "}" + int1(1) + "u.").find("SETITEMS without a MARK"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + "}(" + int1(1) + "u.").find("odd number of items (1)"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + ")" + int1(1) + int1(1) + "s.").find("SETITEM(S) needs a dict"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + int1(1) + ")\x81.").find("NEWOBJ needs a class, got the integer 1"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + int1(1) + str2("x") + "\x93.")
                .find("STACK_GLOBAL needs a module and a name (two str), got the integer 1"),
            std::string::npos);
  EXPECT_EQ(refusal(kProto2 + ")."),
            "offset 2: the pickle makes an empty tuple, not a multiprocessing.synchronize object");
  EXPECT_NE(refusal(kProto2 + global2("Lock") + ")\x81.").find("has no state (no BUILD)"),
            std::string::npos);
}

TEST(SyncPickleHostile, MemoFetchesOfNothingAreRefused) {
  EXPECT_EQ(refusal(kProto2 + "h\x07."),
            "offset 2: BINGET 7: nothing was stored at that memo index");
  EXPECT_EQ(refusal(kProto2 + ")r\xff\xff\xff\xffj\xfe\xff\xff\xff."),
            "offset 8: LONG_BINGET 4294967294: nothing was stored at that memo index");
  EXPECT_NE(refusal(kProto2 + "\x94.").find("MEMOIZE needs a value, but the stack is empty"),
            std::string::npos);
  // A memo store far out is fine (a map, not an array of that size); fetching it works.
  EXPECT_EQ(refusal(kProto2 + ")r\xff\xff\xff\xffj\xff\xff\xff\xff."),
            "offset 13: STOP with 2 values on the stack: a pickle leaves exactly one");
}

TEST(SyncPickleHostile, HugeLengthsAreCheckedBeforeUse) {
  EXPECT_EQ(refusal(kProto2 + "X\xff\xff\xff\xff"
                              "abc."),
            "offset 7: BINUNICODE's string needs 4294967295 bytes, but only 4 remain before the "
            "end of the pickle");
  EXPECT_NE(refusal(kProto2 + "\x8c\xff"
                              "abc.")
                .find("needs 255 bytes, but only 4 remain"),
            std::string::npos);
  EXPECT_NE(refusal(kProto2 + "\x8a\xff"
                              "abc.")
                .find("LONG1's number needs 255 bytes"),
            std::string::npos);
  EXPECT_EQ(refusal("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xff."),
            "offset 2: FRAME says 18446744073709551615 bytes follow, but only 1 do (a truncated "
            "pickle or a wrong frame length)");
  // An opcode whose argument runs past the end of its frame.
  EXPECT_NE(refusal("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00\x8c\x05"
                    "abcde."s)
                .find("needs 5 bytes, but only 0 remain before the end of the frame"),
            std::string::npos);
  EXPECT_NE(
      refusal("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00)\x95\x00"s).find("a FRAME inside"),
      std::string::npos);
  EXPECT_NE(refusal(kProto2 + "cmultiprocessing.synchronize").find("has no newline"),
            std::string::npos);
}

TEST(SyncPickleHostile, DeepNestingAndLongInputAreBounded) {
  // MARKs nest at most 8 deep (CPython's pickles of these objects need 3).
  EXPECT_EQ(refusal(kProto2 + std::string(60000, '(')),
            "offset 10: MARK nested 9 deep: no synchronisation object's pickle nests more than 3");
  // Tuples in tuples without MARK: 60000 levels, read without recursion.
  EXPECT_EQ(refusal(kProto2 + ")" + std::string(60000, '\x85') + "."),
            "offset 60002: the pickle makes a tuple of 1, not a multiprocessing.synchronize "
            "object");
  // 60000 values left on the stack.
  EXPECT_NE(refusal(kProto2 + std::string(60000, ')') + ".").find("STOP with 60000 values"),
            std::string::npos);
  // A BUILD that gives an object itself as its state: a cycle, refused without a loop.
  EXPECT_NE(refusal(kProto2 + global2("Lock") +
                    ")\x81q\x00h\x00"s
                    "b.")
                .find("a Lock's state must be (handle, kind, maxvalue, name), got a Lock object"),
            std::string::npos);
  // 64 KiB is read (and refused for what it is), 64 KiB + 1 is not read.
  std::string big = dumps(semlock(Class::lock, "/mp-x"), 2);
  big.resize(kMaxPickleBytes, '.');
  EXPECT_NE(refusal(big).find("more bytes after STOP"), std::string::npos);
  big += '.';
  EXPECT_EQ(refusal(big),
            "offset 65536: the pickle has 65537 bytes, more than the 65536 read (a "
            "synchronisation object's pickle has under 2 KiB)");
}

TEST(SyncPickleHostile, EveryTruncationIsRefused) {
  std::size_t refused = 0;
  std::size_t truncations = 0;
  for (const auto& state : sample_states()) {
    for (int protocol = kMinProtocol; protocol <= kMaxProtocol; ++protocol) {
      const std::string data = dumps(state, protocol);
      truncations += data.size();
      for (std::size_t n = 0; n < data.size(); ++n) {
        try {
          loads_text(std::string_view(data).substr(0, n));
          ADD_FAILURE() << "accepted the first " << n << " bytes of " << to_hex(data);
        } catch (const pickle::PickleError& e) {
          EXPECT_LE(e.offset(), n) << e.what();
          ++refused;
        }
      }
    }
  }
  EXPECT_EQ(refused, truncations);
  EXPECT_GT(truncations, 4000u);
}

TEST(SyncPickleHostile, SingleByteMutationsAreRefusedOrReadConsistently) {
  // Deterministic: the same mutations every run.
  std::mt19937_64 random(24);
  int refused = 0;
  int accepted = 0;
  for (const auto& state : sample_states()) {
    for (int protocol = kMinProtocol; protocol <= kMaxProtocol; ++protocol) {
      const std::string data = dumps(state, protocol);
      for (int i = 0; i < 400; ++i) {
        std::string mutated = data;
        const std::size_t at = random() % data.size();
        mutated[at] = static_cast<char>(data[at] ^ static_cast<char>(1 + random() % 255));
        try {
          // Read: then it is a state dumps() writes and reads back as the same state.
          const State read = loads_text(mutated);
          EXPECT_EQ(loads_text(dumps(read, protocol)), read) << to_hex(mutated);
          ++accepted;
        } catch (const pickle::PickleError& e) {
          EXPECT_LE(e.offset(), mutated.size()) << e.what();
          ++refused;
        }
      }
    }
  }
  std::cout << "mutations: " << refused << " refused, " << accepted << " read\n";
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0);  // a changed name byte is still a name: the check is not vacuous
}

}  // namespace
}  // namespace shm::detail::sync_pickle
