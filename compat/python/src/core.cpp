// libshm._core: the C++ half of the Python module `libshm` (compat/python/libshm/__init__.py).
//
// A Handle owns either a plain block (shm::SharedMemory) or a list (shm::ShareableList, which
// owns its block). It exports the block's bytes through the buffer protocol and counts the
// exports, so that close() refuses with BufferError while a memoryview still points into the
// mapping, as the stdlib's mmap does: the mapping can never be unmapped under a live view.
// C++ exceptions become the Python exceptions the stdlib raises in the same situation.
// Nothing here tracks: the Python side creates and attaches with track=false and registers
// with multiprocessing's resource tracker itself, so libshm's own tracker never starts in Python.
#include <pybind11/pybind11.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "libshm/atomic.hpp"
#include "libshm/error.hpp"
#include "libshm/item.hpp"
#include "libshm/names.hpp"
#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"

namespace py = pybind11;

namespace {

// libshm.LayoutError: a ValueError that is also a struct.error (what the stdlib raises for a
// block that is not a list). Created at import; owned by the module.
PyObject* layout_error_type = nullptr;

// CPython's name for a block in its OSError messages ("/x"). Only OS errors use it, and they
// come after the name was validated; any other name is shown as given.
std::string os_name(std::string_view name) {
  try {
    return shm::BlockName(name).os_name();
  } catch (const std::invalid_argument&) {
    return std::string(name);
  }
}

// The running CPython's struct.error text for an int that does not fit 'q' (3.8 - 3.11:
// "argument out of range"; 3.12+: "'q' format requires ..."), read from struct at import.
std::string q_range_message;

[[noreturn]] void raise_struct_error(const std::string& message) {
  const py::object error = py::module_::import("struct").attr("error");
  PyErr_SetString(error.ptr(), message.c_str());
  throw py::error_already_set();
}

// The Python class named by shm::python_exception ("ValueError", "pickle.UnpicklingError").
PyObject* python_class(std::string_view qualified) {
  const auto dot = qualified.rfind('.');
  const py::module_ where = py::module_::import(
      dot == std::string_view::npos ? "builtins" : std::string(qualified.substr(0, dot)).c_str());
  const std::string attr(dot == std::string_view::npos ? qualified : qualified.substr(dot + 1));
  const py::object cls = where.attr(attr.c_str());
  return cls.ptr();  // a class lives as long as its module, which stays imported
}

// Raises `type`(`args`...) with the libshm error code as its `libshm_code` attribute, which the
// conformance agent reports (harness/PROTOCOL.md); the type and message are the stdlib's.
[[noreturn]] void raise_coded(PyObject* type, const py::tuple& args, shm::Errc code) {
  PyObject* exc = PyObject_Call(type, args.ptr(), nullptr);
  if (exc == nullptr) throw py::error_already_set();
  const py::str code_name(std::string(shm::to_string(code)));
  if (PyObject_SetAttrString(exc, "libshm_code", code_name.ptr()) != 0) PyErr_Clear();
  PyErr_SetObject(type, exc);
  Py_DECREF(exc);
  throw py::error_already_set();
}

// Raises the Python exception for a libshm error: the class shm::python_exception names for its
// code (the one table), with the stdlib's message where it has its own (`index_message`).
[[noreturn]] void raise_python(const shm::Error& error, const char* what, std::string_view name,
                               const char* index_message) {
  const shm::Errc code = error.code();
  if (error.os_errno() != 0) {
    // OSError(errno, strerror, filename): Python picks FileNotFoundError, FileExistsError, ...
    const py::str filename(os_name(name));
    errno = error.os_errno();
    PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, filename.ptr());
    throw py::error_already_set();
  }
  switch (code) {
    case shm::Errc::corrupt_block:  // libshm.LayoutError: a ValueError and the stdlib's
                                    // struct.error
      raise_coded(layout_error_type, py::make_tuple(what), code);
    case shm::Errc::index:
      raise_coded(PyExc_IndexError, py::make_tuple(index_message), code);
    case shm::Errc::decode:  // UnicodeDecodeError takes the codec's five arguments
      raise_coded(PyExc_UnicodeDecodeError, py::make_tuple("utf-8", py::bytes(), 0, 0, what), code);
    default:
      raise_coded(python_class(shm::python_exception(code)), py::make_tuple(what), code);
  }
}

// Runs `f`, turning libshm's exceptions into the stdlib's Python ones. `name` is the block the
// call is about (for OSError's filename); `index_message` the IndexError text for this call.
template <class F>
auto translated(std::string_view name, const char* index_message, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    const shm::Error* error = shm::error_of(e);
    if (error == nullptr) throw;  // std::bad_alloc and the like: pybind11 translates them
    raise_python(*error, e.what(), name, index_message);
  }
}

// ---------------------------------------------------------------------------------------------
// Items: Python objects <-> shm::Item, with the stdlib's type rules.

// Why a Python value is or is not an item (convert_item).
enum class Conversion {
  ok,                // converted
  wrong_type,        // the stdlib raises KeyError(type(value))
  int_out_of_range,  // an int that 'q' cannot pack: the stdlib raises struct.error
  python_error,      // a Python error is set (UnicodeEncodeError for surrogates, MemoryError)
};

// `v` as an item, by the stdlib's type rules, without raising: the one conversion of both the
// C slots' fast paths and the methods. The stdlib looks types up by exact type(), so
// subclasses of int/float (and bool, None) are the wrong type; assignment accepts str and
// bytes subclasses (isinstance), creation does not.
Conversion convert_item(PyObject* v, bool assignment, shm::Item& out) noexcept {
  try {
    if (v == Py_None) {
      out = shm::None{};
    } else if (PyBool_Check(v)) {
      out = (v == Py_True);
    } else if (PyLong_CheckExact(v)) {
      int overflow = 0;
      const long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
      if (overflow != 0) return Conversion::int_out_of_range;
      if (x == -1 && PyErr_Occurred()) return Conversion::python_error;
      out = static_cast<std::int64_t>(x);
    } else if (PyFloat_CheckExact(v)) {
      out = PyFloat_AS_DOUBLE(v);
    } else if (PyUnicode_CheckExact(v) || (assignment && PyUnicode_Check(v))) {
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(v, &n);  // UnicodeEncodeError for surrogates
      if (s == nullptr) return Conversion::python_error;
      out = std::string(s, static_cast<std::size_t>(n));
    } else if (PyBytes_CheckExact(v) || (assignment && PyBytes_Check(v))) {
      out = shm::Bytes{
          std::string(PyBytes_AS_STRING(v), static_cast<std::size_t>(PyBytes_GET_SIZE(v)))};
    } else {
      return Conversion::wrong_type;
    }
    return Conversion::ok;
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return Conversion::python_error;
  }
}

// convert_item, raising what the stdlib raises for a value it cannot store.
shm::Item to_item(py::handle value, bool assignment) {
  shm::Item item;
  switch (convert_item(value.ptr(), assignment, item)) {
    case Conversion::ok:
      return item;
    case Conversion::int_out_of_range:
      raise_struct_error(q_range_message);
    case Conversion::wrong_type:
      PyErr_SetObject(PyExc_KeyError, reinterpret_cast<PyObject*>(Py_TYPE(value.ptr())));
      throw py::error_already_set();
    case Conversion::python_error:
      break;
  }
  throw py::error_already_set();
}

// The Python object for an item or for an item view into the block (a new reference, or
// nullptr with a Python error set): the one mapping of get() and the C slots' fast path.
struct NewObject {
  PyObject* operator()(shm::None) const noexcept { Py_RETURN_NONE; }
  PyObject* operator()(bool b) const noexcept { return PyBool_FromLong(b ? 1 : 0); }
  PyObject* operator()(std::int64_t i) const noexcept {
    return PyLong_FromLongLong(static_cast<long long>(i));
  }
  PyObject* operator()(double d) const noexcept { return PyFloat_FromDouble(d); }
  PyObject* operator()(std::string_view s) const noexcept {
    // ASCII text is copied straight into a new str: the decoder would scan again what the
    // library already checked (a quarter of a short str's cost, perf, CPython 3.15). Empty and
    // one-character strs keep the decoder, which returns CPython's cached singletons.
    if (s.size() > 1 && is_ascii(s)) {
      PyObject* out = PyUnicode_New(static_cast<Py_ssize_t>(s.size()), 127);
      if (out != nullptr) std::memcpy(PyUnicode_1BYTE_DATA(out), s.data(), s.size());
      return out;
    }
    return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
  }
  PyObject* operator()(const std::string& s) const noexcept { return (*this)(std::string_view(s)); }
  PyObject* operator()(const shm::BytesView& b) const noexcept { return bytes(b.data); }
  PyObject* operator()(const shm::Bytes& b) const noexcept { return bytes(b.data); }

 private:
  static bool is_ascii(std::string_view s) noexcept {
    unsigned char any = 0;
    for (const char c : s) any |= static_cast<unsigned char>(c);
    return any < 0x80;
  }
  static PyObject* bytes(std::string_view data) noexcept {
    return PyBytes_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size()));
  }
};

py::object from_item(const shm::Item& item) {
  PyObject* out = std::visit(NewObject{}, item);
  if (out == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(out);
}

// A list index as the stdlib takes it: any object with __index__; others are a TypeError.
std::ptrdiff_t to_index(py::handle position) {
  if (!PyIndex_Check(position.ptr())) {
    throw py::type_error(std::string("ShareableList indices must be integers, not ") +
                         Py_TYPE(position.ptr())->tp_name);
  }
  const Py_ssize_t i = PyNumber_AsSsize_t(position.ptr(), PyExc_IndexError);
  if (i == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<std::ptrdiff_t>(i);
}

shm::Layout to_layout(const std::string& layout) {
  // The stdlib has no layout argument: the module takes to_string's two spellings only.
  if (layout == shm::to_string(shm::Layout::v38) || layout == shm::to_string(shm::Layout::v39)) {
    return *shm::parse_layout(layout);
  }
  throw py::value_error("layout must be '3.8' or '3.9+', not '" + layout + "'");
}

// ---------------------------------------------------------------------------------------------
// Atomic operations on an int64 (shm::AtomicInt64): SharedMemory.atomic_*(offset, ...) through
// the Handle, ShareableList.atomic_*(index, ...) as _ListBase's C methods. Both convert their
// arguments here, before anything is written, and run the operation with run_atomic.

enum class AtomicOp { load, store, exchange, compare_exchange, fetch_add };

// How many values (after the offset or index) each operation takes, and its Python name.
struct AtomicOpInfo {
  int values;
  const char* name;
};
constexpr AtomicOpInfo atomic_op_info(AtomicOp op) noexcept {
  switch (op) {
    case AtomicOp::load:
      return {0, "atomic_load"};
    case AtomicOp::store:
      return {1, "atomic_store"};
    case AtomicOp::exchange:
      return {1, "atomic_exchange"};
    case AtomicOp::compare_exchange:
      return {2, "atomic_compare_exchange"};
    case AtomicOp::fetch_add:
      return {1, "atomic_fetch_add"};
  }
  return {0, ""};
}

// A value of an atomic operation: an int (any object with __index__, as bool; TypeError
// otherwise) that fits int64. Python ints do not wrap: a value outside int64 is an
// OverflowError, before anything is written.
std::int64_t to_int64(PyObject* value, const char* op, const char* what) {
  PyObject* index = PyNumber_Index(value);  // TypeError for a float, a str, ...
  if (index == nullptr) throw py::error_already_set();
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(index, &overflow);
  Py_DECREF(index);
  if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0) {
    PyErr_Format(PyExc_OverflowError, "%s: %s %R is outside the int64 range [-2**63, 2**63 - 1]",
                 op, what, value);
    throw py::error_already_set();
  }
  return static_cast<std::int64_t>(x);
}

// An offset in a block: an int, not negative (ValueError), as a size_t.
std::size_t to_offset(PyObject* offset) {
  PyObject* index = PyNumber_Index(offset);
  if (index == nullptr) throw py::error_already_set();
  const Py_ssize_t x = PyNumber_AsSsize_t(index, PyExc_OverflowError);
  Py_DECREF(index);
  if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (x < 0) throw py::value_error("offset " + std::to_string(x) + " is negative");
  return static_cast<std::size_t>(x);
}

// The operation's values, converted; `values` holds atomic_op_info(op).values objects.
struct AtomicArgs {
  std::int64_t first = 0;
  std::int64_t second = 0;
};
AtomicArgs to_atomic_args(AtomicOp op, PyObject* const* values) {
  const char* name = atomic_op_info(op).name;
  AtomicArgs out;
  if (op == AtomicOp::compare_exchange) {
    out.first = to_int64(values[0], name, "expected");
    out.second = to_int64(values[1], name, "desired");
  } else if (op != AtomicOp::load) {
    out.first = to_int64(values[0], name, op == AtomicOp::fetch_add ? "delta" : "value");
  }
  return out;
}

// Runs `op` on `a`; `translate` runs a call that may throw a libshm error (read_only) with the
// module's error mapping. Returns a new reference:
//   load -> the value; store -> None; exchange -> the value replaced;
//   compare_exchange -> (True, expected) if it swapped, else (False, the value found);
//   fetch_add -> the value before. fetch_add refuses (OverflowError, nothing written) a sum
//   outside int64 where C++'s fetch_add wraps: a compare-and-exchange loop, still lock-free.
template <class Translate>
py::object run_atomic(const shm::AtomicInt64& a, AtomicOp op, const AtomicArgs& args,
                      Translate&& translate) {
  switch (op) {
    case AtomicOp::load:
      return py::int_(a.load());
    case AtomicOp::store:
      translate([&] { a.store(args.first); });
      return py::none();
    case AtomicOp::exchange:
      return py::int_(translate([&] { return a.exchange(args.first); }));
    case AtomicOp::compare_exchange: {
      std::int64_t found = args.first;
      const bool swapped = translate([&] { return a.compare_exchange(found, args.second); });
      return py::make_tuple(py::bool_(swapped), py::int_(found));
    }
    case AtomicOp::fetch_add: {
      std::int64_t before = a.load();
      for (;;) {
        std::int64_t sum = 0;
        if (__builtin_add_overflow(before, args.first, &sum)) {
          PyErr_Format(PyExc_OverflowError,
                       "atomic_fetch_add: %lld + %lld is outside the int64 range; the value "
                       "is unchanged",
                       static_cast<long long>(before), static_cast<long long>(args.first));
          throw py::error_already_set();
        }
        if (translate([&] { return a.compare_exchange(before, sum); })) break;
      }
      return py::int_(before);
    }
  }
  return py::none();
}

// ---------------------------------------------------------------------------------------------
// The handle.

class Handle {
 public:
  explicit Handle(shm::SharedMemory block) : state_(std::move(block)) {}
  explicit Handle(shm::ShareableList list) : state_(std::move(list)) {}

  /// The block, whether plain or a list's.
  shm::SharedMemory& block() {
    if (auto* list = std::get_if<shm::ShareableList>(&state_)) return list->shm();
    return std::get<shm::SharedMemory>(state_);
  }
  /// The list, or nullptr for a plain block.
  shm::ShareableList* list_if() noexcept { return std::get_if<shm::ShareableList>(&state_); }
  /// The list; TypeError for a plain block.
  shm::ShareableList& list() {
    auto* list = std::get_if<shm::ShareableList>(&state_);
    if (list == nullptr) throw py::type_error("this block is not a ShareableList");
    return *list;
  }
  /// Unmaps the block, unless a buffer export (a memoryview) still points into it.
  void close() {
    if (exports_ > 0) throw py::buffer_error("cannot close exported pointers exist");
    block().close();
  }

  static int get_buffer(PyObject* self, Py_buffer* view, int flags) noexcept;
  static void release_buffer(PyObject* self, Py_buffer* view) noexcept;

 private:
  std::variant<shm::SharedMemory, shm::ShareableList> state_;  // the block or the list
  Py_ssize_t exports_ = 0;                                     // live buffer exports
};

int Handle::get_buffer(PyObject* self, Py_buffer* view, int flags) noexcept {
  view->obj = nullptr;
  try {
    Handle& h = py::handle(self).cast<Handle&>();
    shm::SharedMemory& block = h.block();
    if (block.closed()) {
      PyErr_SetString(PyExc_ValueError, "operation on a closed shared memory block");
      return -1;
    }
    const std::span<std::byte> bytes = block.buf();
    if (PyBuffer_FillInfo(view, self, bytes.data(), static_cast<Py_ssize_t>(bytes.size()),
                          block.read_only() ? 1 : 0, flags) != 0) {
      return -1;
    }
    ++h.exports_;
    return 0;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_BufferError, e.what());
  }
  return -1;
}

void Handle::release_buffer(PyObject* self, Py_buffer* /*view*/) noexcept {
  try {
    --py::handle(self).cast<Handle&>().exports_;
  } catch (...) {  // cannot happen: self is a Handle
  }
}

// ---------------------------------------------------------------------------------------------
// The list's hot path: libshm.ShareableList derives from _ListBase, a plain CPython type whose
// mapping and sequence slots read and write items without pybind11's dispatcher or a Python
// frame. Each slot tries a fast path for the common case (an exact int index into an open list,
// a value of an exact supported type) and otherwise, including on every error, calls the
// Python method that follows the stdlib's code (self._getitem(position), ._setitem(position,
// value), ._len()), so that results and exceptions are exactly the stdlib's. A fast path never
// leaves a Python error set and writes nothing when it gives up (set() changes nothing when
// it throws).

struct ListObject {
  PyObject_HEAD PyObject* core;  // the Handle (a strong reference), or nullptr before __init__
  shm::ShareableList* list;      // core's list when core is a list Handle, else nullptr
};

PyObject* str_core = nullptr;  // interned "_core"
PyObject* str_get = nullptr;   // interned "_getitem"
PyObject* str_set = nullptr;   // interned "_setitem"
PyObject* str_len = nullptr;   // interned "_len"

ListObject* as_list(PyObject* self) noexcept {
  return reinterpret_cast<ListObject*>(self);
}

// The item at index `i`, or nullptr without an error set when the fast path does not apply.
// Reads the slot through ShareableList::view: scalars straight from the block, a str or bytes
// from its characters in the block, into the Python object without an intermediate copy.
PyObject* fast_get(shm::ShareableList& list, Py_ssize_t i) noexcept {
  try {
    // Initialized from the call, not assigned after it: view() then builds the result in
    // place, where an assignment copied it with wider loads than view()'s stores, a
    // store-forwarding stall that was 40 % of list(sl) (perf, CPython 3.13).
    const shm::ItemView item = list.view(static_cast<std::ptrdiff_t>(i));
    PyObject* out = std::visit(NewObject{}, item);
    if (out == nullptr) PyErr_Clear();  // let the slow path raise it
    return out;
  } catch (...) {
    return nullptr;
  }
}

// The index of an exact int key, or false (no error set).
bool fast_index(PyObject* key, Py_ssize_t& i) noexcept {
  if (!PyLong_CheckExact(key)) return false;
  i = PyLong_AsSsize_t(key);
  if (i == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}

PyObject* slow_get(PyObject* self, PyObject* key) noexcept {
  return PyObject_CallMethodObjArgs(self, str_get, key, nullptr);
}

int slow_set(PyObject* self, PyObject* key, PyObject* value) noexcept {
  PyObject* out = PyObject_CallMethodObjArgs(self, str_set, key, value, nullptr);
  if (out == nullptr) return -1;
  Py_DECREF(out);
  return 0;
}

PyObject* list_subscript(PyObject* self, PyObject* key) noexcept {
  shm::ShareableList* list = as_list(self)->list;
  Py_ssize_t i = 0;
  if (list != nullptr && fast_index(key, i)) {
    if (PyObject* out = fast_get(*list, i)) return out;
  }
  return slow_get(self, key);
}

// sq_item: what iteration (the stdlib's, by the sequence protocol: sl[0], sl[1], ... until
// IndexError) and PySequence_GetItem call; sl[i] in Python goes to list_subscript. The
// IndexError that ends every iteration is raised here, as the stdlib's "index out of range"
// (the same for every version), without a call to the Python-level _getitem.
PyObject* list_item(PyObject* self, Py_ssize_t i) noexcept {
  if (shm::ShareableList* list = as_list(self)->list) {
    // Checked before reading: an out-of-range read would cost a C++ exception.
    if (i >= 0 && static_cast<std::size_t>(i) >= list->size()) {
      PyErr_SetString(PyExc_IndexError, "index out of range");
      return nullptr;
    }
    if (PyObject* out = fast_get(*list, i)) return out;
  }
  PyObject* key = PyLong_FromSsize_t(i);
  if (key == nullptr) return nullptr;
  PyObject* out = slow_get(self, key);
  Py_DECREF(key);
  return out;
}

// Sets item `at` (inside [0, N) of an open list) to `item`, converted from a str, bytes or
// scalar by the assignment rules, raising what the Python-level _setitem would raise after its
// index and type checks passed: the stdlib's ValueError for a str/bytes longer than the slot,
// else set()'s exception, translated. The set runs once, failed or not.
int set_checked(shm::ShareableList& list, Py_ssize_t at, const shm::Item& item) noexcept {
  try {
    const std::string_view chars = std::holds_alternative<std::string>(item)
                                       ? std::string_view(std::get<std::string>(item))
                                   : std::holds_alternative<shm::Bytes>(item)
                                       ? std::string_view(std::get<shm::Bytes>(item).data)
                                       : std::string_view();
    // Only a str or bytes can be too long; a scalar skips the slot lookup.
    if (!chars.empty() && chars.size() > list.allocation(at)) {
      PyErr_SetString(PyExc_ValueError, "bytes/str item exceeds available storage");
      return -1;
    }
    translated(list.name(), "assignment index out of range", [&] { list.set(at, item); });
    return 0;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_SystemError, e.what());
  }
  return -1;
}

int list_ass_subscript(PyObject* self, PyObject* key, PyObject* value) noexcept {
  if (value == nullptr) {  // del sl[i]: the stdlib's class has __setitem__, no __delitem__
    PyErr_SetString(PyExc_AttributeError, "__delitem__");
    return -1;
  }
  // An exact int index inside [-N, N) of an open list and a value of a type the list stores
  // are set here; anything else (whose exceptions are the running version's) goes to _setitem.
  shm::ShareableList* list = as_list(self)->list;
  Py_ssize_t i = 0;
  if (list != nullptr && !list->shm().closed() && fast_index(key, i)) {
    const auto n = static_cast<Py_ssize_t>(list->size());
    const Py_ssize_t at = i < 0 ? i + n : i;
    if (at >= 0 && at < n) {
      shm::Item item;
      switch (convert_item(value, true, item)) {
        case Conversion::ok:
          return set_checked(*list, at, item);
        case Conversion::python_error:
          PyErr_Clear();  // _setitem raises it again, with the stdlib's context
          break;
        default:
          break;
      }
    }
  }
  return slow_set(self, key, value);
}

int list_ass_item(PyObject* self, Py_ssize_t i, PyObject* value) noexcept {
  PyObject* key = PyLong_FromSsize_t(i);
  if (key == nullptr) return -1;
  const int rc = list_ass_subscript(self, key, value);
  Py_DECREF(key);
  return rc;
}

Py_ssize_t list_length(PyObject* self) noexcept {
  shm::ShareableList* list = as_list(self)->list;
  if (list != nullptr && !list->shm().closed()) return static_cast<Py_ssize_t>(list->size());
  PyObject* n = PyObject_CallMethodObjArgs(self, str_len, nullptr);
  if (n == nullptr) return -1;
  const Py_ssize_t out = PyNumber_AsSsize_t(n, PyExc_OverflowError);
  Py_DECREF(n);
  return out;
}

// L.count(value): the stdlib's sum(value == entry for entry in self), in C. Iterates as the
// stdlib does (iter(self)), compares with == (no identity shortcut), and counts bool results;
// should a comparison give anything else (numpy arrays, ...), the results from there on are
// summed by the builtin sum(), after the count so far, which is what sum() computes.
PyObject* list_count(PyObject* self, PyObject* value) noexcept {
  PyObject* it = PyObject_GetIter(self);
  if (it == nullptr) return nullptr;
  Py_ssize_t n = 0;
  PyObject* rest = nullptr;  // [n, results...] once a result is not a bool
  while (PyObject* entry = PyIter_Next(it)) {
    PyObject* result = PyObject_RichCompare(value, entry, Py_EQ);
    Py_DECREF(entry);
    if (result == nullptr) break;
    if (rest == nullptr && PyBool_Check(result)) {
      n += result == Py_True ? 1 : 0;
      Py_DECREF(result);
      continue;
    }
    if (rest == nullptr) {
      rest = Py_BuildValue("[n]", n);
      if (rest == nullptr) {
        Py_DECREF(result);
        break;
      }
    }
    const int rc = PyList_Append(rest, result);
    Py_DECREF(result);
    if (rc != 0) break;
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) {
    Py_XDECREF(rest);
    return nullptr;
  }
  if (rest == nullptr) return PyLong_FromSsize_t(n);
  PyObject* builtins = PyEval_GetBuiltins();  // borrowed
  PyObject* sum = builtins != nullptr ? PyDict_GetItemString(builtins, "sum") : nullptr;
  PyObject* out = sum != nullptr ? PyObject_CallFunctionObjArgs(sum, rest, nullptr) : nullptr;
  if (sum == nullptr && !PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "no builtin sum");
  Py_DECREF(rest);
  return out;
}

// L.index(value): the stdlib's first position whose entry == value (by the truth of ==), in C;
// ValueError with the message of the version the module is built for when there is none
// (3.14.0a1 changed it to the wording of list.index).
PyObject* list_index(PyObject* self, PyObject* value) noexcept {
  PyObject* it = PyObject_GetIter(self);
  if (it == nullptr) return nullptr;
  Py_ssize_t position = 0;
  while (PyObject* entry = PyIter_Next(it)) {
    PyObject* result = PyObject_RichCompare(value, entry, Py_EQ);
    Py_DECREF(entry);
    if (result == nullptr) break;
    const int equal = PyObject_IsTrue(result);
    Py_DECREF(result);
    if (equal < 0) break;
    if (equal == 1) {
      Py_DECREF(it);
      return PyLong_FromSsize_t(position);
    }
    ++position;
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) return nullptr;
#if PY_VERSION_HEX >= 0x030E00A1
  PyErr_SetString(PyExc_ValueError, "ShareableList.index(x): x not in list");
#else
  PyErr_Format(PyExc_ValueError, "%R not in this container", value);
#endif
  return nullptr;
}

// The atomic methods of both classes, in C with METH_FASTCALL so that a call costs no Python
// frame and no argument tuple: sl.atomic_*(index, ...) on _ListBase (ShareableList::atomic_int64:
// the list's index rules, IndexError, TypeError for an item that is not an int) and
// shm.atomic_*(offset, ...) on _BlockBase (shm::atomic_int64 on the block of the instance's
// `_core` handle). `Target` gives the AtomicInt64 for self and the first argument, translated.
template <AtomicOp op, class Target>
PyObject* atomic_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) noexcept {
  const AtomicOpInfo info = atomic_op_info(op);
  if (nargs != 1 + info.values) {
    PyErr_Format(PyExc_TypeError, "%s() takes exactly %d arguments (%zd given)", info.name,
                 1 + info.values, nargs);
    return nullptr;
  }
  try {
    Target target(self, args[0]);
    const AtomicArgs values = to_atomic_args(op, args + 1);
    const auto translate = [&](auto&& f) {
      return translated(target.name(), target.index_message(), std::forward<decltype(f)>(f));
    };
    const shm::AtomicInt64 a = translate([&] { return target.make(); });
    return run_atomic(a, op, values, translate).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_SystemError, e.what());
  }
  return nullptr;
}

// Int item `index` of a _ListBase.
class ListItemTarget {
 public:
  ListItemTarget(PyObject* self, PyObject* index) : list_(as_list(self)->list) {
    if (list_ == nullptr) throw py::type_error("this ShareableList has no block");
    if (!fast_index(index, i_)) i_ = to_index(index);
  }
  [[nodiscard]] const std::string& name() const { return list_->name(); }
  [[nodiscard]] static const char* index_message() { return "index out of range"; }
  [[nodiscard]] shm::AtomicInt64 make() const { return list_->atomic_int64(i_); }

 private:
  shm::ShareableList* list_;  // the instance's list
  Py_ssize_t i_ = 0;          // the index, as given (negative from the end)
};

// The int64 at `offset` of the block of a _BlockBase (libshm.SharedMemory's `_core`).
class BlockOffsetTarget {
 public:
  BlockOffsetTarget(PyObject* self, PyObject* offset) {
    PyObject* core = PyObject_GetAttr(self, str_core);
    if (core == nullptr) throw py::error_already_set();
    core_ = py::reinterpret_steal<py::object>(core);
    // One cast: pybind11 finds the type by a hash of its name each time.
    try {
      block_ = &core_.cast<Handle&>().block();
    } catch (const py::cast_error&) {
      throw py::type_error("operation on a shared memory block that was never opened");
    }
    offset_ = to_offset(offset);
  }
  [[nodiscard]] const std::string& name() const { return block_->name(); }
  [[nodiscard]] static const char* index_message() { return ""; }
  [[nodiscard]] shm::AtomicInt64 make() const { return shm::atomic_int64(*block_, offset_); }

 private:
  py::object core_;                     // the instance's Handle, held for the call
  shm::SharedMemory* block_ = nullptr;  // its block
  std::size_t offset_ = 0;              // the byte offset in the block
};

// atomic_method as PyMethodDef stores it.
template <AtomicOp op, class Target>
PyCFunction atomic_method_entry() noexcept {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&atomic_method<op, Target>));
}

// The five methods' entries of one class, with their docstrings; `where` is "index" or "offset"
// (a macro for the string literals the docstrings are concatenated from).
#define LIBSHM_ATOMIC_METHODS(Target, where)                                                 \
  {"atomic_load", atomic_method_entry<AtomicOp::load, Target>(), METH_FASTCALL,              \
   "atomic_load(" where ") -> int: the int64 at " where ", read atomically."},               \
      {"atomic_store", atomic_method_entry<AtomicOp::store, Target>(), METH_FASTCALL,        \
       "atomic_store(" where                                                                 \
       ", value): writes int `value` atomically (OverflowError outside "                     \
       "int64)."},                                                                           \
      {"atomic_exchange", atomic_method_entry<AtomicOp::exchange, Target>(), METH_FASTCALL,  \
       "atomic_exchange(" where                                                              \
       ", value) -> int: writes `value`, returns the value it "                              \
       "replaced, in one atomic step."},                                                     \
      {"atomic_compare_exchange", atomic_method_entry<AtomicOp::compare_exchange, Target>(), \
       METH_FASTCALL,                                                                        \
       "atomic_compare_exchange(" where                                                      \
       ", expected, desired) -> (swapped, current): writes "                                 \
       "`desired` if the value is `expected`; `current` is the value compared (== expected " \
       "when swapped)."},                                                                    \
  {                                                                                          \
    "atomic_fetch_add", atomic_method_entry<AtomicOp::fetch_add, Target>(), METH_FASTCALL,   \
        "atomic_fetch_add(" where                                                            \
        ", delta) -> int: adds `delta`, returns the value before, "                          \
        "atomically; OverflowError, nothing written, for a sum outside int64."               \
  }

PyMethodDef list_methods[] = {
    // Called by ShareableList.count and .index (libshm/__init__.py), which keep the stdlib's
    // signatures and so its TypeErrors for bad calls.
    {"_count", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&list_count)), METH_O,
     "The stdlib's count loop, in C."},
    {"_index", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&list_index)), METH_O,
     "The stdlib's index loop, in C."},
    LIBSHM_ATOMIC_METHODS(ListItemTarget, "index"),
    {nullptr, nullptr, 0, nullptr},
};

PyObject* list_get_core(PyObject* self, void* /*closure*/) noexcept {
  PyObject* core = as_list(self)->core;
  if (core == nullptr) {
    PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '_core'",
                 Py_TYPE(self)->tp_name);
    return nullptr;
  }
  Py_INCREF(core);
  return core;
}

int list_set_core(PyObject* self, PyObject* value, void* /*closure*/) noexcept {
  ListObject* o = as_list(self);
  if (value == nullptr && o->core == nullptr) {
    PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '_core'",
                 Py_TYPE(self)->tp_name);
    return -1;
  }
  shm::ShareableList* list = nullptr;
  if (value != nullptr) {
    try {
      const py::handle v(value);
      if (py::isinstance<Handle>(v)) list = v.cast<Handle&>().list_if();
    } catch (...) {
      list = nullptr;
    }
    Py_INCREF(value);
  }
  PyObject* old = o->core;
  o->core = value;
  o->list = list;
  Py_XDECREF(old);
  return 0;
}

void list_dealloc(PyObject* self) noexcept {
  PyTypeObject* type = Py_TYPE(self);
  ListObject* o = as_list(self);
  o->list = nullptr;
  Py_CLEAR(o->core);
  type->tp_free(self);
  Py_DECREF(type);  // instances of heap types own a reference to their type (3.8+)
}

PyGetSetDef list_getset[] = {
    {"_core", &list_get_core, &list_set_core, "The list's handle (libshm._core.Handle).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot list_slots[] = {
    {Py_tp_doc, const_cast<char*>("Base of libshm.ShareableList: item access in C.")},
    {Py_tp_new, reinterpret_cast<void*>(&PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(&list_dealloc)},
    {Py_tp_getset, list_getset},
    {Py_tp_methods, list_methods},
    {Py_mp_subscript, reinterpret_cast<void*>(&list_subscript)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(&list_ass_subscript)},
    {Py_mp_length, reinterpret_cast<void*>(&list_length)},
    {Py_sq_item, reinterpret_cast<void*>(&list_item)},
    {Py_sq_ass_item, reinterpret_cast<void*>(&list_ass_item)},
    {Py_sq_length, reinterpret_cast<void*>(&list_length)},
    {0, nullptr},
};

PyType_Spec list_spec = {
    "libshm._core._ListBase",
    static_cast<int>(sizeof(ListObject)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    list_slots,
};

// _ListBase's type object, set by make_list_type.
PyTypeObject* list_base_type = nullptr;

// Points a subclass's sequence slots (sq_item, sq_ass_item, sq_length) straight at
// _ListBase's functions. CPython gives a subclass of a type with both mapping and sequence
// slots generic dispatchers for one of each pair (the dict holds one wrapper per name), so
// without this every sl[0], sl[1], ... of an iteration and every len() goes through a method
// lookup and an argument tuple. Only where the subclass does not override the method (the
// name still resolves to _ListBase's own wrapper); assigning the method later resets the slot
// as usual. Iteration stays the stdlib's (the legacy protocol, type(iter(sl)) is `iterator`).
void bind_direct_slots(py::handle cls) {
  if (!PyType_Check(cls.ptr()) ||
      !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(cls.ptr()), list_base_type)) {
    throw py::type_error("not a subclass of _ListBase");
  }
  auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  if (type->tp_as_sequence == nullptr) return;
  const auto inherited = [&](const char* name) {
    PyObject* mine = PyObject_GetAttrString(cls.ptr(), name);
    PyObject* base = PyDict_GetItemString(list_base_type->tp_dict, name);  // borrowed, or nullptr
    const bool same = mine != nullptr && mine == base;
    Py_XDECREF(mine);
    PyErr_Clear();
    return same;
  };
  if (inherited("__getitem__")) type->tp_as_sequence->sq_item = &list_item;
  if (inherited("__setitem__")) type->tp_as_sequence->sq_ass_item = &list_ass_item;
  if (inherited("__len__")) type->tp_as_sequence->sq_length = &list_length;
}

// Creates _ListBase. `del sl[i]` raises AttributeError('__delitem__') as the stdlib's class
// does (a __setitem__ without __delitem__), and the type has no __delitem__ attribute.
py::object make_list_type() {
  for (auto [name, text] : {std::pair{&str_core, "_core"}, std::pair{&str_get, "_getitem"},
                            std::pair{&str_set, "_setitem"}, std::pair{&str_len, "_len"}}) {
    *name = PyUnicode_InternFromString(text);
    if (*name == nullptr) throw py::error_already_set();
  }
  auto type = py::reinterpret_steal<py::object>(PyType_FromSpec(&list_spec));
  if (!type) throw py::error_already_set();
  auto* t = reinterpret_cast<PyTypeObject*>(type.ptr());
  if (PyDict_DelItemString(t->tp_dict, "__delitem__") != 0) throw py::error_already_set();
  PyType_Modified(t);
  list_base_type = t;
  return type;
}

// _BlockBase: the stateless C base of libshm.SharedMemory, for its atomic methods (a Python
// method calling a pybind11 one cost 6x the C call: 630 ns against 100 ns, CPython 3.13).
PyMethodDef block_methods[] = {
    LIBSHM_ATOMIC_METHODS(BlockOffsetTarget, "offset"),
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot block_slots[] = {
    {Py_tp_doc, const_cast<char*>("Base of libshm.SharedMemory: its atomic methods in C.")},
    {Py_tp_new, reinterpret_cast<void*>(&PyType_GenericNew)},
    {Py_tp_methods, block_methods},
    {0, nullptr},
};

PyType_Spec block_spec = {
    "libshm._core._BlockBase",
    static_cast<int>(sizeof(PyObject)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    block_slots,
};

// Creates _BlockBase (after make_list_type, which interns "_core").
py::object make_block_type() {
  auto type = py::reinterpret_steal<py::object>(PyType_FromSpec(&block_spec));
  if (!type) throw py::error_already_set();
  return type;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "The C++ side of libshm's Python module; use the package `libshm`, not this.";

  const py::tuple bases =
      py::make_tuple(py::handle(PyExc_ValueError), py::module_::import("struct").attr("error"));
  layout_error_type = PyErr_NewExceptionWithDoc(
      "libshm.LayoutError",
      "The block is not a valid ShareableList (too short, corrupted, or not a list). A "
      "ValueError, and a struct.error as the stdlib raises for such blocks.",
      bases.ptr(), nullptr);
  if (layout_error_type == nullptr) throw py::error_already_set();
  m.add_object("LayoutError", py::handle(layout_error_type));

  const py::module_ struct_module = py::module_::import("struct");
  try {
    struct_module.attr("pack")("q", py::int_(1).attr("__lshift__")(63));
    q_range_message = "argument out of range";  // not reached: every CPython refuses 2**63
  } catch (py::error_already_set& e) {
    q_range_message = py::str(e.value()).cast<std::string>();
  }

  py::class_<Handle>(m, "Handle", py::custom_type_setup([](PyHeapTypeObject* heap_type) {
                       heap_type->as_buffer.bf_getbuffer = &Handle::get_buffer;
                       heap_type->as_buffer.bf_releasebuffer = &Handle::release_buffer;
                       heap_type->ht_type.tp_as_buffer = &heap_type->as_buffer;
                     }))
      .def_static(
          "create",
          [](const std::string& name, std::size_t size, bool track) {
            return translated(name, "", [&] {
              return Handle(shm::SharedMemory::create(size, name, {.track = track}));
            });
          },
          py::arg("name"), py::arg("size"), py::arg("track"),
          "Creates block `name` (O_CREAT|O_EXCL) of `size` bytes.")
      .def_static(
          "attach",
          [](const std::string& name, bool track) {
            return translated(name, "", [&] {
              return Handle(shm::SharedMemory::attach(name, {.track = track}));
            });
          },
          py::arg("name"), py::arg("track"), "Attaches block `name`; its size is st_size.")
      .def_static(
          "create_list",
          [](py::iterable sequence, py::object name, bool track, const std::string& layout) {
            std::vector<shm::Item> items;
            for (py::handle value : sequence) items.push_back(to_item(value, false));
            shm::ListCreateOptions options;
            if (!name.is_none()) options.name = name.cast<std::string>();
            options.layout = to_layout(layout);
            options.track = track;
            return translated(options.name, "", [&] {
              // An empty name is "choose one" to the C++ API but an invalid name to Python.
              if (!name.is_none() && options.name.empty()) shm::BlockName::validate("");
              return Handle(shm::ShareableList::create(std::span<const shm::Item>(items), options));
            });
          },
          py::arg("sequence"), py::arg("name"), py::arg("track"), py::arg("layout"),
          "Creates a list holding `sequence`; a random name when `name` is None.")
      .def_static(
          "attach_list",
          [](const std::string& name, bool track) {
            return translated(name, "", [&] {
              shm::ListAttachOptions options;
              options.track = track;
              return Handle(shm::ShareableList::attach(name, options));
            });
          },
          py::arg("name"), py::arg("track"), "Attaches list `name`, either layout.")
      .def_property_readonly("name", [](Handle& h) { return h.block().name(); })
      .def_property_readonly("size", [](Handle& h) { return h.block().size(); })
      .def_property_readonly("closed", [](Handle& h) { return h.block().closed(); })
      .def_property_readonly("tracked", [](Handle& h) { return h.block().tracked(); })
      .def_property_readonly(
          "identity",
          [](Handle& h) {
            const shm::SharedMemory& block = h.block();
            return py::make_tuple(block.device(), block.inode());
          },
          "(st_dev, st_ino) of the file opened, from its descriptor (no stat of the name).")
      .def("close", &Handle::close, "Unmaps the block; BufferError while views are exported.")
      .def(
          "unlink",
          [](Handle& h) {
            shm::SharedMemory& block = h.block();
            translated(block.name(), "", [&] { block.unlink(); });
          },
          "shm_unlink the block.")
      // --- lists
      .def_property_readonly("length",
                             [](Handle& h) {
                               shm::ShareableList& list = h.list();
                               if (list.shm().closed()) {
                                 throw py::type_error("ShareableList: the block is closed");
                               }
                               return list.size();
                             })
      .def_property_readonly(
          "layout", [](Handle& h) { return std::string(shm::to_string(h.list().layout())); })
      .def(
          "get",
          [](Handle& h, py::handle position) -> py::object {
            shm::ShareableList& list = h.list();
            const std::ptrdiff_t i = to_index(position);
            return translated(list.name(), "index out of range", [&]() -> py::object {
              try {
                return from_item(list.get(i));
              } catch (const shm::DecodeError&) {
                // A str slot holding bytes that are not UTF-8 (CPython cut a character):
                // raise the very UnicodeDecodeError CPython raises, from the same bytes.
                std::vector<std::byte> raw = list.get_raw(i);
                while (!raw.empty() && raw.back() == std::byte{0}) raw.pop_back();
                PyObject* s = PyUnicode_DecodeUTF8(reinterpret_cast<const char*>(raw.data()),
                                                   static_cast<Py_ssize_t>(raw.size()), "strict");
                if (s != nullptr) return py::reinterpret_steal<py::object>(s);
                throw py::error_already_set();
              }
            });
          },
          py::arg("position"))
      .def(
          "set",
          [](Handle& h, py::handle position, py::handle value) {
            shm::ShareableList& list = h.list();
            const std::ptrdiff_t i = to_index(position);
            const shm::Item item = to_item(value, true);
            translated(list.name(), "assignment index out of range", [&] { list.set(i, item); });
          },
          py::arg("position"), py::arg("value"))
      .def("format",
           [](Handle& h) {
             shm::ShareableList& list = h.list();
             return translated(list.name(), "", [&] { return list.format(); });
           })
      .def(
          "packing_format",
          [](Handle& h, std::ptrdiff_t position) {
            shm::ShareableList& list = h.list();
            return translated(list.name(), "Requested position out of range.",
                              [&] { return list.format_of(position); });
          },
          py::arg("position"),
          "The stored format string of one item (the stdlib's private "
          "_get_packing_format).");

  m.add_object("_ListBase", make_list_type());
  m.add_object("_BlockBase", make_block_type());
  m.def("_bind_direct_slots", &bind_direct_slots, py::arg("cls"),
        "Points a _ListBase subclass's sequence slots at _ListBase's C functions where it does "
        "not override them (libshm.ShareableList calls it once).");

  m.def(
      "unlink_block",
      [](const std::string& name) { translated(name, "", [&] { shm::unlink_block(name); }); },
      py::arg("name"),
      "shm_unlink(name). (libshm's own tracker, which it would also notify, never runs in Python: "
      "the module tracks with multiprocessing's.)");
}
