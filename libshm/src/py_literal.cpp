#include "py_literal.hpp"

#include <cctype>

#include "bytes_text.hpp"
#include "utf8.hpp"

namespace shm::detail {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  PyLiteral parse_all() {
    PyLiteral v = value(0);
    skip_space();
    if (i_ != s_.size()) fail("unexpected text after the literal");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw PyLiteralError(i_, "offset " + std::to_string(i_) + ": " + what);
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r' ||
                              s_[i_] == '\f' || s_[i_] == '\v')) {
      ++i_;
    }
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  PyLiteral value(int depth) {
    if (depth > kMaxDepth) fail("literal nested too deeply");
    skip_space();
    if (i_ >= s_.size()) fail("expected a value, found the end");
    PyLiteral v;
    v.position = i_;
    const char c = s_[i_];
    if (c == '\'' || c == '"') {
      v.kind = PyLiteral::Kind::str;
      v.text = string();
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      v.kind = c == '(' ? PyLiteral::Kind::tuple : PyLiteral::Kind::list;
      ++i_;
      bool comma = false;  // a comma was seen (so "(x,)" is a tuple)
      while (!eat(close)) {
        if (!v.items.empty() && !comma) fail(std::string("expected ',' or '") + close + "'");
        v.items.push_back(value(depth + 1));
        comma = eat(',');
      }
      if (c == '(' && v.items.size() == 1 && !comma) return v.items.front();  // (x) is x
    } else if (c == '{') {
      v.kind = PyLiteral::Kind::dict;
      ++i_;
      bool comma = false;
      while (!eat('}')) {
        if (!v.items.empty() && !comma) fail("expected ',' or '}'");
        v.items.push_back(value(depth + 1));
        if (!eat(':')) fail("expected ':' in a dict");
        v.items.push_back(value(depth + 1));
        comma = eat(',');
      }
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      v.kind = PyLiteral::Kind::integer;
      if (c == '-' || c == '+') {
        v.negative = c == '-';
        ++i_;
        skip_space();
      }
      const std::size_t start = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        const auto d = static_cast<std::uint64_t>(s_[i_] - '0');
        if (v.magnitude > (UINT64_MAX - d) / 10) fail("integer too large");
        v.magnitude = v.magnitude * 10 + d;
        ++i_;
      }
      if (i_ == start) fail("expected digits");
      if (i_ - start > 1 && s_[start] == '0') fail("integer with a leading zero");
      if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == 'x' ||
                             s_[i_] == '_' || s_[i_] == 'j')) {
        fail("only decimal integers are allowed here");
      }
    } else if (s_.substr(i_, 4) == "True" || s_.substr(i_, 5) == "False") {
      v.kind = PyLiteral::Kind::boolean;
      v.flag = s_[i_] == 'T';
      i_ += v.flag ? 4 : 5;
      if (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) {
        fail("unknown name");
      }
    } else {
      fail(std::string("unexpected character '") +
           (c >= 0x20 && c < 0x7f ? std::string(1, c) : "?") + "'");
    }
    return v;
  }

  unsigned hex_digits(int n) {
    unsigned v = 0;
    for (int k = 0; k < n; ++k) {
      if (i_ >= s_.size()) fail("truncated escape");
      const char h = s_[i_++];
      unsigned d = 0;
      if (h >= '0' && h <= '9') {
        d = static_cast<unsigned>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        d = static_cast<unsigned>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        d = static_cast<unsigned>(h - 'A' + 10);
      } else {
        fail("bad hex digit in an escape");
      }
      v = v * 16 + d;
    }
    return v;
  }

  std::string string() {
    const char quote = s_[i_++];
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_];
      if (c == quote) {
        ++i_;
        return out;
      }
      if (c == '\n') fail("newline in a string");
      if (c != '\\') {
        out += c;
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) fail("unterminated string");
      const char e = s_[i_++];
      char32_t cp = 0;
      switch (e) {
        case '\\':
          out += '\\';
          continue;
        case '\'':
          out += '\'';
          continue;
        case '"':
          out += '"';
          continue;
        case 'n':
          out += '\n';
          continue;
        case 't':
          out += '\t';
          continue;
        case 'r':
          out += '\r';
          continue;
        case '0':
          out += '\0';
          continue;
        case 'x':
          cp = hex_digits(2);
          break;
        case 'u':
          cp = hex_digits(4);
          break;
        case 'U':
          cp = hex_digits(8);
          break;
        default:
          fail(std::string("unsupported escape '\\") + e + "'");
      }
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("escape is not a code point");
      utf8_append(out, cp);
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

PyLiteral parse_py_literal(std::string_view text) {
  const std::size_t valid = utf8_valid_prefix(text);
  if (valid != text.size()) {
    throw PyLiteralError(valid, "offset " + std::to_string(valid) + ": not UTF-8");
  }
  return Parser(text).parse_all();
}

std::string py_repr(std::string_view text) {
  const char quote = repr_quote(text);
  std::string out(1, quote);
  for (const char c : text) {
    if (!append_ascii_repr(out, static_cast<unsigned char>(c), quote)) out += c;
  }
  out += quote;
  return out;
}

const char* py_kind_name(PyLiteral::Kind kind) {
  switch (kind) {
    case PyLiteral::Kind::str:
      return "a str";
    case PyLiteral::Kind::integer:
      return "an int";
    case PyLiteral::Kind::boolean:
      return "a bool";
    case PyLiteral::Kind::tuple:
      return "a tuple";
    case PyLiteral::Kind::list:
      return "a list";
    case PyLiteral::Kind::dict:
      return "a dict";
  }
  return "a value";
}

}  // namespace shm::detail
