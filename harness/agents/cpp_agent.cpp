// The C++ agent of the conformance harness: carries out requests with libshm, judges nothing.
//
// Speaks harness/PROTOCOL.md (version 1): one JSON request per line on stdin, one JSON response
// per line on stdout, logs only on stderr. Handles are names the runner chooses.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <libshm/array.hpp>
#include <libshm/error.hpp>
#include <libshm/hex.hpp>
#include <libshm/item.hpp>
#include <libshm/item_json.hpp>
#include <libshm/pickle.hpp>
#include <libshm/shareable_list.hpp>
#include <libshm/shared_memory.hpp>
#include <libshm/tracker.hpp>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <vector>

#include "agent_error.hpp"
#include "sync_ops.hpp"

namespace {

using nlohmann::json;

constexpr int kProtocolVersion = 1;

using agent::AgentError;

// An unholdable value (an integer outside int64, an unknown object, …) is the request's fault.
shm::Item to_item(const json& j) {
  try {
    return j.get<shm::Item>();
  } catch (const std::invalid_argument& e) {
    throw AgentError("InvalidArgument", std::string("not an item libshm can hold: ") + e.what());
  }
}

shm::Layout parse_layout(const std::string& text) {
  if (const auto layout = shm::parse_layout(text)) return *layout;
  throw AgentError("InvalidArgument", "unknown layout " + text);
}

// What was raised, for the runner to judge (harness/runner/error_kinds.cpp maps it to an error
// kind): libshm's error code with the CPython exception a Python program would get for it
// (shm::python_exception, the library's one table), errno for OS failures, the byte offset
// where there is one, the message. Only the agent's own request errors (AgentError) carry a kind.
json error_report(const std::exception& e) {
  json report = {{"message", e.what()}};
  if (auto* a = dynamic_cast<const AgentError*>(&e)) {
    report["type"] = "AgentError";
    report["kind"] = a->kind();
  } else if (const shm::Error* error = shm::error_of(e)) {
    report["type"] = std::string(shm::python_exception(error->code()));
    report["code"] = std::string(shm::to_string(error->code()));
    if (error->os_errno() != 0) report["errno"] = error->os_errno();
    if (error->offset()) report["offset"] = *error->offset();
  } else {
    report["type"] = typeid(e).name();  // not libshm's: std::bad_alloc and the like
  }
  return report;
}

// ------------------------------------------------------------------------- Array JSON
// An element of a typed array (ops array.* and npy.*, harness/PROTOCOL.md "Array JSON"): bool,
// int, float (a number; {"float": "inf"|"-inf"}; a NaN as {"nan": "<hex of its bits>"} so that
// payloads travel exactly), complex as [re, im], bytes (S, V) as {"bytes": hex}, str (U), a
// structured element as {field: value}; subarrays and the array itself as nested lists.

// The Python literal of a descr given as JSON lists ([["a", "<i4"], ["b", ">f8", [2]]]).
std::string descr_literal(const json& spec) {
  if (spec.is_string()) {
    std::string quoted = "'";
    for (char c : spec.get<std::string>()) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return quoted + "'";
  }
  if (!spec.is_array()) throw AgentError("InvalidArgument", "not a dtype: " + spec.dump());
  std::string out = "[";
  for (const auto& f : spec) {
    if (!f.is_array() || f.size() < 2 || f.size() > 3) {
      throw AgentError("InvalidArgument", "not a descr field: " + f.dump());
    }
    out += (out.size() > 1 ? ", (" : "(") + descr_literal(f[0]) + ", " + descr_literal(f[1]);
    if (f.size() == 3) {
      std::string dims;
      for (const auto& n : f[2]) dims += std::to_string(n.get<std::size_t>()) + ", ";
      if (!dims.empty()) dims.resize(dims.size() - (f[2].size() == 1 ? 1 : 2));  // "(2,)", "(2, 3)"
      out += ", (" + dims + ")";
    }
    out += ")";
  }
  return out + "]";
}

// The dtype a request names: a dtype.str spelling or a descr as JSON lists.
shm::Dtype dtype_of(const json& spec) {
  if (spec.is_string()) return shm::Dtype::parse(spec.get<std::string>());
  return shm::Dtype::from_descr(descr_literal(spec));
}

template <typename Bits>
json float_json(double value, Bits bits) {
  if (std::isnan(value)) {
    std::array<std::byte, sizeof(Bits)> big;  // the bits as a big-endian number, in hex
    for (std::size_t i = 0; i < sizeof(Bits); ++i) {
      big[i] = static_cast<std::byte>(bits >> (8 * (sizeof(Bits) - 1 - i)));
    }
    return {{"nan", shm::to_hex(big)}};
  }
  if (std::isinf(value)) return {{"float", value > 0 ? "inf" : "-inf"}};
  return value;
}

// A float of `Bits` width from Array JSON: {"nan": hex} sets the bits, anything else goes
// through `convert` from double.
template <typename Bits, typename Convert>
Bits float_bits(const json& j, Convert convert) {
  if (j.is_object() && j.contains("nan")) {
    const std::string text = j["nan"].get<std::string>();
    return static_cast<Bits>(std::stoull(text, nullptr, 16));
  }
  double d = 0;
  if (j.is_object() && j.contains("float")) {
    const std::string f = j["float"].get<std::string>();
    d = f == "inf" ? HUGE_VAL : f == "-inf" ? -HUGE_VAL : NAN;
  } else if (j.is_number()) {
    d = j.get<double>();
  } else {
    throw AgentError("InvalidArgument", "not a float: " + j.dump());
  }
  return convert(d);
}

json f16_json(shm::Float16 x) {
  return float_json(static_cast<double>(x.to_float()), x.bits);
}
json f32_json(float x) {
  return float_json(static_cast<double>(x), std::bit_cast<std::uint32_t>(x));
}
json f64_json(double x) {
  return float_json(x, std::bit_cast<std::uint64_t>(x));
}
shm::Float16 f16_of(const json& j) {
  return {float_bits<std::uint16_t>(
      j, [](double d) { return shm::Float16::from_float(static_cast<float>(d)).bits; })};
}
float f32_of(const json& j) {
  return std::bit_cast<float>(float_bits<std::uint32_t>(
      j, [](double d) { return std::bit_cast<std::uint32_t>(static_cast<float>(d)); }));
}
double f64_of(const json& j) {
  return std::bit_cast<double>(
      float_bits<std::uint64_t>(j, [](double d) { return std::bit_cast<std::uint64_t>(d); }));
}

template <typename T>
T integer_of(const json& j) {
  if (!j.is_number_integer()) throw AgentError("InvalidArgument", "not an int: " + j.dump());
  if constexpr (std::is_signed_v<T>) {
    if (j.is_number_unsigned() &&
        j.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw AgentError("InvalidArgument", j.dump() + " does not fit");
    }
    auto v = j.get<std::int64_t>();
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
      throw AgentError("InvalidArgument", j.dump() + " does not fit");
    }
    return static_cast<T>(v);
  } else {
    if (!j.is_number_unsigned()) throw AgentError("InvalidArgument", j.dump() + " does not fit");
    auto v = j.get<std::uint64_t>();
    if (v > std::numeric_limits<T>::max()) {
      throw AgentError("InvalidArgument", j.dump() + " does not fit");
    }
    return static_cast<T>(v);
  }
}

std::string bytes_of(const json& j) {
  if (!j.is_object() || !j.contains("bytes")) {
    throw AgentError("InvalidArgument", "not {\"bytes\": hex}: " + j.dump());
  }
  auto raw = shm::from_hex(j["bytes"].get<std::string>());
  return {reinterpret_cast<const char*>(raw.data()), raw.size()};
}

// The element at `index` of a view of a plain (non-structured) dtype, as Array JSON.
json element_json(const shm::ConstArrayView& v, std::span<const std::size_t> index) {
  using K = shm::DtypeKind;
  const auto size = v.dtype().itemsize();
  switch (v.dtype().kind()) {
    case K::boolean:
      return v.load<bool>(index);
    case K::signed_integer:
      if (size == 1) return v.load<std::int8_t>(index);
      if (size == 2) return v.load<std::int16_t>(index);
      if (size == 4) return v.load<std::int32_t>(index);
      return v.load<std::int64_t>(index);
    case K::unsigned_integer:
      if (size == 1) return v.load<std::uint8_t>(index);
      if (size == 2) return v.load<std::uint16_t>(index);
      if (size == 4) return v.load<std::uint32_t>(index);
      return v.load<std::uint64_t>(index);
    case K::floating:
      if (size == 2) return f16_json(v.load<shm::Float16>(index));
      if (size == 4) return f32_json(v.load<float>(index));
      return f64_json(v.load<double>(index));
    case K::complex:
      if (size == 8) {
        auto c = v.load<std::complex<float>>(index);
        return json::array({f32_json(c.real()), f32_json(c.imag())});
      } else {
        auto c = v.load<std::complex<double>>(index);
        return json::array({f64_json(c.real()), f64_json(c.imag())});
      }
    case K::bytes: {
      const std::string text = v.text(index);
      return {{"bytes", shm::to_hex(std::as_bytes(std::span<const char>(text)))}};
    }
    case K::unicode:
      return v.text(index);
    case K::raw:
      return {{"bytes", shm::to_hex(v.element(index))}};
    case K::structured:
      break;
  }
  throw AgentError("Other", "no Array JSON for " + v.dtype().str());
}

void store_element(const shm::ArrayView& v, std::span<const std::size_t> index, const json& j) {
  using K = shm::DtypeKind;
  const auto size = v.dtype().itemsize();
  switch (v.dtype().kind()) {
    case K::boolean:
      if (!j.is_boolean()) throw AgentError("InvalidArgument", "not a bool: " + j.dump());
      return v.store(index, j.get<bool>());
    case K::signed_integer:
      if (size == 1) return v.store(index, integer_of<std::int8_t>(j));
      if (size == 2) return v.store(index, integer_of<std::int16_t>(j));
      if (size == 4) return v.store(index, integer_of<std::int32_t>(j));
      return v.store(index, integer_of<std::int64_t>(j));
    case K::unsigned_integer:
      if (size == 1) return v.store(index, integer_of<std::uint8_t>(j));
      if (size == 2) return v.store(index, integer_of<std::uint16_t>(j));
      if (size == 4) return v.store(index, integer_of<std::uint32_t>(j));
      return v.store(index, integer_of<std::uint64_t>(j));
    case K::floating:
      if (size == 2) return v.store(index, f16_of(j));
      if (size == 4) return v.store(index, f32_of(j));
      return v.store(index, f64_of(j));
    case K::complex:
      if (!j.is_array() || j.size() != 2) {
        throw AgentError("InvalidArgument", "a complex is [re, im], not " + j.dump());
      }
      if (size == 8) return v.store(index, std::complex<float>(f32_of(j[0]), f32_of(j[1])));
      return v.store(index, std::complex<double>(f64_of(j[0]), f64_of(j[1])));
    case K::bytes:
      return v.set_text(index, bytes_of(j));
    case K::unicode:
      if (!j.is_string()) throw AgentError("InvalidArgument", "not a str: " + j.dump());
      return v.set_text(index, j.get<std::string>());
    case K::raw: {
      auto data = bytes_of(j);
      auto out = v.element(index);
      if (data.size() > out.size()) throw AgentError("InvalidArgument", "too many bytes");
      std::fill(out.begin(), out.end(), std::byte{0});
      std::memcpy(out.data(), data.data(), data.size());
      return;
    }
    case K::structured:
      break;
  }
  throw AgentError("Other", "no Array JSON for " + v.dtype().str());
}

// view[index...] as nested Array JSON (records field by field), or with `raw` each element's
// bytes as stored.
json array_read(const shm::ConstArrayView& v, std::vector<std::size_t>& index, bool raw) {
  if (index.size() < v.ndim()) {
    json out = json::array();
    for (std::size_t i = 0; i < v.shape()[index.size()]; ++i) {
      index.push_back(i);
      out.push_back(array_read(v, index, raw));
      index.pop_back();
    }
    return out;
  }
  if (raw) return shm::to_hex(v.element(index));
  if (v.dtype().kind() != shm::DtypeKind::structured) return element_json(v, index);
  json out = json::object();
  for (const auto& f : v.dtype().fields()) out[f.name] = array_read(v.field(f.name), index, raw);
  return out;
}

// Stores nested Array JSON `value` into view[index...], field by field for records.
void array_write(const shm::ArrayView& v, std::vector<std::size_t>& index, const json& value) {
  if (index.size() < v.ndim()) {
    const auto n = v.shape()[index.size()];
    if (!value.is_array() || value.size() != n) {
      throw AgentError("InvalidArgument",
                       "expected a list of " + std::to_string(n) + ", not " + value.dump());
    }
    for (std::size_t i = 0; i < n; ++i) {
      index.push_back(i);
      array_write(v, index, value[i]);
      index.pop_back();
    }
    return;
  }
  if (v.dtype().kind() != shm::DtypeKind::structured) return store_element(v, index, value);
  if (!value.is_object() || value.size() != v.dtype().fields().size()) {
    throw AgentError("InvalidArgument", "expected every field, not " + value.dump());
  }
  for (const auto& f : v.dtype().fields()) array_write(v.field(f.name), index, value.at(f.name));
}

class Agent {
 public:
  json handle(const std::string& op, const json& req) {
    if (auto done = sync_.handle(op, req)) return *done;
    if (op == "hello") return hello();
    if (op == "block.create") return block_create(req);
    if (op == "block.attach") return block_attach(req);
    if (op == "block.close") {
      block(req).close();
      return nullptr;
    }
    if (op == "block.unlink" || op == "list.unlink") return unlink(op, req);
    if (op == "block.size") return block(req).size();
    if (op == "block.read") return block_read(req);
    if (op == "block.write") return block_write(req);
    if (op == "list.create") return list_create(req);
    if (op == "list.attach") return list_attach(req);
    if (op == "list.get") return list(req).get(req.at("index").get<std::ptrdiff_t>());
    if (op == "list.set") {
      list(req).set(req.at("index").get<std::ptrdiff_t>(), to_item(req.at("value")));
      return nullptr;
    }
    if (op == "list.len") return list(req).size();
    if (op == "list.format") return list(req).format();
    if (op == "list.items") return list(req).items();
    if (op == "list.count") return list(req).count(to_item(req.at("value")));
    if (op == "list.index") return list(req).index(to_item(req.at("value")));
    if (op == "list.slice") return slice(req);
    if (op == "list.write_range") return write_range(req);
    if (op == "list.raw") {
      auto raw = list(req).get_raw(req.at("index").get<std::ptrdiff_t>());
      return shm::to_hex(raw);
    }
    if (op == "list.repr") return list(req).repr();
    if (op == "block.repr") {
      // CPython's SharedMemory.__repr__: SharedMemory('name', size=N).
      const auto& b = block(req);
      return "SharedMemory(" + shm::python_repr(shm::Item{b.name()}) +
             ", size=" + std::to_string(b.size()) + ")";
    }
    if (op == "list.block") {
      const auto& l = list(req);
      return shm::to_hex(l.shm().buf());
    }
    if (op == "list.close") {
      list(req).shm().close();
      return nullptr;
    }
    if (op == "pickle.dumps") return pickle_dumps(req);
    if (op == "pickle.loads") return pickle_loads(req);
    if (op == "pickle.parse")
      return handle_json(shm::pickle::loads(shm::from_hex(req.at("hex").get<std::string>())));
    if (op == "array.write") return array_write_op(req);
    if (op == "array.read") return array_read_op(req);
    if (op == "npy.create") return npy_create(req);
    if (op == "npy.attach") return npy_attach(req);
    if (op == "reset") return reset();
    if (op == "exit" || op == "kill") return nullptr;  // the loop acts after answering
    throw AgentError("InvalidArgument", "unknown op " + op);
  }

 private:
  static json hello() {
    json caps = {"array",    "block",  "layout-3.8", "layout-3.9",   "libshm",      "list",
                 "list.raw", "strict", "sync",       "sync.by-name", "track-option"};
    caps.push_back("pickle");
    caps.push_back("pickle.picklers");
    return {{"protocol", kProtocolVersion}, {"implementation", "libshm"},
            {"version", SHM_AGENT_VERSION}, {"id", "cpp"},
            {"policy", "libshm"},           {"executable", "cpp_agent"},
            {"capabilities", caps}};
  }

  std::string new_handle(const json& req) {
    auto h = req.value("handle", "");
    if (h.empty()) throw AgentError("InvalidArgument", "request needs a 'handle'");
    if (blocks_.count(h) != 0 || lists_.count(h) != 0 || npys_.count(h) != 0 || sync_.has(h)) {
      throw AgentError("InvalidArgument", "handle " + h + " is in use");
    }
    return h;
  }

  shm::SharedMemory& block(const json& req) {
    auto h = req.value("handle", "");
    if (auto it = blocks_.find(h); it != blocks_.end()) return it->second;
    if (auto it = lists_.find(h); it != lists_.end()) return it->second.shm();
    if (auto it = npys_.find(h); it != npys_.end()) return it->second.shm();
    throw AgentError("InvalidArgument", "no block handle " + h);
  }

  shm::ShareableList& list(const json& req) {
    auto h = req.value("handle", "");
    if (auto it = lists_.find(h); it != lists_.end()) return it->second;
    throw AgentError("InvalidArgument", "no list handle " + h);
  }

  void note(const shm::SharedMemory& b) {
    if (b.tracked()) tracked_.insert(b.name());
  }

  json block_create(const json& req) {
    auto h = new_handle(req);
    shm::CreateOptions opts;
    opts.track = req.value("track", true);
    auto size = req.at("size").get<std::int64_t>();
    if (size < 0) throw AgentError("InvalidArgument", "size must not be negative");
    auto b = req.contains("name") && !req["name"].is_null()
                 ? shm::SharedMemory::create(static_cast<std::size_t>(size),
                                             req["name"].get<std::string>(), opts)
                 : shm::SharedMemory::create(static_cast<std::size_t>(size), opts);
    note(b);
    json out = {{"name", b.name()}, {"size", b.size()}};
    blocks_.emplace(h, std::move(b));
    return out;
  }

  json block_attach(const json& req) {
    auto h = new_handle(req);
    shm::AttachOptions opts;
    opts.track = req.value("track", false);
    opts.read_only = req.value("read_only", false);
    // Python's SharedMemory(None) is a ValueError; libshm's attach has no way to be asked.
    if (!req.contains("name") || !req["name"].is_string()) {
      throw AgentError("InvalidArgument", "block.attach needs a name");
    }
    auto b = shm::SharedMemory::attach(req.at("name").get<std::string>(), opts);
    note(b);
    json out = {{"name", b.name()}, {"size", b.size()}};
    blocks_.emplace(h, std::move(b));
    return out;
  }

  json unlink(const std::string& op, const json& req) {
    shm::SharedMemory& b = op == "list.unlink" ? list(req).shm() : block(req);
    b.unlink();
    tracked_.erase(b.name());  // unlink() from any handle withdraws this process's registration
    return nullptr;
  }

  json block_read(const json& req) {
    auto& b = block(req);
    auto buf = b.buf();
    auto offset = req.value("offset", std::size_t{0});
    auto length = req.value("length", buf.size() - std::min(offset, buf.size()));
    if (offset > buf.size() || length > buf.size() - offset) {
      throw AgentError("Index", "read outside the block");
    }
    return shm::to_hex(buf.subspan(offset, length));
  }

  json block_write(const json& req) {
    auto& b = block(req);
    auto buf = b.buf();
    auto data = shm::from_hex(req.at("hex").get<std::string>());
    auto offset = req.value("offset", std::size_t{0});
    if (offset > buf.size() || data.size() > buf.size() - offset) {
      throw AgentError("Index", "write outside the block");
    }
    std::copy(data.begin(), data.end(), buf.begin() + static_cast<std::ptrdiff_t>(offset));
    return nullptr;
  }

  json list_create(const json& req) {
    auto h = new_handle(req);
    shm::ListCreateOptions opts;
    if (req.contains("name") && !req["name"].is_null()) opts.name = req["name"].get<std::string>();
    if (req.contains("layout")) opts.layout = parse_layout(req["layout"].get<std::string>());
    opts.strict = req.value("strict", false);
    opts.track = req.value("track", true);
    std::vector<shm::Item> values;
    const json given = req.value("items", json::array());
    for (const auto& j : given) values.push_back(to_item(j));
    auto l = shm::ShareableList::create(values, opts);
    note(l.shm());
    json out = {{"name", l.name()}, {"size", l.shm().size()}};
    lists_.emplace(h, std::move(l));
    return out;
  }

  json list_attach(const json& req) {
    auto h = new_handle(req);
    shm::ListAttachOptions opts;
    if (req.contains("layout")) opts.layout = parse_layout(req["layout"].get<std::string>());
    opts.strict = req.value("strict", false);
    opts.track = req.value("track", false);
    auto l = shm::ShareableList::attach(req.at("name").get<std::string>(), opts);
    note(l.shm());
    json out = {{"name", l.name()},
                {"size", l.shm().size()},
                {"layout", std::string(shm::to_string(l.layout()))}};
    lists_.emplace(h, std::move(l));
    return out;
  }

  json slice(const json& req) {
    auto& l = list(req);
    auto start = req.value("start", std::int64_t{0});
    auto stop = req.value("stop", static_cast<std::int64_t>(l.size()));
    auto step = req.value("step", std::int64_t{1});
    if (step <= 0) throw AgentError("InvalidArgument", "step must be positive");
    json out = json::array();
    for (auto i = start; i < stop; i += step) out.push_back(l.get(i));
    return out;
  }

  json write_range(const json& req) {
    auto& l = list(req);
    auto start = req.at("start").get<std::int64_t>();
    auto stop = req.at("stop").get<std::int64_t>();
    auto step = req.value("step", std::int64_t{1});
    auto base = req.value("base", std::int64_t{0});
    auto rounds = req.value("rounds", 1);
    if (step <= 0) throw AgentError("InvalidArgument", "step must be positive");
    for (int r = 0; r < rounds; ++r) {
      for (auto i = start; i < stop; i += step) l.set(i, shm::Item{base + i});
    }
    return nullptr;
  }

  static json handle_json(const shm::pickle::PickledHandle& h) {
    json out = {{"kind", std::string(shm::pickle::to_string(h.kind))},
                {"name", h.name},
                {"protocol", h.protocol},
                {"reducer", std::string(shm::pickle::to_string(h.style.reducer))},
                {"optimized", h.style.optimized}};
    if (h.size) out["size"] = *h.size;
    return out;
  }

  // The bytes py_agent's `pickler` makes: "pickle" and "python" (the same bytes), "forking"
  // (ForkingPickler), "optimized" and "optimized-forking" (pickletools.optimize of those).
  static shm::pickle::Style pickle_style(const std::string& pickler) {
    using Reducer = shm::pickle::Style::Reducer;
    if (pickler == "pickle" || pickler == "python") return {Reducer::pickle, false};
    if (pickler == "forking") return {Reducer::forking, false};
    if (pickler == "optimized") return {Reducer::pickle, true};
    if (pickler == "optimized-forking") return {Reducer::forking, true};
    throw AgentError("InvalidArgument", "unknown pickler '" + pickler + "'");
  }

  json pickle_dumps(const json& req) {
    int protocol = req.value("protocol", shm::pickle::kDefaultProtocol);
    const auto style = pickle_style(req.value("pickler", "pickle"));
    auto h = req.value("handle", "");
    if (auto it = lists_.find(h); it != lists_.end()) {
      return shm::to_hex(shm::pickle::dumps_shareable_list(it->second.name(), protocol, style));
    }
    const auto& b = block(req);
    return shm::to_hex(shm::pickle::dumps_shared_memory(b.name(), b.size(), protocol, style));
  }

  json pickle_loads(const json& req) {
    auto h = new_handle(req);
    auto handle = shm::pickle::loads(shm::from_hex(req.at("hex").get<std::string>()));
    if (handle.kind == shm::pickle::PickledHandle::Kind::shareable_list) {
      shm::ListAttachOptions opts;
      opts.track = req.value("track", false);
      auto l = shm::pickle::attach_list(handle, opts);
      note(l.shm());
      lists_.emplace(h, std::move(l));
      return {{"kind", "shareable_list"}, {"name", handle.name}};
    }
    shm::AttachOptions opts;
    opts.track = req.value("track", false);
    auto b = shm::pickle::attach(handle, opts);
    note(b);
    json out = {{"kind", "shared_memory"}, {"name", b.name()}, {"size", b.size()}};
    blocks_.emplace(h, std::move(b));
    return out;
  }

  // The view a request names over its block: `dtype`, `shape`, `order`, `offset`, or, for an
  // .npy handle without `dtype`, what its header says. Unaligned views are allowed, as numpy's.
  shm::ArrayView array_of(const json& req) {
    auto h = req.value("handle", "");
    if (auto it = npys_.find(h); it != npys_.end() && !req.contains("dtype")) {
      return it->second.view();
    }
    auto& b = block(req);
    const auto shape = req.at("shape").get<std::vector<std::size_t>>();
    const auto order = req.value("order", "C");
    if (order != "C" && order != "F") throw AgentError("InvalidArgument", "order " + order);
    return shm::ArrayView(b, dtype_of(req.value("dtype", json("<f8"))), shape,
                          order == "F" ? shm::Order::F : shm::Order::C,
                          req.value("offset", std::size_t{0}), shm::Alignment::any);
  }

  json array_write_op(const json& req) {
    std::vector<std::size_t> index;
    array_write(array_of(req), index, req.at("values"));
    return nullptr;
  }

  json array_read_op(const json& req) {
    std::vector<std::size_t> index;
    return array_read(array_of(req), index, req.value("raw", false));
  }

  static json npy_json(const shm::NpyArray& a) {
    const auto& h = a.header();
    return {{"name", a.name()},       {"size", a.shm().size()},
            {"dtype", h.dtype.str()}, {"descr", h.dtype.descr()},
            {"shape", h.shape},       {"order", h.fortran_order ? "F" : "C"},
            {"offset", h.data_offset}};
  }

  json npy_create(const json& req) {
    auto h = new_handle(req);
    shm::NpyCreateOptions opts;
    opts.order = req.value("order", "C") == "F" ? shm::Order::F : shm::Order::C;
    if (req.contains("name") && !req["name"].is_null()) opts.name = req["name"].get<std::string>();
    opts.block.track = req.value("track", true);
    const auto shape = req.at("shape").get<std::vector<std::size_t>>();
    auto a = shm::NpyArray::create(dtype_of(req.at("dtype")), shape, opts);
    note(a.shm());
    json out = npy_json(a);
    npys_.emplace(h, std::move(a));
    return out;
  }

  json npy_attach(const json& req) {
    auto h = new_handle(req);
    shm::AttachOptions opts;
    opts.track = req.value("track", false);
    auto a = shm::NpyArray::attach(req.at("name").get<std::string>(), opts);
    note(a.shm());
    json out = npy_json(a);
    npys_.emplace(h, std::move(a));
    return out;
  }

  json reset() {
    sync_.reset();  // a creator's objects unlink their names
    npys_.clear();
    lists_.clear();  // the destructors close the blocks
    blocks_.clear();
    for (const auto& name : tracked_) shm::tracker::unregister_block(name);
    tracked_.clear();
    return nullptr;
  }

  std::map<std::string, shm::SharedMemory> blocks_;  // block handles
  std::map<std::string, shm::ShareableList> lists_;  // list handles
  std::map<std::string, shm::NpyArray> npys_;        // .npy block handles
  std::set<std::string> tracked_;  // names this process's tracker holds because of us
  agent::SyncOps sync_{[this](const std::string& h) -> shm::SharedMemory& {
    return block(json{{"handle", h}});
  }};  // sync.* handles
};

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  Agent agent;
  std::string line;
  const std::regex id_pattern(R"re("id"\s*:\s*(-?[0-9]+))re");
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json response;
    std::string op;
    bool leave = false;
    int exit_code = 0;
    json id = nullptr;
    try {
      json req;
      try {
        req = shm::parse_json(line);
      } catch (const std::invalid_argument& e) {
        std::smatch m;
        if (std::regex_search(line, m, id_pattern)) id = std::stoll(m[1].str());
        throw AgentError("InvalidArgument", std::string("request: ") + e.what());
      }
      id = req.value("id", json());
      op = req.value("op", "");
      json value = agent.handle(op, req);
      response = {{"id", id}, {"ok", true}, {"value", value}};
      if (op == "exit") {
        leave = true;
        exit_code = req.value("code", 0);
      }
      if (op == "kill") {
        std::cout.flush();
        ::raise(SIGKILL);
      }
    } catch (const std::exception& e) {
      response = {{"id", id}, {"ok", false}, {"error", error_report(e)}};
    }
    std::cout << response.dump(-1, ' ', true, json::error_handler_t::replace) << '\n' << std::flush;
    if (leave) return exit_code;
  }
  return 0;
}
