// Interop with the real thing: the stdlib's SharedMemory, in an embedded system CPython, and
// libshm attach each other's blocks in the same process and see the same names, sizes, bytes.
#include <gtest/gtest.h>
#include <pybind11/embed.h>

#include <cstring>
#include <string>

#include "libshm/shared_memory.hpp"
#include "test_support.hpp"

namespace py = pybind11;

namespace shm {
namespace {

class EmbeddedCPython : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    interpreter_ = new py::scoped_interpreter();
    // The stdlib starts its resource tracker with sys.executable, which in an embedding
    // program is the test binary itself: point it at the real interpreter.
    py::module_::import("multiprocessing.spawn").attr("set_executable")(LIBSHM_TEST_PYTHON);
    py::exec(R"(
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

def attach_untracked(name):
    # gh-82300: stop this process's tracker from unlinking a block it only attached.
    shm = SharedMemory(name)
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm
)");
  }
  static void TearDownTestSuite() {
    delete interpreter_;
    interpreter_ = nullptr;
  }

  static py::object run(const char* code) { return py::eval(code, py::globals()); }

  static inline py::scoped_interpreter* interpreter_ = nullptr;
};

TEST_F(EmbeddedCPython, StdlibAttachesABlockMadeInCpp) {
  test::BlockCleanup cleanup;
  auto block = SharedMemory::create(4097, cleanup.fresh());
  std::memcpy(block.buf().data(), "from C++", 8);
  py::globals()["name"] = block.name();
  py::object shm = run("attach_untracked(name)");
  EXPECT_EQ(shm.attr("name").cast<std::string>(), block.name());
  EXPECT_EQ(shm.attr("size").cast<std::size_t>(), 4097u);
  py::globals()["shm"] = shm;
  EXPECT_EQ(run("bytes(shm.buf[:8])").cast<std::string>(), "from C++");
  py::exec("shm.buf[100:109] = b'from Py!!'; shm.close()");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(block.buf().data()) + 100, 9), "from Py!!");
  block.unlink();
}

TEST_F(EmbeddedCPython, CppAttachesABlockMadeByTheStdlib) {
  test::BlockCleanup cleanup;
  const std::string name = cleanup.fresh();
  py::globals()["name"] = name;
  py::exec(R"(
made = SharedMemory(name, create=True, size=300)
made.buf[:9] = b'from Py!!'
)");
  auto block = SharedMemory::attach(name);
  EXPECT_EQ(block.size(), 300u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(block.buf().data()), 9), "from Py!!");
  std::memcpy(block.buf().data() + 200, "from C++", 8);
  EXPECT_EQ(run("bytes(made.buf[200:208])").cast<std::string>(), "from C++");
  block.close();
  py::exec("made.close(); made.unlink()");  // the stdlib unlinks and unregisters its own
  EXPECT_FALSE(test::block_exists(name));
}

TEST_F(EmbeddedCPython, RandomNamesAndErrorsAgree) {
  auto block = SharedMemory::create(16);
  py::globals()["name"] = block.name();
  EXPECT_TRUE(run("__import__('re').fullmatch(r'psm_[0-9a-f]{8}', name) is not None").cast<bool>());
  block.unlink();
  // Both sides report a missing block as ENOENT.
  py::exec(R"(
try:
    SharedMemory(name)
    missing_errno = 0
except FileNotFoundError as e:
    missing_errno = e.errno
)");
  EXPECT_EQ(py::globals()["missing_errno"].cast<int>(), ENOENT);
  EXPECT_THROW(SharedMemory::attach(block.name()), std::system_error);
}

}  // namespace
}  // namespace shm
