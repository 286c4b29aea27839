// The bad-input catalogue for blocks: every case gets a typed error a person can understand,
// and no block appears in or vanishes from /dev/shm under the names the case was given.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <system_error>

#include "libshm/shared_memory.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

// Which of `names` are in /dev/shm. A case can only leave behind a block under a name it was
// given (or that name as the kernel would read it: without a leading '/', cut at a NUL), so
// those are all a case looks at: the rest of /dev/shm belongs to whatever else runs beside
// the tests (benchmarks, the harness, other test binaries) and changes under them.
std::set<std::string> present(const std::set<std::string>& names) {
  std::set<std::string> found;
  for (const auto& name : names) {
    if (test::block_exists(name)) found.insert(name);
  }
  return found;
}

// The names a case given `name` could make appear in /dev/shm.
std::set<std::string> reachable_names(const std::string& name) {
  std::string plain = name.substr(0, name.find('\0'));
  if (!plain.empty() && plain.front() == '/') plain.erase(0, 1);
  return {name, plain};
}

// What a case must throw: the exception type (by a check) and words the message must hold.
struct BadCase {
  std::string label;
  std::function<void()> action;
  std::function<bool(const std::exception&)> right_type;
  std::string message_part;
};

bool is_invalid_argument(const std::exception& e) {
  return dynamic_cast<const std::invalid_argument*>(&e) != nullptr;
}
std::function<bool(const std::exception&)> is_errno(std::errc code) {
  return [code](const std::exception& e) {
    const auto* se = dynamic_cast<const std::system_error*>(&e);
    return se != nullptr && se->code() == code;
  };
}

// Runs each case and checks that it threw as expected and that none of `names`, the names the
// cases use, appeared in or vanished from /dev/shm.
void run_cases(const std::vector<BadCase>& cases, const std::set<std::string>& names) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const auto before = present(names);
    try {
      c.action();
      ADD_FAILURE() << "no error";
    } catch (const std::exception& e) {
      EXPECT_TRUE(c.right_type(e)) << "wrong error type: " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
    }
    EXPECT_EQ(present(names), before) << "/dev/shm changed";
  }
}

TEST(BadInput, Names) {
  const std::pair<std::string, std::string> names[] = {
      {"", "the name is empty"},
      {"/", "the name is empty"},
      {std::string("nul\0byte", 8), "embedded NUL at byte 3"},
      {"co:lon", "':' at byte 2"},
      {"new\nline", "line break at byte 3"},
      {"caf\xc3\xa9", "non-ASCII byte at byte 3"},
      {"a/b", "'/' at byte 1"},
      {std::string(256, 'n'), "longer than 255 bytes (256)"},
      {".", "'.' and '..' are not block names"},
      {"..", "'.' and '..' are not block names"},
  };
  std::vector<BadCase> cases;
  std::set<std::string> used;
  for (const auto& [name, why] : names) {
    used.merge(reachable_names(name));
    cases.push_back(
        {"create " + name, [name] { SharedMemory::create(16, name); }, is_invalid_argument, why});
    cases.push_back(
        {"attach " + name, [name] { SharedMemory::attach(name); }, is_invalid_argument, why});
  }
  run_cases(cases, used);
  // The longest name is fine.
  test::BlockCleanup cleanup;
  SharedMemory::create(16, cleanup.add(std::string(255, 'n'))).unlink();
}

TEST(BadInput, Sizes) {
  test::BlockCleanup cleanup;
  const std::string name = cleanup.fresh();
  run_cases(
      {
          {"size 0", [&] { SharedMemory::create(0, name); }, is_invalid_argument,
           "'size' must be a positive number different from zero"},
          {"size 2^62 (cannot be mapped)",
           [&] { SharedMemory::create(std::size_t{1} << 62, name); },
           is_errno(std::errc::not_enough_memory), "Cannot allocate memory"},
          {"size beyond off_t", [&] { SharedMemory::create(~std::size_t{0}, name); },
           is_errno(std::errc::file_too_large), "File too large"},
          {"size 2^62 reserved",
           [&] { SharedMemory::create(std::size_t{1} << 62, name, {.reserve = true}); },
           [](const std::exception& e) {
             const auto* se = dynamic_cast<const std::system_error*>(&e);
             return se != nullptr && (se->code() == std::errc::no_space_on_device ||
                                      se->code() == std::errc::file_too_large);
           },
           "cannot reserve space"},
      },
      {name});
}

TEST(BadInput, AttachMissingAndEmptyBlocks) {
  test::BlockCleanup cleanup;
  const std::string missing = cleanup.fresh();
  const std::string empty = cleanup.fresh();
  test::create_empty_block(empty);
  run_cases(
      {
          {"missing", [&] { SharedMemory::attach(missing); },
           is_errno(std::errc::no_such_file_or_directory), "No such file or directory"},
          {"0-byte block", [&] { SharedMemory::attach(empty); }, is_invalid_argument,
           "the block is empty (0 bytes) and cannot be mapped"},
          {"unlink missing", [&] { unlink_block(missing); },
           is_errno(std::errc::no_such_file_or_directory), "cannot unlink shared memory"},
      },
      {missing, empty});
}

TEST(BadInput, BlockOfAnotherUserIsPermissionDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as nobody";
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
  test::BlockCleanup cleanup;
  auto block = SharedMemory::create(64, cleanup.fresh());  // root's, mode 0600
  const auto r =
      test::run_child({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                       test::child_helper(), "attach-rw", block.name()});
  if (r.err.rfind("setpriv:", 0) == 0) {
    // The helper binary may be out of nobody's reach (a build folder under a private home).
    GTEST_SKIP() << "nobody cannot run the test helper here: " << r.err;
  }
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot attach shared memory '/" + block.name() + "': Permission denied"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(test::block_exists(block.name()));  // the refused attacher changed nothing
  block.unlink();
}

// A tiny tmpfs on /dev/shm in a private mount namespace stands in for a full /dev/shm.
test::ChildResult in_small_dev_shm(const std::string& command, const std::string& name,
                                   const std::string& size) {
  return test::run_child(
      {"/usr/bin/unshare", "-m", "/bin/sh", "-c",
       "mount -t tmpfs -o size=1m tmpfs /dev/shm || exit 99; "
       // Under ASan the fault must still kill the child with SIGBUS, not be reported.
       "ASAN_OPTIONS=\"$ASAN_OPTIONS:handle_sigbus=0\" "
       "\"$0\" \"$1\" \"$2\" \"$3\"; rc=$?; "
       "[ -z \"$(ls -A /dev/shm)\" ] || { echo LEFT: $(ls -A /dev/shm); }; "
       "exit $rc",
       test::child_helper(), command, name, size});
}

TEST(BadInput, FullDevShm) {
  if (::geteuid() != 0 || ::access("/usr/bin/unshare", X_OK) != 0) {
    GTEST_SKIP() << "needs root and unshare for a private /dev/shm";
  }
  const std::string name = test::unique_name();
  const auto reserved = in_small_dev_shm("create-reserved", name, "4194304");
  if (reserved.exit_code == 99) GTEST_SKIP() << "cannot mount a tmpfs here: " << reserved.err;
  EXPECT_EQ(reserved.exit_code, 3) << reserved.err;
  EXPECT_NE(reserved.err.find("cannot reserve space for shared memory '/" + name +
                              "': No space left on device"),
            std::string::npos)
      << reserved.err;
  EXPECT_EQ(reserved.out, "");  // nothing was left in the small /dev/shm

  // Without reserve, as in CPython, creation succeeds and the first write past the room kills
  // the writer with SIGBUS (documented in README). Its block was already unlinked.
  const auto sparse = in_small_dev_shm("create-fill", name, "4194304");
  EXPECT_EQ(sparse.exit_code, 128 + SIGBUS) << sparse.err;
  EXPECT_EQ(sparse.out, "");
}

}  // namespace
}  // namespace shm
