// The error model (error.hpp): every exception the library throws carries its public code, the
// offset where one applies and the OS errno, and is still the std exception it always was.
#include "libshm/error.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "libshm/array.hpp"
#include "libshm/names.hpp"
#include "libshm/pickle.hpp"
#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"
#include "libshm/tracker.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using test::BlockCleanup;

constexpr Errc kEveryCode[] = {
    Errc::invalid_name, Errc::invalid_argument, Errc::invalid_value, Errc::too_large,
    Errc::not_a_block,  Errc::not_found,        Errc::exists,        Errc::permission,
    Errc::no_space,     Errc::os_error,         Errc::corrupt_block, Errc::decode,
    Errc::index,        Errc::not_in_list,      Errc::wrong_type,    Errc::bad_pickle,
    Errc::closed,       Errc::read_only,        Errc::not_owner,
};

// What `f` threw: its code, offset and errno, or a test failure if it threw no shm::Error.
struct Thrown {
  Errc code{};
  std::optional<std::size_t> offset;
  int os_errno = 0;
  std::string what;
};

Thrown thrown_by(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    const Error* error = error_of(e);
    if (error == nullptr) {
      ADD_FAILURE() << "threw something that is not a shm::Error: " << e.what();
      return {};
    }
    return {error->code(), error->offset(), error->os_errno(), e.what()};
  }
  ADD_FAILURE() << "threw nothing";
  return {};
}

TEST(ErrorModel, EveryCodeHasItsOwnNameAndAPythonException) {
  std::set<std::string_view> names;
  for (const Errc code : kEveryCode) {
    const std::string_view name = to_string(code);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
    EXPECT_NE(python_exception(code), "Exception") << name;
  }
  EXPECT_EQ(to_string(static_cast<Errc>(0)), "unknown");
  // The table the Python module and the C++ agent use, pinned where it decides a verdict.
  EXPECT_EQ(python_exception(Errc::not_found), "FileNotFoundError");
  EXPECT_EQ(python_exception(Errc::exists), "FileExistsError");
  EXPECT_EQ(python_exception(Errc::permission), "PermissionError");
  EXPECT_EQ(python_exception(Errc::index), "IndexError");
  EXPECT_EQ(python_exception(Errc::decode), "UnicodeDecodeError");
  EXPECT_EQ(python_exception(Errc::not_in_list), "ValueError");
  EXPECT_EQ(python_exception(Errc::closed), "TypeError");
}

TEST(ErrorModel, OsErrorsKeepTheirErrno) {
  EXPECT_EQ(errc_from_errno(ENOENT), Errc::not_found);
  EXPECT_EQ(errc_from_errno(EEXIST), Errc::exists);
  EXPECT_EQ(errc_from_errno(EACCES), Errc::permission);
  EXPECT_EQ(errc_from_errno(EPERM), Errc::permission);
  EXPECT_EQ(errc_from_errno(ENOSPC), Errc::no_space);
  EXPECT_EQ(errc_from_errno(EMFILE), Errc::os_error);

  BlockCleanup cleanup;
  const std::string name = cleanup.fresh();
  const Thrown missing = thrown_by([&] { (void)SharedMemory::attach(name); });
  EXPECT_EQ(missing.code, Errc::not_found);
  EXPECT_EQ(missing.os_errno, ENOENT);
  EXPECT_FALSE(missing.offset);
  // Still the std::system_error it always was, with the errno as its code.
  EXPECT_THROW((void)SharedMemory::attach(name), std::system_error);

  SharedMemory block = SharedMemory::create(16, name, {.track = false});
  const Thrown twice = thrown_by([&] { (void)SharedMemory::create(16, name, {.track = false}); });
  EXPECT_EQ(twice.code, Errc::exists);
  EXPECT_EQ(twice.os_errno, EEXIST);
  block.unlink();
  const Thrown gone = thrown_by([&] { block.unlink(); });
  EXPECT_EQ(gone.code, Errc::not_found);
}

TEST(ErrorModel, ArgumentsNamesAndStates) {
  EXPECT_EQ(thrown_by([] { (void)SharedMemory::create(0); }).code, Errc::invalid_argument);
  for (const char* bad : {"", "a:b", "a/b", "..", "new\nline"}) {
    const Thrown t = thrown_by([&] { (void)SharedMemory::attach(bad); });
    EXPECT_EQ(t.code, Errc::invalid_name) << bad;
    EXPECT_EQ(thrown_by([&] { BlockName::validate(bad); }).code, Errc::invalid_name) << bad;
  }
  EXPECT_EQ(thrown_by([] { tracker::register_block("a:b"); }).code, Errc::invalid_name);
  EXPECT_EQ(thrown_by([] { (void)Dtype::parse("f16"); }).code, Errc::invalid_argument);
  EXPECT_EQ(thrown_by([] { (void)pickle::dumps_shared_memory("x", 1, 9); }).code,
            Errc::invalid_argument);

  BlockCleanup cleanup;
  SharedMemory moved = SharedMemory::create(8, cleanup.fresh(), {.track = false});
  SharedMemory owner = std::move(moved);
  EXPECT_EQ(thrown_by([&] { moved.unlink(); }).code,
            Errc::closed);  // NOLINT(bugprone-use-after-move)
  owner.unlink();
}

TEST(ErrorModel, NotABlock) {
  BlockCleanup cleanup;
  const std::string name = cleanup.fresh();
  test::create_empty_block(name);
  EXPECT_EQ(thrown_by([&] { (void)SharedMemory::attach(name); }).code, Errc::not_a_block);
}

TEST(ErrorModel, ListOperations) {
  BlockCleanup cleanup;
  ShareableList list =
      ShareableList::create({1, "abcdefgh", 2.5}, {.name = cleanup.fresh(), .track = false});
  EXPECT_EQ(thrown_by([&] { (void)list.get(3); }).code, Errc::index);
  EXPECT_EQ(thrown_by([&] { (void)list.get(-4); }).code, Errc::index);
  EXPECT_EQ(thrown_by([&] { (void)list.index(Item{std::int64_t{7}}); }).code, Errc::not_in_list);
  EXPECT_EQ(thrown_by([&] { list.set(1, Item{std::string(17, 'x')}); }).code, Errc::invalid_value);
  EXPECT_EQ(thrown_by([&] { (void)list.get_as<std::int64_t>(1); }).code, Errc::wrong_type);
  EXPECT_EQ(thrown_by([&] {
              (void)ShareableList::create(std::vector<Item>{Item{std::string("x\0", 2)}},
                                          {.name = "", .strict = true, .track = false});
            }).code,
            Errc::invalid_argument);  // create: a bad argument (CPython: AssertionError)

  // A str slot whose bytes are not UTF-8: a decode error at the slot's first byte.
  const ListRegions regions = ShareableList::validate(list.shm().buf());
  const std::size_t slot = regions.data + 8;  // item 1, after item 0's 8-byte int
  list.shm().buf()[slot] = std::byte{0xff};
  const Thrown decode = thrown_by([&] { (void)list.get(1); });
  EXPECT_EQ(decode.code, Errc::decode);
  EXPECT_EQ(decode.offset, slot) << decode.what;
  EXPECT_EQ(thrown_by([&] { (void)list.count(Item{std::int64_t{0}}); }).code, Errc::decode);

  ShareableList reader = ShareableList::attach(list.name(), {.read_only = true});
  EXPECT_EQ(thrown_by([&] { reader.set(0, Item{std::int64_t{2}}); }).code, Errc::read_only);
  reader.shm().close();
  EXPECT_EQ(thrown_by([&] { (void)reader.get(0); }).code, Errc::closed);
  list.shm().unlink();
}

TEST(ErrorModel, CorruptBlocksSayWhere) {
  BlockCleanup cleanup;
  SharedMemory block = SharedMemory::create(64, cleanup.fresh(), {.track = false});
  std::fill(block.buf().begin(), block.buf().end(), std::byte{0xff});
  const Thrown list = thrown_by([&] { (void)ShareableList::attach(block.name()); });
  EXPECT_EQ(list.code, Errc::corrupt_block);
  ASSERT_TRUE(list.offset);
  EXPECT_EQ(*list.offset, 0u) << list.what;  // the count word
  EXPECT_THROW((void)ShareableList::attach(block.name()), LayoutError);

  const Thrown npy = thrown_by([&] { (void)NpyArray::attach(block.name()); });
  EXPECT_EQ(npy.code, Errc::corrupt_block);
  EXPECT_EQ(npy.offset, 0u);
  EXPECT_THROW((void)NpyArray::attach(block.name()), NpyHeaderError);
  EXPECT_THROW((void)NpyArray::attach(block.name()), CorruptBlockError);
  block.unlink();

  const std::vector<std::byte> garbage = {std::byte{0x80}, std::byte{0x04}, std::byte{0x2e}};
  const Thrown pickle = thrown_by([&] { (void)pickle::loads(garbage); });
  EXPECT_EQ(pickle.code, Errc::bad_pickle);
  EXPECT_TRUE(pickle.offset) << pickle.what;
}

}  // namespace
}  // namespace shm
