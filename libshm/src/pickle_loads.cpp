// Reading handle pickles: a recogniser that walks the shapes of pickle_format.hpp over the
// input and checks each token, never an unpickler. Nothing here calls, imports or builds what
// a pickle names: globals are compared with three fixed pairs of strings, and the only values
// taken from the input are the name (at most 255 bytes) and the size (an integer).
//
// Every read is bounded by what is left of the input (or of the frame) before any length in
// the input is used, each byte is looked at a bounded number of times per reading, there are
// at most four readings, and nothing recurses: time is linear in the input and memory is
// constant apart from the name.
#include <algorithm>
#include <cstring>
#include <limits>

#include "libshm/hex.hpp"
#include "libshm/pickle.hpp"
#include "pickle_format.hpp"

namespace shm::pickle {

namespace {

using namespace detail;

std::uint64_t little_endian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

// The visitor that checks each token of a shape against the input, for one reading: a
// protocol (used when the pickle has no PROTO) and whether it is optimized.
class Decoder {
 public:
  Decoder(std::span<const std::byte> data, int protocol_without_proto, bool optimized)
      : data_(reinterpret_cast<const char*>(data.data()), data.size()),
        end_(data.size()),
        protocol_(protocol_without_proto) {
    style_.optimized = optimized;
  }

  PickledHandle run() {
    header();
    // The first global says which object this is; read it ahead, then walk its shape.
    const std::size_t body = pos_;
    const Global first = peek_global();
    pos_ = body;
    if (first.module == kModule && first.qualname == "SharedMemory") {
      handle_.kind = PickledHandle::Kind::shared_memory;
    } else if (first.module == "functools" && first.qualname == "partial") {
      handle_.kind = PickledHandle::Kind::shareable_list;
    } else if (first.module == kForkingModule && first.qualname == kForkingFunction) {
      handle_.kind = PickledHandle::Kind::shareable_list;
      style_.reducer = Style::Reducer::forking;
    } else {
      fail(first.at, "global '" + dotted(first) + "' is not allowed: only " + std::string(kModule) +
                         ".SharedMemory, functools.partial and " + std::string(kForkingModule) +
                         "." + std::string(kForkingFunction) + " (of " + std::string(kModule) +
                         ".ShareableList) make a handle");
    }
    handle_body(*this, handle_.kind);
    if (pos_ != data_.size()) {
      fail(pos_, std::to_string(data_.size() - pos_) + " more bytes after STOP");
    }
    handle_.protocol = protocol_;
    handle_.style = style_;
    return handle_;
  }

  // ---- the visitor interface of the shapes

  [[nodiscard]] int protocol() const noexcept { return protocol_; }
  [[nodiscard]] Style::Reducer reducer() const noexcept { return style_.reducer; }

  void op(char code) {
    expect(std::string(1, code), opcode_name(static_cast<unsigned char>(code)));
  }

  std::uint32_t memo(bool fetched) {
    // pickletools.optimize keeps only the stores a get() uses, renumbered in order.
    if (style_.optimized && !fetched) return next_memo_;
    std::string want;
    put_memo(want, protocol_, next_memo_);
    const std::string index = std::to_string(next_memo_);
    expect(want, protocol_ >= 4   ? "MEMOIZE (memo " + index + ")"
                 : protocol_ >= 1 ? "BINPUT " + index
                                  : "PUT " + index);
    return next_memo_++;
  }

  void get(std::uint32_t index) {
    std::string want;
    put_get(want, protocol_, index);
    expect(want, (protocol_ >= 1 ? "BINGET " : "GET ") + std::to_string(index));
  }

  void global(std::string_view module, std::string_view qualname) {
    const Global found = read_global();
    if (found.module != module || found.qualname != qualname) {
      fail(found.at, "global '" + dotted(found) + "' is not allowed here: expected '" +
                         std::string(module) + "." + std::string(qualname) + "'");
    }
    if (protocol_ >= 4) op(op::kStackGlobal);
  }

  void text(std::string_view text) {
    std::string want;
    put_str(want, protocol_, text);
    expect(want, std::string(opcode_name(static_cast<unsigned char>(want[0]))) + " '" +
                     std::string(text) + "'");
  }

  void name() {
    const std::size_t at = pos_;
    std::string unescaped;  // protocol 0 only
    std::string_view name;
    if (protocol_ == 0) {
      expect_opcode(op::kUnicode, "UNICODE (the block's name)");
      unescaped = unescape(line("UNICODE (the block's name)"), at);
      name = unescaped;
    } else if (protocol_ <= 3) {
      expect_opcode(op::kBinUnicode, "BINUNICODE (the block's name)");
      const auto length = little_endian(take(4, "BINUNICODE's length"));
      name = take(length, "BINUNICODE's string");
    } else {
      expect_opcode(op::kShortBinUnicode, "SHORT_BINUNICODE (the block's name)");
      const auto length = little_endian(take(1, "SHORT_BINUNICODE's length"));
      name = take(length, "SHORT_BINUNICODE's string");
    }
    if (auto problem = name_problem(name)) {
      fail(at, "the block's name '" + shown(name) + "' is not valid: " + *problem);
    }
    std::string want;
    put_str(want, protocol_, name);
    canonical(at, want, "the name '" + shown(name) + "'");
    handle_.name = std::string(name);
  }

  void create_flag() {
    const std::size_t at = pos_;
    const std::string_view truth = protocol_ >= 2 ? std::string_view("\x88") : "I01\n";
    if (data_.substr(at, std::min(left(), truth.size())) == truth) {
      fail(at,
           "the create flag is True: unpickling would try to create the block (CPython "
           "raises FileExistsError), so CPython never writes this for a handle");
    }
    std::string want;
    put_false(want, protocol_);
    expect(want, protocol_ >= 2 ? "NEWFALSE (create=False)" : "INT 00 (create=False)");
  }

  void size() {
    const std::size_t at = pos_;
    if (left() == 0) fail(at, "expected the size (an integer), found " + describe(at, 1));
    const char code = data_[pos_];
    bool negative = false;
    bool too_big = false;
    std::uint64_t value = 0;
    switch (code) {
      case op::kInt:
      case op::kLong: {
        ++pos_;
        std::string_view digits = line(code == op::kInt ? "INT (the size)" : "LONG (the size)");
        if (code == op::kLong && !digits.empty() && digits.back() == 'L') digits.remove_suffix(1);
        if (!digits.empty() && digits.front() == '-') {
          negative = true;
          digits.remove_prefix(1);
        }
        if (digits.empty() || !std::all_of(digits.begin(), digits.end(),
                                           [](char c) { return c >= '0' && c <= '9'; })) {
          fail(at, "the size is not a decimal number: '" + shown(digits) + "'");
        }
        for (char c : digits) {
          const auto digit = static_cast<std::uint64_t>(c - '0');
          if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            too_big = true;
            break;
          }
          value = value * 10 + digit;
        }
        break;
      }
      case op::kBinInt1:
        ++pos_;
        value = little_endian(take(1, "BININT1"));
        break;
      case op::kBinInt2:
        ++pos_;
        value = little_endian(take(2, "BININT2"));
        break;
      case op::kBinInt: {
        ++pos_;
        value = little_endian(take(4, "BININT"));
        negative = (value & 0x80000000u) != 0;
        break;
      }
      case op::kLong1: {
        ++pos_;
        const auto length = little_endian(take(1, "LONG1's length"));
        const std::string_view bytes = take(length, "LONG1's number");
        negative = !bytes.empty() && (static_cast<unsigned char>(bytes.back()) & 0x80) != 0;
        too_big = bytes.size() > 8 && bytes.find_first_not_of('\0', 8) != std::string_view::npos;
        value = little_endian(bytes.substr(0, 8));
        break;
      }
      default:
        fail(at, "expected the size (an integer), found " + describe(at, 1));
    }
    if (negative) fail(at, "the size is negative (CPython's SharedMemory refuses that)");
    if (too_big) fail(at, "the size does not fit 64 bits");
    std::string want;
    put_int(want, protocol_, value);
    canonical(at, want, "the size " + std::to_string(value));
    handle_.size = value;
  }

 private:
  // A global's two strings, as found (views into the input).
  struct Global {
    std::size_t at;             // offset of its first opcode
    std::string_view module;    // module name
    std::string_view qualname;  // name in the module
  };

  static std::string dotted(const Global& g) { return shown(g.module) + "." + shown(g.qualname); }

  [[noreturn]] static void fail(std::size_t at, const std::string& problem) {
    throw PickleError(at, problem);
  }

  [[nodiscard]] std::size_t left() const noexcept { return end_ - pos_; }

  [[nodiscard]] std::string_view end_text() const {
    return framed_ ? "the end of the frame" : "the end of the pickle";
  }

  // What is at `at`, for "found ...": the opcode's name and up to `n` bytes in hex.
  [[nodiscard]] std::string describe(std::size_t at, std::size_t n) const {
    if (at >= end_) return std::string(end_text());
    const auto code = static_cast<unsigned char>(data_[at]);
    const std::string bytes = to_hex(data_.substr(at, std::min({n, end_ - at, std::size_t{16}})));
    const std::string_view name = opcode_name(code);
    if (name.empty()) return "byte " + bytes.substr(0, 2) + ", which is no opcode";
    return std::string(name) + " (" + bytes + ")";
  }

  // PROTO, and FRAME from protocol 4 on; no PROTO means protocol 0 or 1.
  void header() {
    if (data_.empty()) fail(0, "no data: the pickle is empty");
    if (data_[0] != op::kProto) return;
    ++pos_;
    const auto protocol = little_endian(take(1, "PROTO's protocol number"));
    if (protocol < 2 || protocol > 5) {
      fail(1, "protocol " + std::to_string(protocol) +
                  (protocol < 2 ? ": CPython writes no PROTO opcode for protocols 0 and 1"
                                : " is not one CPython 3.8 - 3.13 writes (0 to 5)"));
    }
    protocol_ = static_cast<int>(protocol);
    if (protocol_ < 4) return;
    expect_opcode(op::kFrame, "FRAME");
    const auto length = little_endian(take(8, "FRAME's length"));
    const std::size_t follow = data_.size() - pos_;
    if (length > follow) {
      fail(2, "FRAME says " + std::to_string(length) + " bytes follow, but only " +
                  std::to_string(follow) + " do (a truncated pickle or a wrong frame length)");
    }
    end_ = pos_ + static_cast<std::size_t>(length);
    framed_ = true;
  }

  // Reads a global up to (not including) STACK_GLOBAL: GLOBAL "module\nname\n" before
  // protocol 4, two SHORT_BINUNICODE strings each with its MEMOIZE from 4 on.
  Global read_global() {
    Global g{pos_, {}, {}};
    if (protocol_ >= 4) {
      g.module = short_string("SHORT_BINUNICODE (a global's module)");
      memo(false);
      g.qualname = short_string("SHORT_BINUNICODE (a global's name)");
      memo(false);
    } else {
      expect_opcode(op::kGlobal, "GLOBAL");
      g.module = line("GLOBAL's module");
      g.qualname = line("GLOBAL's name");
    }
    return g;
  }

  // The first global's two strings, whatever memo stores the reading expects (the walk
  // checks those), so that a global not allowed is named as such in every reading.
  Global peek_global() {
    if (protocol_ < 4) return read_global();
    Global g{pos_, {}, {}};
    g.module = short_string("SHORT_BINUNICODE (a global's module)");
    if (left() > 0 && data_[pos_] == op::kMemoize) ++pos_;
    g.qualname = short_string("SHORT_BINUNICODE (a global's name)");
    return g;
  }

  std::string_view short_string(std::string_view what) {
    expect_opcode(op::kShortBinUnicode, what);
    const auto length = little_endian(take(1, "SHORT_BINUNICODE's length"));
    return take(length, "SHORT_BINUNICODE's string");
  }

  // Consumes one opcode byte, which must be `code`.
  void expect_opcode(char code, std::string_view what) {
    if (left() == 0 || data_[pos_] != code) {
      fail(pos_, "expected " + std::string(what) + ", found " + describe(pos_, 1));
    }
    ++pos_;
  }

  // Consumes exactly the bytes `want`, the encoding of `what`.
  void expect(std::string_view want, std::string_view what) {
    const std::string_view have = data_.substr(pos_, std::min(want.size(), left()));
    if (have == want) {
      pos_ += want.size();
      return;
    }
    if (!have.empty() && have.size() < want.size() && want.substr(0, have.size()) == have) {
      fail(pos_,
           std::string(framed_ ? "the frame" : "the pickle") + " ends inside " + std::string(what));
    }
    fail(pos_, "expected " + std::string(what) + ", found " + describe(pos_, want.size()));
  }

  // Consumes `n` bytes, checking first that they are there.
  std::string_view take(std::uint64_t n, std::string_view what) {
    if (n > left()) {
      fail(pos_, std::string(what) + " needs " + std::to_string(n) + " bytes, but only " +
                     std::to_string(left()) + " remain before " + std::string(end_text()));
    }
    const std::string_view bytes = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += bytes.size();
    return bytes;
  }

  // Consumes a text argument and its newline, returning the text.
  std::string_view line(std::string_view what) {
    const void* newline = std::memchr(data_.data() + pos_, '\n', left());
    if (newline == nullptr) {
      fail(pos_, std::string(what) + " has no newline before " + std::string(end_text()));
    }
    const auto length =
        static_cast<std::size_t>(static_cast<const char*>(newline) - data_.data()) - pos_;
    const std::string_view text = data_.substr(pos_, length);
    pos_ += length + 1;
    return text;
  }

  // Protocol 0's name: raw-unicode-escape, where \uXXXX and \UXXXXXXXX are characters and
  // every other byte is the character of that code (Latin-1). Only ASCII names are valid.
  // `at` is the offset of the UNICODE opcode, the text starts after it.
  static std::string unescape(std::string_view text, std::size_t at) {
    std::string name;
    for (std::size_t i = 0; i < text.size();) {
      const auto c = static_cast<unsigned char>(text[i]);
      std::uint32_t code = c;
      if (c == '\\') {
        const std::size_t digits = i + 1 < text.size() && text[i + 1] == 'u'   ? 4
                                   : i + 1 < text.size() && text[i + 1] == 'U' ? 8
                                                                               : 0;
        if (digits == 0) {
          fail(at + 1 + i,
               "a backslash in the name that starts no \\u escape (CPython writes a "
               "backslash as \\u005c)");
        }
        if (text.size() - i - 2 < digits) fail(at + 1 + i, "a \\u escape in the name is cut short");
        code = 0;
        for (std::size_t d = 0; d < digits; ++d) {
          const int v = shm::detail::hex_digit_value(text[i + 2 + d]);
          if (v < 0) fail(at + 1 + i, "a \\u escape in the name has a non-hex digit");
          code = code * 16 + static_cast<std::uint32_t>(v);
        }
        i += 2 + digits;
      } else {
        ++i;
      }
      if (code >= 0x80) {
        std::string digits;
        for (std::uint32_t rest = code; rest != 0 || digits.size() < 4; rest >>= 4) {
          digits.insert(digits.begin(), "0123456789ABCDEF"[rest & 15]);
        }
        fail(at, "the block's name is not valid: it has the non-ASCII character U+" + digits);
      }
      name += static_cast<char>(code);
      if (name.size() > 255) fail(at, "the block's name is not valid: longer than 255 bytes");
    }
    return name;
  }

  // The bytes from `at` to here must be `want`, CPython's encoding of the value they hold.
  void canonical(std::size_t at, std::string_view want, const std::string& what) {
    if (data_.substr(at, pos_ - at) != want) {
      fail(at, what + " is not written as CPython writes it (" + to_hex(want) + ")");
    }
  }

  std::string_view data_;        // the whole pickle
  std::size_t pos_ = 0;          // next byte to read
  std::size_t end_;              // where reads stop: the end of the frame or of the data
  int protocol_;                 // from PROTO, else the reading's 0 or 1 (see loads)
  Style style_;                  // the reading's optimized, the reducer the first global says
  bool framed_ = false;          // reads are within a FRAME (protocol 4 and 5)
  std::uint32_t next_memo_ = 0;  // the memo index the next store must use
  PickledHandle handle_;         // what was read so far
};

}  // namespace

PickledHandle loads(std::span<const std::byte> data) {
  // Without PROTO the pickle is protocol 0 or 1; the memo store after the first global (PUT
  // or BINPUT) suggests which one to read first. Optimized pickles have no such store.
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  int first = 0;
  if (!text.empty() && text[0] == op::kGlobal) {
    const std::size_t module_end = text.find('\n');
    const std::size_t name_end =
        module_end == std::string_view::npos ? module_end : text.find('\n', module_end + 1);
    if (name_end != std::string_view::npos && name_end + 1 < text.size() &&
        text[name_end + 1] == op::kBinPut) {
      first = 1;
    }
  }
  // Each reading is linear and there are at most four; when none accepts the bytes, the error
  // is that of the one that got furthest, which names what is wrong with the pickle the bytes
  // come closest to. On a tie the optimized reading's wins: where the other one stops at a
  // missing memo store, it names the opcode that is there instead (e.g. a foreign global).
  std::optional<PickleError> best;
  bool best_optimized = false;
  for (const bool optimized : {false, true}) {
    for (const int protocol : {first, 1 - first}) {
      try {
        return Decoder(data, protocol, optimized).run();
      } catch (const PickleError& error) {
        if (!best || error.offset() > best->offset() ||
            (error.offset() == best->offset() && optimized && !best_optimized)) {
          best = error;
          best_optimized = optimized;
        }
      }
      if (!text.empty() && text[0] == op::kProto) break;  // PROTO says which protocol
    }
  }
  throw *best;
}

}  // namespace shm::pickle
