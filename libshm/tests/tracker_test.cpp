// The resource tracker: blocks outlive neither a crashed nor a careless creator, and nothing
// else is touched.
#include "libshm/tracker.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "libshm/shared_memory.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using test::BlockCleanup;

std::string leak_warning(const std::string& name) {
  return "There appear to be 1 leaked shared_memory objects to clean up at shutdown: ['/" + name +
         "']";
}

class TrackerKill : public ::testing::TestWithParam<const char*> {};

TEST_P(TrackerKill, SigkilledCreatorsBlockIsUnlinkedWithAWarning) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  // run_child reads stderr to EOF, which comes only once the tracker has exited as well.
  const auto r = test::run_child({test::child_helper(), GetParam(), name});
  EXPECT_EQ(r.signal, SIGKILL) << r.err;
  EXPECT_EQ(r.out, "created\n");
  EXPECT_FALSE(test::wait_for_block(name, false)) << "the tracker left the block behind";
  EXPECT_NE(r.err.find(leak_warning(name)), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(SingleAndMultiThreaded, TrackerKill,
                         ::testing::Values("create-and-kill", "create-threads-and-kill"));

// Runs `rounds` children that create, fill and keep or unlink tracked blocks until they
// SIGKILL themselves at a random moment (shm_test_child churn-and-kill); returns how many blocks
// they left behind, once each one's tracker has exited (and removes them). `env` and `marker`:
// the child's extra environment, and a line its stderr must hold each time.
int blocks_left_by_random_kills(int rounds, const std::vector<std::string>& env = {},
                                const std::string& marker = "") {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_us(0, 3000);
  int leaked = 0;
  int cleaned = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string prefix = test::unique_name();
    // run_child returns at stderr's EOF: the tracker has finished its cleanup and exited.
    const auto r = test::run_child(
        {test::child_helper(), "churn-and-kill", prefix, std::to_string(delay_us(rng))},
        std::chrono::seconds(30), env);
    EXPECT_EQ(r.signal, SIGKILL) << r.err;
    EXPECT_NE(r.err.find(marker), std::string::npos) << "path not taken: " << r.err;
    const std::vector<std::string> left = test::blocks_with_prefix(prefix + "_");
    leaked += static_cast<int>(left.size());
    for (const auto& name : left) shm_unlink(("/" + name).c_str());
    if (r.err.find("leaked shared_memory objects") != std::string::npos) ++cleaned;
  }
  EXPECT_GT(cleaned, 0) << "no round left the tracker anything to clean up";
  return leaked;
}

// A tracked create registers its block before the block has its name, so there is no moment at
// which a SIGKILL leaves a block the tracker does not know: killed at random moments of a loop
// of creates, writes and unlinks, the process leaves nothing in /dev/shm. (The named create,
// open first and register after, left 10 - 16 blocks behind in 40 kills.)
TEST(Tracker, KillAtRandomMomentsOfCreatesLeavesNothing) {
  EXPECT_EQ(blocks_left_by_random_kills(40), 0) << "in 40 kills";
}

// The same guarantees where a tracked create cannot make its block unnamed and link it through
// its descriptor: old_system_shim.c makes this machine look like each kind of older system.
struct OlderSystem {
  const char* label;
  std::vector<std::string> switches;  // the shim's LIBSHM_SHIM_* settings
  const char* marker;                 // the shim's line that shows the path was taken
};

std::ostream& operator<<(std::ostream& os, const OlderSystem& s) {
  return os << s.label;
}

class TrackerOnOlderSystems : public ::testing::TestWithParam<OlderSystem> {
 protected:
  test::ChildResult run(const std::string& command, const std::string& name,
                        const std::string& extra = "") {
    std::vector<std::string> argv = {test::child_helper(), command, name};
    if (!extra.empty()) argv.push_back(extra);
    return test::run_child(argv, std::chrono::seconds(30),
                           test::old_system_env(GetParam().switches));
  }
};

TEST_P(TrackerOnOlderSystems, CarelessCreatorsBlockIsUnlinkedAtExit) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = run("create-exit", name);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(GetParam().marker), std::string::npos) << "path not taken: " << r.err;
  EXPECT_FALSE(test::wait_for_block(name, false));
  EXPECT_NE(r.err.find(leak_warning(name)), std::string::npos) << r.err;
}

TEST_P(TrackerOnOlderSystems, UnlinkedBlockLeavesNoWarning) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = run("create-unlink-exit", name);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(GetParam().marker), std::string::npos) << "path not taken: " << r.err;
  EXPECT_FALSE(test::block_exists(name));
  EXPECT_EQ(r.err.find("resource_tracker"), std::string::npos) << r.err;
}

TEST_P(TrackerOnOlderSystems, CreatingOverItsOwnBlockKeepsThatBlockTracked) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = run("create-twice-exit", name);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "exists\n");
  EXPECT_FALSE(test::wait_for_block(name, false)) << "the first block lost its registration";
  EXPECT_NE(r.err.find(leak_warning(name)), std::string::npos) << r.err;
}

// Where the descriptor cannot be linked (Linux before 6.10, unprivileged: most users' CI), the
// create links the block through /proc, still after registering it: kills leave nothing either.
TEST(Tracker, KillAtRandomMomentsLeavesNothingWhenLinkedThroughProc) {
  EXPECT_EQ(blocks_left_by_random_kills(15, test::old_system_env({"LIBSHM_SHIM_NO_EMPTY_PATH=1"}),
                                        "libshm-shim: linked through /proc"),
            0)
      << "in 15 kills";
}

INSTANTIATE_TEST_SUITE_P(
    Fallbacks, TrackerOnOlderSystems,
    ::testing::Values(OlderSystem{"LinuxBefore6_10Unprivileged",
                                  {"LIBSHM_SHIM_NO_EMPTY_PATH=1"},
                                  "libshm-shim: linked through /proc"},
                      OlderSystem{"DevShmWithoutTmpfile",
                                  {"LIBSHM_SHIM_NO_TMPFILE=1"},
                                  "libshm-shim: refused O_TMPFILE"},
                      OlderSystem{"LinuxBefore6_10WithoutProc",
                                  {"LIBSHM_SHIM_NO_EMPTY_PATH=1", "LIBSHM_SHIM_NO_PROC=1"},
                                  "libshm-shim: refused /proc"}),
    [](const ::testing::TestParamInfo<OlderSystem>& p) { return p.param.label; });

// The name is given last, so no other process sees a tracked block before it has its size
// (the named create's block is 0 bytes between its open and its ftruncate): the shim reports
// the size of every file at the moment it is linked, on both ways of linking it.
TEST(Tracker, ATrackedBlockGetsItsNameOnlyAtItsFullSize) {
  for (const std::vector<std::string>& way :
       {std::vector<std::string>{"LIBSHM_SHIM_SHOW_LINKS=1"},
        std::vector<std::string>{"LIBSHM_SHIM_SHOW_LINKS=1", "LIBSHM_SHIM_NO_EMPTY_PATH=1"}}) {
    BlockCleanup cleanup;
    const auto& name = cleanup.fresh();
    const auto r = test::run_child({test::child_helper(), "create-exit", name, "65536"},
                                   std::chrono::seconds(30), test::old_system_env(way));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("libshm-shim: linked a file of 65536 bytes"), std::string::npos) << r.err;
    EXPECT_FALSE(test::wait_for_block(name, false)) << r.err;
  }
}

TEST(Tracker, CreatingOverItsOwnBlockKeepsThatBlockTracked) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = test::run_child({test::child_helper(), "create-twice-exit", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "exists\n");
  EXPECT_FALSE(test::wait_for_block(name, false)) << "the first block lost its registration";
  EXPECT_NE(r.err.find(leak_warning(name)), std::string::npos) << r.err;
}

TEST(Tracker, CarelessCreatorsBlockIsUnlinkedAtExit) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = test::run_child({test::child_helper(), "create-exit", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(test::wait_for_block(name, false));
  EXPECT_NE(r.err.find(leak_warning(name)), std::string::npos) << r.err;
}

TEST(Tracker, UnlinkedBlockLeavesNoWarning) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = test::run_child({test::child_helper(), "create-unlink-exit", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(test::block_exists(name));
  EXPECT_EQ(r.err, "");
}

// A child whose block `name` was replaced by another process's 16-byte block exited: its
// tracker said so and left the replacement alone.
void expect_replacement_left_alone(const std::string& name, const test::ChildResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::block_exists(name)) << "the tracker unlinked a block it never registered";
  EXPECT_NE(r.err.find("'/" + name + "': not unlinked: the name now belongs to another block"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(SharedMemory::attach(name).size(), 16u);  // the replacement, untouched
}

TEST(Tracker, AnyHandlesUnlinkWithdrawsTheRegistration) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = test::run_child({test::child_helper(), "create-drop-attach-unlink", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no "leaked" warning, no failed cleanup of a vanished name
  EXPECT_FALSE(test::block_exists(name));
}

TEST(Tracker, LeavesABlockThatReplacedItsOwnAlone) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = test::run_child({test::child_helper(), "create-replaced-exit", name});
  expect_replacement_left_alone(name, r);
}

TEST(Tracker, UntrackedAttachSurvivesTheAttachersExit) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(64, cleanup.fresh());
  const auto r = test::run_child({test::child_helper(), "attach-exit", block.name()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(test::block_exists(block.name()));
  block.unlink();
}

TEST(Tracker, TrackedAttachGoesWithTheAttacherAsInCPython) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(64, cleanup.fresh());
  const auto r = test::run_child({test::child_helper(), "attach-tracked-exit", block.name()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(test::wait_for_block(block.name(), false));
  EXPECT_NE(r.err.find(leak_warning(block.name())), std::string::npos) << r.err;
  EXPECT_THROW(block.unlink(), std::system_error);  // gh-82300, opted into
}

TEST(Tracker, TrackAfterAnAttachRegistersTheBlockOnce) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(64, cleanup.fresh(), {.track = false});
  const auto r = test::run_child({test::child_helper(), "attach-track-exit", block.name()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_FALSE(test::wait_for_block(block.name(), false));
  EXPECT_NE(r.err.find(leak_warning(block.name())), std::string::npos) << r.err;
}

TEST(Tracker, TrackRegistersTheBlockTheHandleOpenedNotTheNamesNewOne) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  auto block = SharedMemory::create(64, name, {.track = false});
  const auto r = test::run_child({test::child_helper(), "attach-replaced-track-exit", name});
  expect_replacement_left_alone(name, r);
}

// Each typed attach that opens a block and then validates it: a ShareableList, an .npy array,
// and the SharedMemory and ShareableList a pickle names (issue 23).
class RefusedTrackedAttach : public ::testing::TestWithParam<const char*> {};

// A block of another process that a tracked attach of `kind` refuses, left untracked (as a
// CPython creator that passed track=False, or one that is still running): 4 KiB of 0xff, or,
// for the SharedMemory a pickle names, 0 bytes (a block whose creator has not sized it yet).
void make_unattachable(const std::string& kind, const std::string& name) {
  if (kind == "pickle-shm") {
    test::create_empty_block(name);
    return;
  }
  auto block = SharedMemory::create(4096, name, {.track = false});
  std::memset(block.buf().data(), 0xff, block.size());
}

// Issue 23's first bug (with kind "npy"): the refused attach used to leave its registration
// behind, and the attacher's exit destroyed a block that was never its own.
TEST_P(RefusedTrackedAttach, LeavesAnotherProcesssBlockAlone) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  make_unattachable(GetParam(), name);
  const auto r = test::run_child(
      {test::child_helper(), std::string("refused-attach-exit-") + GetParam(), name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("refused: ", 0), 0u) << r.out;
  EXPECT_EQ(r.err, "");  // nothing registered, nothing to clean up
  EXPECT_TRUE(test::block_exists(name)) << "the attacher's tracker removed a block not its own";
}

// Issue 23's second bug (with kind "list"): the refused attach used to withdraw every
// registration of the name, the create's included, and the block outlived its creator.
TEST_P(RefusedTrackedAttach, KeepsTheAttachersOwnRegistration) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  const auto r = test::run_child(
      {test::child_helper(), std::string("create-refused-attach-exit-") + GetParam(), name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("refused: ", 0), 0u) << r.out;
  EXPECT_FALSE(test::wait_for_block(name, false)) << "the creator's registration was lost";
  EXPECT_NE(r.err.find(leak_warning(name)), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(TypedAttaches, RefusedTrackedAttach,
                         ::testing::Values("list", "npy", "pickle-shm", "pickle-list"),
                         [](const auto& param_info) {
                           std::string id = param_info.param;
                           std::replace(id.begin(), id.end(), '-', '_');
                           return id;
                         });

TEST(Tracker, RunsAsOneChildProcessStartedOnDemand) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(8, cleanup.fresh());
  const pid_t pid = tracker::pid();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0);
  auto second = SharedMemory::create(8, cleanup.fresh());
  EXPECT_EQ(tracker::pid(), pid);
  block.unlink();
  second.unlink();
}

TEST(Tracker, EnsureRunningStartsItOnceAndOnlyOnce) {
  const auto r = test::run_child({test::child_helper(), "ensure-running", "unused"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 1\n");  // none before; one after, the same after a second call
  EXPECT_EQ(r.err, "");       // nothing registered, nothing to warn about
}

TEST(Tracker, RelaunchesAfterTheTrackerIsKilled) {
  BlockCleanup cleanup;
  auto first = SharedMemory::create(8, cleanup.fresh());
  const pid_t old_pid = tracker::pid();
  ASSERT_GT(old_pid, 0);
  ASSERT_EQ(::kill(old_pid, SIGKILL), 0);
  ::waitpid(old_pid, nullptr, 0);
  ::testing::internal::CaptureStderr();
  auto second = SharedMemory::create(8, cleanup.fresh());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("process died unexpectedly, relaunching"), std::string::npos) << err;
  EXPECT_NE(tracker::pid(), old_pid);
  EXPECT_TRUE(second.tracked());
  first.unlink();  // unregistering a name the new tracker never saw is harmless
  second.unlink();
}

TEST(Tracker, OneUnregisterUndoesRepeatedRegistrations) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(8, cleanup.fresh(), {.track = false});
  EXPECT_FALSE(block.tracked());
  const auto r = test::run_child({test::child_helper(), "register-twice-unregister", block.name()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(test::block_exists(block.name()));
  block.unlink();
}

}  // namespace
}  // namespace shm
