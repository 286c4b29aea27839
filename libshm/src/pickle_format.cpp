// What both directions share: opcode names, name rules, and the encodings of single values,
// each a transcription of the Lib/pickle.py function named beside it (3.8 – 3.13 agree).
#include "pickle_format.hpp"

#include <array>

#include "libshm/error.hpp"
#include "libshm/pickle.hpp"

namespace shm::pickle {

PickleError::PickleError(std::size_t offset, const std::string& problem)
    : std::invalid_argument("offset " + std::to_string(offset) + ": " + problem),
      Error(Errc::bad_pickle, offset),
      problem_(problem) {}

std::string_view to_string(PickledHandle::Kind kind) noexcept {
  return kind == PickledHandle::Kind::shared_memory ? "shared_memory" : "shareable_list";
}

std::string_view to_string(Style::Reducer reducer) noexcept {
  return reducer == Style::Reducer::pickle ? "pickle" : "forking";
}

void check_picklable_name(std::string_view name) {
  if (auto problem = detail::name_problem(name)) {
    throw InvalidArgument(Errc::invalid_name,
                          "cannot pickle the name '" + detail::shown(name) + "': " + *problem);
  }
}

namespace detail {

namespace {

// Appends `value` as `bytes` bytes, little-endian (pickle's "<I", "<Q", ...).
void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

std::string_view opcode_name(unsigned char code) noexcept {
  // Every opcode of protocols 0 - 5 (Lib/pickle.py), so messages can name what they found.
  static constexpr std::array<std::pair<unsigned char, std::string_view>, 68> kNames{{
      {'(', "MARK"},
      {'.', "STOP"},
      {'0', "POP"},
      {'1', "POP_MARK"},
      {'2', "DUP"},
      {'F', "FLOAT"},
      {'I', "INT"},
      {'J', "BININT"},
      {'K', "BININT1"},
      {'L', "LONG"},
      {'M', "BININT2"},
      {'N', "NONE"},
      {'P', "PERSID"},
      {'Q', "BINPERSID"},
      {'R', "REDUCE"},
      {'S', "STRING"},
      {'T', "BINSTRING"},
      {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"},
      {'X', "BINUNICODE"},
      {'a', "APPEND"},
      {'b', "BUILD"},
      {'c', "GLOBAL"},
      {'d', "DICT"},
      {'}', "EMPTY_DICT"},
      {'e', "APPENDS"},
      {'g', "GET"},
      {'h', "BINGET"},
      {'i', "INST"},
      {'j', "LONG_BINGET"},
      {'l', "LIST"},
      {']', "EMPTY_LIST"},
      {'o', "OBJ"},
      {'p', "PUT"},
      {'q', "BINPUT"},
      {'r', "LONG_BINPUT"},
      {'s', "SETITEM"},
      {'t', "TUPLE"},
      {')', "EMPTY_TUPLE"},
      {'u', "SETITEMS"},
      {'G', "BINFLOAT"},
      {0x80, "PROTO"},
      {0x81, "NEWOBJ"},
      {0x82, "EXT1"},
      {0x83, "EXT2"},
      {0x84, "EXT4"},
      {0x85, "TUPLE1"},
      {0x86, "TUPLE2"},
      {0x87, "TUPLE3"},
      {0x88, "NEWTRUE"},
      {0x89, "NEWFALSE"},
      {0x8a, "LONG1"},
      {0x8b, "LONG4"},
      {'B', "BINBYTES"},
      {'C', "SHORT_BINBYTES"},
      {0x8c, "SHORT_BINUNICODE"},
      {0x8d, "BINUNICODE8"},
      {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"},
      {0x90, "ADDITEMS"},
      {0x91, "FROZENSET"},
      {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"},
      {0x94, "MEMOIZE"},
      {0x95, "FRAME"},
      {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"},
      {0x98, "READONLY_BUFFER"},
  }};
  for (const auto& [byte, name] : kNames) {
    if (byte == code) return name;
  }
  return {};
}

std::optional<std::string> name_problem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > 255) {
    return "longer than 255 bytes (" + std::to_string(name.size()) + ")";
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == 0) return "embedded NUL at byte " + std::to_string(i);
    if (c == '/') return "'/' at byte " + std::to_string(i);
    if (c >= 0x80) return "non-ASCII byte at byte " + std::to_string(i);
  }
  return std::nullopt;
}

void put_str(std::string& out, int protocol, std::string_view text) {
  if (protocol == 0) {
    // save_str, protocol 0: raw-unicode-escape, plus \u escapes for the characters it would
    // leave raw but that break a text pickle (text is ASCII, so nothing else is escaped).
    out += op::kUnicode;
    for (char c : text) {
      if (c == '\\' || c == '\0' || c == '\n' || c == '\r' || c == '\x1a') {
        out += "\\u";
        shm::detail::append_hex(out, static_cast<unsigned char>(c), 4);
      } else {
        out += c;
      }
    }
    out += '\n';
  } else if (protocol >= 4 && text.size() <= 0xff) {
    out += op::kShortBinUnicode;
    put_le(out, text.size(), 1);
    out += text;
  } else {
    out += op::kBinUnicode;
    put_le(out, text.size(), 4);
    out += text;
  }
}

void put_int(std::string& out, int protocol, std::uint64_t value) {
  // save_long
  if (protocol >= 1) {
    if (value <= 0xff) {
      out += op::kBinInt1;
      put_le(out, value, 1);
      return;
    }
    if (value <= 0xffff) {
      out += op::kBinInt2;
      put_le(out, value, 2);
      return;
    }
    if (value <= 0x7fffffff) {
      out += op::kBinInt;
      put_le(out, value, 4);
      return;
    }
  }
  if (protocol >= 2) {
    // encode_long: the shortest little-endian two's complement, so a positive number whose
    // top bit is set gets a 0x00 sign byte.
    std::string encoded;
    for (std::uint64_t rest = value; rest != 0; rest >>= 8) {
      encoded += static_cast<char>(rest & 0xff);
    }
    if (!encoded.empty() && (static_cast<unsigned char>(encoded.back()) & 0x80) != 0) {
      encoded += '\0';
    }
    out += op::kLong1;
    put_le(out, encoded.size(), 1);
    out += encoded;
    return;
  }
  if (value <= 0x7fffffff) {
    out += op::kInt;
    out += std::to_string(value);
    out += '\n';
  } else {
    out += op::kLong;
    out += std::to_string(value);
    out += "L\n";
  }
}

void put_memo(std::string& out, int protocol, std::uint32_t index) {
  // Pickler.put
  if (protocol >= 4) {
    out += op::kMemoize;
  } else if (protocol >= 1) {
    if (index < 256) {
      out += op::kBinPut;
      put_le(out, index, 1);
    } else {
      out += op::kLongBinPut;
      put_le(out, index, 4);
    }
  } else {
    out += op::kPut;
    out += std::to_string(index);
    out += '\n';
  }
}

void put_get(std::string& out, int protocol, std::uint32_t index) {
  // Pickler.get
  if (protocol >= 1) {
    if (index < 256) {
      out += op::kBinGet;
      put_le(out, index, 1);
    } else {
      out += op::kLongBinGet;
      put_le(out, index, 4);
    }
  } else {
    out += op::kGet;
    out += std::to_string(index);
    out += '\n';
  }
}

void put_false(std::string& out, int protocol) {
  // save_bool
  if (protocol >= 2) {
    out += op::kNewFalse;
  } else {
    out += "I00\n";
  }
}

}  // namespace detail
}  // namespace shm::pickle
