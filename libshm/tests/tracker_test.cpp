// The resource tracker: blocks outlive neither a crashed nor a careless creator, and nothing
// else is touched.
#include "libshm/tracker.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>

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
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::block_exists(name)) << "the tracker unlinked a block it never registered";
  EXPECT_NE(r.err.find("'/" + name + "': not unlinked: the name now belongs to another block"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(SharedMemory::attach(name).size(), 16u);  // the replacement, untouched
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
