// The pickles of multiprocessing.synchronize objects: a writer that saves them as CPython's C
// Pickler saves them (save_global, save_reduce with copyreg.__newobj__, save_tuple, save_dict
// and its memo), and a reader that runs the opcodes of such pickles on a stack of inert nodes
// and then checks the one tree it built against the six shapes.
//
// The reader never calls, imports or builds what a pickle names: a global is compared with six
// fixed names, NEWOBJ makes a node that records the class, BUILD records the state. Every read
// is checked against what is left of the input (or of its frame) before a length from the input
// is used; each opcode makes at most one node; the stack, the marks and the memo hold at most one
// entry per opcode; MARKs nest at most kMaxMarkDepth deep; the shape check descends a fixed
// depth (Event, Condition, SemLock, state tuple), so shared or cyclic nodes (memo fetches, a
// BUILD with its own object) cost nothing more. Time and memory are linear in the input.
#include "sync_pickle.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <vector>

#include "bytes_text.hpp"
#include "libshm/error.hpp"
#include "libshm/pickle.hpp"
#include "libshm/sync.hpp"
#include "pickle_format.hpp"

namespace shm::detail::sync_pickle {

namespace {

namespace op = shm::pickle::detail::op;
using shm::pickle::PickleError;

constexpr std::string_view kModule = "multiprocessing.synchronize";
constexpr std::array kAllClasses{Class::lock,      Class::rlock,
                                 Class::semaphore, Class::bounded_semaphore,
                                 Class::condition, Class::event};
constexpr std::string_view kAllowedGlobals =
    "only multiprocessing.synchronize.Lock, RLock, Semaphore, BoundedSemaphore, Condition and "
    "Event";
// The longest semaphore name after its '/': "sem." + it is a file name of at most 255 bytes.
constexpr std::size_t kMaxSemaphoreNameBytes = 251;
// Event > Condition > SemLock state: three MARKs deep at most in what CPython writes.
constexpr std::size_t kMaxMarkDepth = 8;

std::string article(Class cls) {
  const std::string_view name = class_name(cls);
  return (cls == Class::rlock ? "an " : "a ") + std::string(name);
}

// ---- the rules a state must follow, shared by dumps (InvalidArgument) and loads (PickleError)

// What is wrong with `kind` for a `cls`, or nothing.
std::optional<std::string> kind_problem(Class cls, std::int64_t kind) {
  const auto want = static_cast<std::int64_t>(cls == Class::rlock ? SemKind::recursive_mutex
                                                                  : SemKind::semaphore);
  if (kind == want) return std::nullopt;
  return article(cls) + "'s kind must be " + std::to_string(want) +
         (want == 0 ? " (a recursive mutex)" : " (a semaphore)") + ", got " + std::to_string(kind);
}

// What is wrong with `maxvalue` for a `cls`, or nothing.
std::optional<std::string> maxvalue_problem(Class cls, std::int64_t maxvalue) {
  if (cls == Class::bounded_semaphore) {
    // BoundedSemaphore(value) has maxvalue = value, a C int of at most SEM_VALUE_MAX; CPython
    // makes BoundedSemaphore(0), whose maxvalue is 0.
    if (maxvalue >= 0 && maxvalue <= kSemValueMax) return std::nullopt;
    return "a BoundedSemaphore's maxvalue must be 0 to " + std::to_string(kSemValueMax) +
           " (SEM_VALUE_MAX), got " + std::to_string(maxvalue);
  }
  const std::int64_t want = cls == Class::semaphore ? kSemValueMax : 1;
  if (maxvalue == want) return std::nullopt;
  return article(cls) + "'s maxvalue must be " + std::to_string(want) +
         (cls == Class::semaphore ? " (SEM_VALUE_MAX)" : "") + ", got " + std::to_string(maxvalue);
}

// What is wrong with a handle, or nothing: CPython writes the sem_t address as a non-negative int
// (PyLong_FromVoidPtr), and this one must fit the state's int64.
std::optional<std::string> handle_problem(std::int64_t handle) {
  if (handle >= 0) return std::nullopt;
  return "the handle (the creator's sem_t address) must not be negative, got " +
         std::to_string(handle);
}

// ---- writing

// Appends the pickle of a state, memo and all, as CPython's C Pickler does for the objects.
class Writer {
 public:
  explicit Writer(int protocol) : protocol_(protocol) {
    out_ += op::kProto;
    out_ += static_cast<char>(protocol_);
    // One frame for everything (the C Pickler commits a frame at 64 KiB; these are far smaller),
    // its length filled in by finish().
    if (protocol_ >= 4) {
      out_ += op::kFrame;
      out_.append(8, '\0');
    }
  }

  // copyreg.__newobj__(cls) with the state tuple, or a fetch of the same object saved before.
  void semlock(const SemLockState& state) {
    for (const auto& [seen, index] : semlocks_) {
      if (seen == state) {
        pickle::detail::put_get(out_, protocol_, index);
        return;
      }
    }
    new_object(state.cls);
    semlocks_.emplace_back(state, next_memo_ - 1);
    out_ += op::kMark;
    pickle::detail::put_int(out_, protocol_, static_cast<std::uint64_t>(state.handle));
    pickle::detail::put_int(out_, protocol_, static_cast<std::uint64_t>(state.kind));
    pickle::detail::put_int(out_, protocol_, static_cast<std::uint64_t>(state.maxvalue));
    text(state.name);
    out_ += op::kTuple;
    memoize();
    out_ += op::kBuild;
  }

  // Condition.__getstate__: (lock, sleeping_count, woken_count, wait_semaphore).
  void condition(const ConditionState& state) {
    new_object(Class::condition);
    out_ += op::kMark;
    semlock(state.lock);
    semlock(state.sleeping_count);
    semlock(state.woken_count);
    semlock(state.wait_semaphore);
    out_ += op::kTuple;
    memoize();
    out_ += op::kBuild;
  }

  // An Event's __dict__, {'_cond': ..., '_flag': ...} in that order, saved by save_dict.
  void event(const EventState& state) {
    new_object(Class::event);
    out_ += op::kEmptyDict;
    memoize();
    out_ += op::kMark;
    text("_cond");
    condition(state.cond);
    text("_flag");
    semlock(state.flag);
    out_ += op::kSetItems;
    out_ += op::kBuild;
  }

  std::string finish() {
    out_ += op::kStop;
    if (protocol_ >= 4) {
      std::uint64_t length = out_.size() - pickle::detail::kFramedHeaderSize;
      for (std::size_t i = 0; i < 8; ++i, length >>= 8) {
        out_[3 + i] = static_cast<char>(length & 0xff);
      }
    }
    return std::move(out_);
  }

 private:
  void memoize() { pickle::detail::put_memo(out_, protocol_, next_memo_++); }

  // A str: memoized as every str the Pickler saves.
  void text(std::string_view value) {
    pickle::detail::put_str(out_, protocol_, value);
    memoize();
  }

  // save_global: a fetch of the class once it is memoized; from protocol 4 on the module and
  // name strings, themselves memoized (the module string is one object, fetched the second time).
  void global(Class cls) {
    auto& memo = class_memo_[static_cast<std::size_t>(cls)];
    if (memo) {
      pickle::detail::put_get(out_, protocol_, *memo);
      return;
    }
    if (protocol_ >= 4) {
      if (module_memo_) {
        pickle::detail::put_get(out_, protocol_, *module_memo_);
      } else {
        module_memo_ = next_memo_;
        text(kModule);
      }
      text(class_name(cls));
      out_ += op::kStackGlobal;
    } else {
      out_ += op::kGlobal;
      out_ += kModule;
      out_ += '\n';
      out_ += class_name(cls);
      out_ += '\n';
    }
    memo = next_memo_;
    memoize();
  }

  // save_reduce of (copyreg.__newobj__, (cls,), state): the class, no arguments, NEWOBJ, and
  // the new object memoized before its state is saved.
  void new_object(Class cls) {
    global(cls);
    out_ += op::kEmptyTuple;
    out_ += op::kNewObj;
    memoize();
  }

  int protocol_;
  std::string out_;
  std::uint32_t next_memo_ = 0;
  std::optional<std::uint32_t> module_memo_;
  std::array<std::optional<std::uint32_t>, kAllClasses.size()> class_memo_{};
  std::vector<std::pair<SemLockState, std::uint32_t>> semlocks_;  // objects saved, memo index
};

[[noreturn]] void refuse(Errc code, const std::string& problem) {
  throw InvalidArgument(code, "cannot pickle this synchronisation object: " + problem);
}

// Checks what loads() checks, for dumps(): `role` names where the SemLock is.
void check_semlock(const SemLockState& state, std::initializer_list<Class> allowed,
                   std::string_view role) {
  if (std::find(allowed.begin(), allowed.end(), state.cls) == allowed.end()) {
    refuse(Errc::invalid_argument,
           std::string(role) + " cannot be " + article(state.cls) + " (a SemLockState)");
  }
  for (const auto& problem :
       {kind_problem(state.cls, state.kind), maxvalue_problem(state.cls, state.maxvalue),
        handle_problem(state.handle)}) {
    if (problem) refuse(Errc::invalid_argument, *problem);
  }
  if (auto problem = semaphore_name_problem(state.name)) refuse(Errc::invalid_name, *problem);
}

void check_condition(const ConditionState& state, bool plain_lock_only) {
  if (plain_lock_only) {
    check_semlock(state.lock, {Class::lock}, "an Event's Condition's lock");
  } else {
    check_semlock(state.lock, {Class::lock, Class::rlock}, "a Condition's lock");
  }
  check_semlock(state.sleeping_count, {Class::semaphore}, "a Condition's sleeping_count");
  check_semlock(state.woken_count, {Class::semaphore}, "a Condition's woken_count");
  check_semlock(state.wait_semaphore, {Class::semaphore}, "a Condition's wait_semaphore");
}

// ---- reading

// A value the opcodes made: what CPython's unpickler would have on its stack, inert.
struct Node {
  enum class Type { integer, text, global, tuple, dict, object };
  Node(Type type_, std::size_t at_) : type(type_), at(at_) {}
  Type type;
  std::size_t at;                    // offset of the opcode that made it (a tuple's MARK)
  std::int64_t integer = 0;          // integer: the value, if it fits
  bool fits = true;                  // integer: at most 8 bytes
  std::string_view text;             // text: the bytes (a view of the input)
  Class cls = Class::lock;           // global, object: the class
  std::vector<std::size_t> items;    // tuple: the items; dict: key, value, key, value, ...
  std::optional<std::size_t> state;  // object: what BUILD gave it
};

std::uint64_t little_endian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

// What a global names, if it is one of the two handles libshm's other pickle reader takes.
std::optional<std::string> handle_global(std::string_view module, std::string_view name) {
  if (module == pickle::detail::kModule && name == "SharedMemory") {
    return "this is the pickle of a multiprocessing.shared_memory.SharedMemory handle, not of "
           "a synchronisation object (shm::pickle::loads reads it)";
  }
  if ((module == pickle::detail::kModule && name == "ShareableList") ||
      (module == "functools" && name == "partial") ||
      (module == pickle::detail::kForkingModule && name == pickle::detail::kForkingFunction)) {
    return "this is (the start of) the pickle of a multiprocessing.shared_memory.ShareableList "
           "handle, not of a synchronisation object (shm::pickle::loads reads it)";
  }
  return std::nullopt;
}

class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes)
      : data_(reinterpret_cast<const char*>(bytes.data()), bytes.size()) {}

  State run() {
    if (data_.size() > kMaxPickleBytes) {
      fail(kMaxPickleBytes, "the pickle has " + std::to_string(data_.size()) +
                                " bytes, more than the " + std::to_string(kMaxPickleBytes) +
                                " read (a synchronisation object's pickle has under 2 KiB)");
    }
    if (data_.empty()) fail(0, "no data: the pickle is empty");
    if (data_[0] != op::kProto) no_proto();
    pos_ = 1;
    const auto protocol = little_endian(take(1, "PROTO's protocol number"));
    if (protocol < static_cast<std::uint64_t>(kMinProtocol) ||
        protocol > static_cast<std::uint64_t>(kMaxProtocol)) {
      fail(1, "protocol " + std::to_string(protocol) +
                  " is not read: spawn writes protocol 4 (CPython 3.8 - 3.13) or 5 (3.14+), and "
                  "2 - 5 are accepted");
    }
    for (;;) {
      if (frame_end_ && pos_ == *frame_end_) frame_end_.reset();
      const std::size_t at = pos_;
      if (pos_ == data_.size()) fail(at, "the pickle ends without STOP");
      const char code = take(1, "an opcode")[0];
      if (code == op::kStop) return stop(at);
      step(code, at);
    }
  }

 private:
  [[noreturn]] static void fail(std::size_t at, const std::string& problem) {
    throw PickleError(at, problem);
  }

  // ---- input

  [[nodiscard]] std::size_t limit() const noexcept {
    return frame_end_ ? *frame_end_ : data_.size();
  }

  // Consumes `n` bytes, checking first that they are there (within the frame, if one is open).
  std::string_view take(std::uint64_t n, std::string_view what) {
    const std::size_t left = limit() - pos_;
    if (n > left) {
      fail(pos_, std::string(what) + " needs " + std::to_string(n) + " bytes, but only " +
                     std::to_string(left) + " remain before the end of the " +
                     (frame_end_ && *frame_end_ < data_.size() ? "frame" : "pickle"));
    }
    const std::string_view bytes = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += bytes.size();
    return bytes;
  }

  // Consumes a text argument and its newline (GLOBAL's), returning the text.
  std::string_view line(std::string_view what) {
    const std::size_t left = limit() - pos_;
    const void* newline = std::memchr(data_.data() + pos_, '\n', left);
    if (newline == nullptr) {
      fail(pos_, std::string(what) + " has no newline before the end of the " +
                     (frame_end_ && *frame_end_ < data_.size() ? "frame" : "pickle"));
    }
    const auto length =
        static_cast<std::size_t>(static_cast<const char*>(newline) - data_.data()) - pos_;
    const std::string_view text = data_.substr(pos_, length);
    pos_ += length + 1;
    return text;
  }

  // A pickle without PROTO is protocol 0 or 1; say what it is if its first global tells.
  [[noreturn]] void no_proto() {
    std::string problem =
        "no PROTO opcode: this is a protocol 0 or 1 pickle (or none), which spawn never writes "
        "for these objects; protocols 2 - 5 are read";
    if (data_[0] == op::kGlobal) {
      const std::size_t module_end = data_.find('\n', 1);
      const std::size_t name_end =
          module_end == std::string_view::npos ? module_end : data_.find('\n', module_end + 1);
      if (name_end != std::string_view::npos) {
        const std::string_view module = data_.substr(1, module_end - 1);
        const std::string_view name = data_.substr(module_end + 1, name_end - module_end - 1);
        if (auto handle = handle_global(module, name)) problem = *handle;
      }
    }
    fail(0, problem);
  }

  // ---- the stack

  std::size_t add(Node node) {
    nodes_.push_back(std::move(node));
    return nodes_.size() - 1;
  }

  void push(Node node) { stack_.push_back(add(std::move(node))); }

  // The stack's bottom for the opcode at `at`: everything above the innermost MARK.
  [[nodiscard]] std::size_t fence() const noexcept {
    return marks_.empty() ? 0 : marks_.back().first;
  }

  std::size_t pop(std::size_t at, std::string_view opcode, std::string_view what) {
    if (stack_.size() <= fence()) {
      fail(at, std::string(opcode) + " needs " + std::string(what) + ", but the stack " +
                   (marks_.empty() ? "is empty" : "has nothing above its MARK"));
    }
    const std::size_t top = stack_.back();
    stack_.pop_back();
    return top;
  }

  std::size_t top(std::size_t at, std::string_view opcode) {
    const std::size_t node = pop(at, opcode, "a value");
    stack_.push_back(node);
    return node;
  }

  // The items above the innermost MARK, which is removed with them.
  std::vector<std::size_t> pop_mark(std::size_t at, std::string_view opcode,
                                    std::size_t* mark_at = nullptr) {
    if (marks_.empty()) fail(at, std::string(opcode) + " without a MARK before it");
    const auto [size, offset] = marks_.back();
    marks_.pop_back();
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(size),
                                   stack_.end());
    stack_.resize(size);
    if (mark_at != nullptr) *mark_at = offset;
    return items;
  }

  [[nodiscard]] std::string describe(std::size_t index) const {
    const Node& node = nodes_[index];
    switch (node.type) {
      case Node::Type::integer:
        return node.fits ? "the integer " + std::to_string(node.integer)
                         : std::string("an integer of more than 8 bytes");
      case Node::Type::text:
        return "the str '" + shown(node.text) + "'";
      case Node::Type::global:
        return "the class " + std::string(kModule) + "." + std::string(class_name(node.cls));
      case Node::Type::tuple:
        return node.items.empty() ? std::string("an empty tuple")
                                  : "a tuple of " + std::to_string(node.items.size());
      case Node::Type::dict:
        return "a dict";
      case Node::Type::object:
        return article(node.cls) + " object";
    }
    return "a value";
  }

  // ---- the opcodes

  Class resolve_global(std::size_t at, std::string_view module, std::string_view name) {
    if (module == kModule) {
      for (Class cls : kAllClasses) {
        if (name == class_name(cls)) return cls;
      }
    }
    if (auto handle = handle_global(module, name)) fail(at, *handle);
    fail(at, "global '" + shown(module) + "." + shown(name) +
                 "' is not allowed: " + std::string(kAllowedGlobals));
  }

  void integer(std::size_t at, std::int64_t value, bool fits = true) {
    Node node{Node::Type::integer, at};
    node.integer = value;
    node.fits = fits;
    push(std::move(node));
  }

  void text(std::size_t at, std::string_view value) {
    Node node{Node::Type::text, at};
    node.text = value;
    push(std::move(node));
  }

  void global(std::size_t at, Class cls) {
    Node node{Node::Type::global, at};
    node.cls = cls;
    push(std::move(node));
  }

  void tuple(std::size_t at, std::vector<std::size_t> items) {
    Node node{Node::Type::tuple, at};
    node.items = std::move(items);
    push(std::move(node));
  }

  void memo_put(std::size_t at, std::string_view opcode, std::uint32_t index) {
    memo_[index] = top(at, opcode);
  }

  void memo_get(std::size_t at, std::string_view opcode, std::uint32_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) {
      fail(at, std::string(opcode) + " " + std::to_string(index) +
                   ": nothing was stored at that memo index");
    }
    stack_.push_back(found->second);
  }

  void step(char code, std::size_t at) {
    const std::string_view name = pickle::detail::opcode_name(static_cast<unsigned char>(code));
    switch (code) {
      case op::kFrame: {
        if (frame_end_) {
          fail(at, "a FRAME inside a frame that has " + std::to_string(*frame_end_ - at) +
                       " bytes left");
        }
        const auto length = little_endian(take(8, "FRAME's length"));
        const std::size_t follow = data_.size() - pos_;
        if (length > follow) {
          fail(at, "FRAME says " + std::to_string(length) + " bytes follow, but only " +
                       std::to_string(follow) + " do (a truncated pickle or a wrong frame length)");
        }
        frame_end_ = pos_ + static_cast<std::size_t>(length);
        break;
      }
      case op::kGlobal: {
        const std::string_view module = line("GLOBAL's module");
        const std::string_view qualname = line("GLOBAL's name");
        global(at, resolve_global(at, module, qualname));
        break;
      }
      case op::kStackGlobal: {
        const std::size_t qualname = pop(at, name, "a class name");
        const std::size_t module = pop(at, name, "a module name");
        for (std::size_t part : {module, qualname}) {
          if (nodes_[part].type != Node::Type::text) {
            fail(at, "STACK_GLOBAL needs a module and a name (two str), got " + describe(part));
          }
        }
        global(at, resolve_global(nodes_[module].at, nodes_[module].text, nodes_[qualname].text));
        break;
      }
      case op::kMark:
        if (marks_.size() == kMaxMarkDepth) {
          fail(at, "MARK nested " + std::to_string(kMaxMarkDepth + 1) +
                       " deep: no synchronisation object's pickle nests more than 3");
        }
        marks_.emplace_back(stack_.size(), at);
        break;
      case op::kEmptyTuple:
        tuple(at, {});
        break;
      case op::kTuple1:
      case op::kTuple2:
      case op::kTuple3: {
        const std::size_t n = static_cast<std::size_t>(code - op::kTuple1) + 1;
        std::vector<std::size_t> items(n);
        for (std::size_t i = n; i-- > 0;) items[i] = pop(at, name, "the tuple's items");
        tuple(at, std::move(items));
        break;
      }
      case op::kTuple: {
        std::size_t mark_at = at;
        auto items = pop_mark(at, name, &mark_at);
        tuple(mark_at, std::move(items));
        break;
      }
      case op::kEmptyDict:
        push(Node{Node::Type::dict, at});
        break;
      case op::kSetItem: {
        const std::size_t value = pop(at, name, "a key and a value");
        const std::size_t key = pop(at, name, "a key and a value");
        const std::size_t dict = top(at, name);
        set_items(at, dict, {key, value});
        break;
      }
      case op::kSetItems: {
        const auto items = pop_mark(at, name);
        if (items.size() % 2 != 0) {
          fail(at, "SETITEMS has an odd number of items (" + std::to_string(items.size()) +
                       ") above its MARK: keys and values come in pairs");
        }
        set_items(at, top(at, name), items);
        break;
      }
      case op::kNewObj: {
        const std::size_t args = pop(at, name, "a class and its arguments");
        const std::size_t cls = pop(at, name, "a class and its arguments");
        if (nodes_[cls].type != Node::Type::global) {
          fail(at, "NEWOBJ needs a class, got " + describe(cls));
        }
        if (nodes_[args].type != Node::Type::tuple || !nodes_[args].items.empty()) {
          fail(at,
               "NEWOBJ's arguments must be the empty tuple (copyreg.__newobj__(cls) as CPython "
               "writes for these classes), got " +
                   describe(args));
        }
        Node object{Node::Type::object, at};
        object.cls = nodes_[cls].cls;
        push(std::move(object));
        break;
      }
      case op::kBuild: {
        const std::size_t state = pop(at, name, "an object and its state");
        const std::size_t object = pop(at, name, "an object and its state");
        stack_.push_back(object);
        Node& node = nodes_[object];
        if (node.type != Node::Type::object) {
          fail(at, "BUILD needs an object made by NEWOBJ, got " + describe(object));
        }
        if (node.state) {
          fail(at, "BUILD a second time for the " + std::string(class_name(node.cls)) +
                       " made at offset " + std::to_string(node.at) +
                       " (CPython builds each object once)");
        }
        node.state = state;
        break;
      }
      case op::kBinInt1:
        integer(at, static_cast<std::int64_t>(little_endian(take(1, "BININT1's number"))));
        break;
      case op::kBinInt2:
        integer(at, static_cast<std::int64_t>(little_endian(take(2, "BININT2's number"))));
        break;
      case op::kBinInt: {
        // A signed 32-bit number.
        const auto bits = static_cast<std::uint32_t>(little_endian(take(4, "BININT's number")));
        integer(at, static_cast<std::int32_t>(bits));
        break;
      }
      case op::kLong1: {
        // Little-endian two's complement of `length` bytes.
        const auto length = little_endian(take(1, "LONG1's length"));
        const std::string_view bytes = take(length, "LONG1's number");
        if (bytes.size() > 8) {
          integer(at, 0, false);
          break;
        }
        std::uint64_t bits = little_endian(bytes);
        if (!bytes.empty() && bytes.size() < 8 &&
            (static_cast<unsigned char>(bytes.back()) & 0x80) != 0) {
          bits |= ~std::uint64_t{0} << (8 * bytes.size());  // sign extension
        }
        integer(at, static_cast<std::int64_t>(bits));
        break;
      }
      case op::kShortBinUnicode: {
        const auto length = little_endian(take(1, "SHORT_BINUNICODE's length"));
        text(at, take(length, "SHORT_BINUNICODE's string"));
        break;
      }
      case op::kBinUnicode: {
        const auto length = little_endian(take(4, "BINUNICODE's length"));
        text(at, take(length, "BINUNICODE's string"));
        break;
      }
      case op::kMemoize:
        memo_put(at, name, static_cast<std::uint32_t>(memo_.size()));
        break;
      case op::kBinPut:
        memo_put(at, name, static_cast<std::uint32_t>(little_endian(take(1, "BINPUT's index"))));
        break;
      case op::kLongBinPut:
        memo_put(at, name,
                 static_cast<std::uint32_t>(little_endian(take(4, "LONG_BINPUT's index"))));
        break;
      case op::kBinGet:
        memo_get(at, name, static_cast<std::uint32_t>(little_endian(take(1, "BINGET's index"))));
        break;
      case op::kLongBinGet:
        memo_get(at, name,
                 static_cast<std::uint32_t>(little_endian(take(4, "LONG_BINGET's index"))));
        break;
      case op::kProto:
        fail(at, "a second PROTO (CPython writes one, first)");
      default:
        fail(at, (name.empty() ? "byte 0x" + to_hex_byte(code) + ", which is no opcode,"
                               : "opcode " + std::string(name)) +
                     " is not allowed in a synchronisation object's pickle (allowed: PROTO, "
                     "FRAME, GLOBAL, STACK_GLOBAL, MARK, EMPTY_TUPLE, TUPLE, TUPLE1-3, "
                     "EMPTY_DICT, SETITEM, SETITEMS, NEWOBJ, BUILD, BININT, BININT1, BININT2, "
                     "LONG1, SHORT_BINUNICODE, BINUNICODE, MEMOIZE, BINPUT, LONG_BINPUT, BINGET, "
                     "LONG_BINGET, STOP)");
    }
  }

  static std::string to_hex_byte(char code) {
    std::string hex;
    append_hex(hex, static_cast<unsigned char>(code));
    return hex;
  }

  void set_items(std::size_t at, std::size_t dict, const std::vector<std::size_t>& items) {
    if (nodes_[dict].type != Node::Type::dict) {
      fail(at, "SETITEM(S) needs a dict below its items, got " + describe(dict));
    }
    auto& entries = nodes_[dict].items;
    entries.insert(entries.end(), items.begin(), items.end());
  }

  // ---- STOP: the one value left must be one of the six objects, with exactly their shapes

  State stop(std::size_t at) {
    if (!marks_.empty()) {
      fail(at,
           "STOP with the MARK at offset " + std::to_string(marks_.back().second) + " still open");
    }
    if (stack_.size() != 1) {
      fail(at, "STOP with " + std::to_string(stack_.size()) +
                   " values on the stack: a pickle leaves exactly one");
    }
    if (pos_ != data_.size()) {
      fail(pos_, std::to_string(data_.size() - pos_) + " more bytes after STOP");
    }
    const std::size_t result = stack_.back();
    const Node& node = nodes_[result];
    if (node.type != Node::Type::object) {
      fail(node.at,
           "the pickle makes " + describe(result) + ", not a multiprocessing.synchronize object");
    }
    switch (node.cls) {
      case Class::condition:
        return condition(result, false);
      case Class::event:
        return event(result);
      default:
        return semlock(result, {node.cls}, "the pickle's object");
    }
  }

  // The object at `index`, which must be one of `allowed` and have a state; returns the state.
  const Node& object_state(std::size_t index, std::initializer_list<Class> allowed,
                           std::string_view role) {
    const Node& node = nodes_[index];
    const bool ok = node.type == Node::Type::object &&
                    std::find(allowed.begin(), allowed.end(), node.cls) != allowed.end();
    if (!ok) {
      std::string want;
      for (Class cls : allowed) {
        want += (want.empty() ? "" : " or ") + article(cls);
      }
      fail(node.at, std::string(role) + " must be " + want + ", got " + describe(index));
    }
    if (!node.state) {
      fail(node.at, "the " + std::string(class_name(node.cls)) + " made at offset " +
                        std::to_string(node.at) + " has no state (no BUILD)");
    }
    return nodes_[*node.state];
  }

  std::int64_t integer_at(std::size_t index, std::string_view what) {
    const Node& node = nodes_[index];
    if (node.type != Node::Type::integer) {
      fail(node.at, std::string(what) + " must be an integer, got " + describe(index));
    }
    if (!node.fits) {
      fail(node.at, std::string(what) + " is a LONG1 of more than 8 bytes: it must fit 64 bits");
    }
    return node.integer;
  }

  SemLockState semlock(std::size_t index, std::initializer_list<Class> allowed,
                       std::string_view role) {
    const Node& state = object_state(index, allowed, role);
    const Class cls = nodes_[index].cls;
    if (state.type != Node::Type::tuple || state.items.size() != 4) {
      fail(state.at, article(cls) + "'s state must be (handle, kind, maxvalue, name), got " +
                         describe(*nodes_[index].state));
    }
    SemLockState result;
    result.cls = cls;
    const std::size_t handle = state.items[0];
    const std::size_t kind = state.items[1];
    const std::size_t maxvalue = state.items[2];
    const std::size_t name = state.items[3];
    result.handle = integer_at(handle, "the handle");
    if (auto problem = handle_problem(result.handle)) fail(nodes_[handle].at, *problem);
    const std::int64_t kind_value = integer_at(kind, "the kind");
    if (auto problem = kind_problem(cls, kind_value)) fail(nodes_[kind].at, *problem);
    result.kind = static_cast<int>(kind_value);
    result.maxvalue = integer_at(maxvalue, "the maxvalue");
    if (auto problem = maxvalue_problem(cls, result.maxvalue)) fail(nodes_[maxvalue].at, *problem);
    if (nodes_[name].type != Node::Type::text) {
      fail(nodes_[name].at, article(cls) + "'s name must be a str, got " + describe(name));
    }
    if (auto problem = semaphore_name_problem(nodes_[name].text)) {
      fail(nodes_[name].at, *problem);
    }
    result.name = std::string(nodes_[name].text);
    return result;
  }

  ConditionState condition(std::size_t index, bool in_event) {
    const Node& state = object_state(index, {Class::condition},
                                     in_event ? "an Event's _cond" : "the pickle's object");
    if (state.type != Node::Type::tuple || state.items.size() != 4) {
      fail(state.at,
           "a Condition's state must be (lock, sleeping_count, woken_count, wait_semaphore), "
           "got " +
               describe(*nodes_[index].state));
    }
    const std::vector<std::size_t> items = state.items;  // semlock() may grow nodes_
    ConditionState result;
    if (in_event) {
      result.lock = semlock(items[0], {Class::lock}, "an Event's Condition's lock");
    } else {
      result.lock = semlock(items[0], {Class::lock, Class::rlock}, "a Condition's lock");
    }
    result.sleeping_count = semlock(items[1], {Class::semaphore}, "a Condition's sleeping_count");
    result.woken_count = semlock(items[2], {Class::semaphore}, "a Condition's woken_count");
    result.wait_semaphore = semlock(items[3], {Class::semaphore}, "a Condition's wait_semaphore");
    return result;
  }

  EventState event(std::size_t index) {
    const Node& state = object_state(index, {Class::event}, "the pickle's object");
    if (state.type != Node::Type::dict) {
      fail(state.at,
           "an Event's state must be its __dict__ {'_cond': a Condition, '_flag': a "
           "Semaphore}, got " +
               describe(*nodes_[index].state));
    }
    const std::vector<std::size_t> entries = state.items;
    const std::size_t dict_at = state.at;
    std::optional<std::size_t> cond;
    std::optional<std::size_t> flag;
    for (std::size_t i = 0; i < entries.size(); i += 2) {
      const Node& key = nodes_[entries[i]];
      std::optional<std::size_t>* slot = nullptr;
      if (key.type == Node::Type::text && key.text == "_cond") slot = &cond;
      if (key.type == Node::Type::text && key.text == "_flag") slot = &flag;
      if (slot == nullptr) {
        fail(key.at, "an Event's __dict__ has " + describe(entries[i]) +
                         " as a key: only '_cond' and '_flag' are expected");
      }
      if (*slot) fail(key.at, "an Event's __dict__ has the key '" + shown(key.text) + "' twice");
      *slot = entries[i + 1];
    }
    if (!cond || !flag) {
      fail(dict_at,
           std::string("an Event's __dict__ lacks the key '") + (cond ? "_flag" : "_cond") + "'");
    }
    EventState result;
    result.cond = condition(*cond, true);
    result.flag = semlock(*flag, {Class::semaphore}, "an Event's _flag");
    return result;
  }

  std::string_view data_;                                   // the whole pickle
  std::size_t pos_ = 0;                                     // next byte to read
  std::optional<std::size_t> frame_end_;                    // end of the open frame
  std::vector<Node> nodes_;                                 // every value made, by index
  std::vector<std::size_t> stack_;                          // node indices
  std::vector<std::pair<std::size_t, std::size_t>> marks_;  // stack size and offset of a MARK
  std::map<std::uint32_t, std::size_t> memo_;               // memo index to node index
};

}  // namespace

std::string_view class_name(Class cls) noexcept {
  switch (cls) {
    case Class::lock:
      return "Lock";
    case Class::rlock:
      return "RLock";
    case Class::semaphore:
      return "Semaphore";
    case Class::bounded_semaphore:
      return "BoundedSemaphore";
    case Class::condition:
      return "Condition";
    case Class::event:
      return "Event";
  }
  return "?";
}

std::optional<std::string> semaphore_name_problem(std::string_view name) {
  const std::string quoted = "the semaphore name '" + shown(name) + "' ";
  if (name.empty() || name[0] != '/') return quoted + "does not start with '/'";
  if (name.size() == 1) return quoted + "has nothing after its '/'";
  if (name.size() - 1 > kMaxSemaphoreNameBytes) {
    return quoted + "is too long: " + std::to_string(name.size() - 1) + " bytes after its '/', " +
           "at most " + std::to_string(kMaxSemaphoreNameBytes) + " (sem.<name> is a file name)";
  }
  for (std::size_t i = 1; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == 0) return quoted + "has a NUL at byte " + std::to_string(i);
    if (c == '/') return quoted + "has a second '/' at byte " + std::to_string(i);
    if (c >= 0x80) return quoted + "has a non-ASCII byte at byte " + std::to_string(i);
  }
  return std::nullopt;
}

std::string dumps(const State& state, int protocol) {
  if (protocol < kMinProtocol || protocol > kMaxProtocol) {
    throw InvalidArgument(Errc::invalid_argument,
                          "pickle protocol " + std::to_string(protocol) +
                              " is not written for synchronisation objects: 2 to 5 (spawn "
                              "writes 4, and 5 from CPython 3.14)");
  }
  Writer writer(protocol);
  if (const auto* semlock = std::get_if<SemLockState>(&state)) {
    check_semlock(*semlock, {Class::lock, Class::rlock, Class::semaphore, Class::bounded_semaphore},
                  "a SemLockState's class");
    writer.semlock(*semlock);
  } else if (const auto* condition = std::get_if<ConditionState>(&state)) {
    check_condition(*condition, false);
    writer.condition(*condition);
  } else {
    const auto& event = std::get<EventState>(state);
    check_condition(event.cond, true);
    check_semlock(event.flag, {Class::semaphore}, "an Event's _flag");
    writer.event(event);
  }
  return writer.finish();
}

State loads(std::span<const std::byte> bytes) {
  return Reader(bytes).run();
}

}  // namespace shm::detail::sync_pickle
