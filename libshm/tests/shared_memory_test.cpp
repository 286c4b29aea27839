// shm::SharedMemory: CPython's naming, sizing and errors, the handle's lifecycle, and sharing a
// block with another process.
#include "libshm/shared_memory.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <string>
#include <system_error>

#include "test_support.hpp"

namespace shm {
namespace {

using test::block_exists;
using test::BlockCleanup;

std::string text_at(const SharedMemory& block, std::size_t at, std::size_t n) {
  return {reinterpret_cast<const char*>(block.buf().data()) + at, n};
}

void write_text(SharedMemory& block, std::size_t at, const std::string& text) {
  std::memcpy(block.buf().data() + at, text.data(), text.size());
}

template <typename F>
std::errc error_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return static_cast<std::errc>(e.code().value());
  }
  return std::errc{};
}

TEST(SharedMemory, CreateGivesExactSizeModeAndName) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  auto block = SharedMemory::create(4097, name);
  EXPECT_EQ(block.name(), name);
  EXPECT_EQ(block.size(), 4097u);  // no page rounding, as CPython on Linux
  EXPECT_EQ(block.buf().size(), 4097u);
  EXPECT_FALSE(block.closed());
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm/" + name).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4097);
  EXPECT_EQ(
      st.st_mode & 0777, 0600 & ~[] {
        const mode_t m = ::umask(0);
        ::umask(m);
        return m;
      }());
  block.unlink();
}

TEST(SharedMemory, NewBlockIsZeroFilled) {
  auto block = SharedMemory::create(100);
  for (std::byte b : block.buf()) ASSERT_EQ(b, std::byte{0});
  block.unlink();
}

TEST(SharedMemory, RandomNamesLookLikeCPythons) {
  auto a = SharedMemory::create(16);
  auto b = SharedMemory::create(16);
  const std::regex cpython_style("psm_[0-9a-f]{8}");
  EXPECT_TRUE(std::regex_match(a.name(), cpython_style)) << a.name();
  EXPECT_TRUE(std::regex_match(b.name(), cpython_style)) << b.name();
  EXPECT_NE(a.name(), b.name());
  EXPECT_TRUE(block_exists(a.name()));
  a.unlink();
  b.unlink();
  EXPECT_FALSE(block_exists(a.name()));
}

TEST(SharedMemory, SizeZeroIsCPythonsValueError) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  try {
    SharedMemory::create(0, name);
    FAIL() << "size 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "'size' must be a positive number different from zero");
  }
  EXPECT_THROW(SharedMemory::create(0), std::invalid_argument);
  EXPECT_FALSE(block_exists(name));
}

TEST(SharedMemory, HugeSizeFailsAndLeavesNothing) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  // 2^62 passes ftruncate on tmpfs but cannot be mapped: the half-made block must go.
  EXPECT_EQ(error_of([&] { SharedMemory::create(std::size_t{1} << 62, name); }),
            std::errc::not_enough_memory);
  EXPECT_FALSE(block_exists(name));
  EXPECT_EQ(error_of([&] { SharedMemory::create(~std::size_t{0}, name); }),
            std::errc::file_too_large);
  EXPECT_FALSE(block_exists(name));
}

TEST(SharedMemory, AttachSeesCreatorsBytesAndSize) {
  BlockCleanup cleanup;
  auto creator = SharedMemory::create(12345, cleanup.fresh());
  write_text(creator, 100, "hello");
  auto reader = SharedMemory::attach(creator.name());
  EXPECT_EQ(reader.size(), 12345u);
  EXPECT_EQ(text_at(reader, 100, 5), "hello");
  write_text(reader, 200, "back");
  EXPECT_EQ(text_at(creator, 200, 4), "back");
  EXPECT_FALSE(reader.tracked());
  EXPECT_TRUE(creator.tracked());
  creator.unlink();
}

TEST(SharedMemory, ErrorsCarryErrnoAndTheSlashedName) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  try {
    SharedMemory::attach(name);
    FAIL() << "attached a missing block";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("'/" + name + "'"), std::string::npos) << e.what();
  }
  auto block = SharedMemory::create(8, name);
  EXPECT_EQ(error_of([&] { SharedMemory::create(8, name); }), std::errc::file_exists);
  block.unlink();
  EXPECT_EQ(error_of([&] { block.unlink(); }), std::errc::no_such_file_or_directory);
}

TEST(SharedMemory, AttachToEmptyBlockIsAValueError) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  test::create_empty_block(name);
  EXPECT_THROW(SharedMemory::attach(name), std::invalid_argument);
  EXPECT_TRUE(block_exists(name));  // attach never removes what it did not make
}

TEST(SharedMemory, RejectsNamesCPythonCannotRoundTrip) {
  const std::string bad[] = {"",
                             "/",
                             "a/b",
                             "//x",
                             std::string("nul\0x", 5),
                             "co:lon",
                             "new\nline",
                             "cr\rx",
                             "caf\xc3\xa9",
                             "tab\tx",
                             ".",
                             "..",
                             std::string(256, 'a'),
                             std::string(128, '\xc3')};
  BlockCleanup cleanup;
  for (const auto& name : bad) {
    SCOPED_TRACE(name);
    EXPECT_THROW(SharedMemory::create(8, name), std::invalid_argument);
    EXPECT_THROW(SharedMemory::attach(name), std::invalid_argument);
    EXPECT_THROW(BlockName::validate(name), std::invalid_argument);
  }
  try {
    BlockName::validate("co:lon");
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "invalid shared memory name 'co:lon': ':' at byte 2 (breaks CPython's resource "
                 "tracker protocol)");
  }
}

TEST(SharedMemory, AcceptsEveryNameCPythonHandles) {
  BlockCleanup cleanup;
  const std::string good[] = {
      "a", "with space", "back\\slash", "dots.and-dashes_~", "psm_0123abcd", std::string(255, 'n')};
  for (const auto& name : good) {
    SCOPED_TRACE(name);
    auto block = SharedMemory::create(8, cleanup.add(name));
    EXPECT_EQ(block.name(), name);
    EXPECT_TRUE(block_exists(name));
    block.unlink();
  }
}

TEST(SharedMemory, OneLeadingSlashIsTheCConvention) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  auto block = SharedMemory::create(8, "/" + name);
  EXPECT_EQ(block.name(), name);
  auto again = SharedMemory::attach("/" + name);
  EXPECT_EQ(again.name(), name);
  block.unlink();
}

TEST(SharedMemory, CloseIsIdempotentAndKeepsTheBlock) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(64, cleanup.fresh());
  block.close();
  EXPECT_TRUE(block.closed());
  EXPECT_TRUE(block.buf().empty());
  EXPECT_EQ(block.size(), 64u);
  block.close();
  EXPECT_TRUE(block_exists(block.name()));
  block.unlink();  // a closed handle can still unlink
  EXPECT_FALSE(block_exists(block.name()));
}

TEST(SharedMemory, DestructorClosesButNeverUnlinks) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  {
    auto block = SharedMemory::create(64, name);
    write_text(block, 0, "kept");
  }
  ASSERT_TRUE(block_exists(name));
  auto again = SharedMemory::attach(name);
  EXPECT_EQ(text_at(again, 0, 4), "kept");
  again.unlink();
}

TEST(SharedMemory, MoveTransfersTheMapping) {
  BlockCleanup cleanup;
  auto a = SharedMemory::create(32, cleanup.fresh());
  write_text(a, 0, "moved");
  const std::string name = a.name();
  SharedMemory b(std::move(a));
  EXPECT_TRUE(a.closed());  // NOLINT(bugprone-use-after-move): the moved-from state is defined
  EXPECT_TRUE(a.buf().empty());
  EXPECT_THROW(a.unlink(), std::logic_error);
  EXPECT_EQ(text_at(b, 0, 5), "moved");
  EXPECT_TRUE(b.tracked());

  auto c = SharedMemory::create(16, cleanup.fresh());
  const std::string c_name = c.name();
  c = std::move(b);  // closes c's old mapping, takes b's
  EXPECT_EQ(c.name(), name);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_EQ(text_at(c, 0, 5), "moved");
  c.unlink();
  SharedMemory::attach(c_name).unlink();
}

TEST(SharedMemory, TrackIsIdempotentAndSurvivesAMove) {
  BlockCleanup cleanup;
  auto a = SharedMemory::create(16, cleanup.fresh(), {.track = false});
  auto attached = SharedMemory::attach(a.name());
  EXPECT_FALSE(attached.tracked());
  attached.close();
  attached.track();  // a closed handle still knows which block it opened
  attached.track();
  EXPECT_TRUE(attached.tracked());
  SharedMemory moved(std::move(attached));
  EXPECT_TRUE(moved.tracked());
  EXPECT_THROW(attached.track(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  moved.unlink();  // withdraws the registration: the tracker has nothing to warn about
  EXPECT_FALSE(moved.tracked());
  moved.track();  // the block is gone: nothing to register, so no leak warning at exit
  EXPECT_FALSE(moved.tracked());
}

TEST(SharedMemory, ReadOnlyAttachMapsWithoutWrite) {
  BlockCleanup cleanup;
  auto creator = SharedMemory::create(4096, cleanup.fresh());
  write_text(creator, 0, "ro");
  auto reader = SharedMemory::attach(creator.name(), {.read_only = true});
  EXPECT_TRUE(reader.read_only());
  EXPECT_EQ(text_at(reader, 0, 2), "ro");
  // A store would fault. Let the kernel try instead: read(2) into a read-only mapping fails
  // with EFAULT, which proves the protection without crashing the test.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "xy", 2), 2);
  errno = 0;
  EXPECT_EQ(::read(fds[0], reader.buf().data(), 2), -1);
  EXPECT_EQ(errno, EFAULT);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(text_at(creator, 0, 2), "ro");
  creator.unlink();
}

TEST(SharedMemory, UnlinkBlockRemovesByNameEvenWhenUnmappable) {
  BlockCleanup cleanup;
  const auto& name = cleanup.fresh();
  test::create_empty_block(name);
  unlink_block(name);  // 0 bytes: attach would refuse it
  EXPECT_FALSE(block_exists(name));
  EXPECT_EQ(error_of([&] { unlink_block(name); }), std::errc::no_such_file_or_directory);
  EXPECT_THROW(unlink_block("bad:name"), std::invalid_argument);
}

TEST(SharedMemory, ChildProcessReadsAndWritesBack) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(128, cleanup.fresh());
  write_text(block, 0, "parent");
  const auto r = test::run_child({test::child_helper(), "attach-rw", block.name()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "parent 128\n");
  EXPECT_EQ(text_at(block, 64, 14), "child was here");
  EXPECT_TRUE(block_exists(block.name()));  // the child's untracked attach left it alone
  block.unlink();
}

}  // namespace
}  // namespace shm
