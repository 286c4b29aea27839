// Writing handle pickles: the shapes of pickle_format.hpp, each token appended as CPython's
// Pickler writes it, with its framing (protocol 4+) and memo numbering.
#include <cstring>
#include <stdexcept>

#include "libshm/error.hpp"
#include "libshm/pickle.hpp"
#include "pickle_format.hpp"

namespace shm::pickle {

namespace {

using namespace detail;

// The visitor that writes each token of a shape.
class Encoder {
 public:
  Encoder(int protocol, const Style& style, std::string_view name, std::uint64_t size)
      : protocol_(protocol), style_(style), name_(name), size_(size) {}

  [[nodiscard]] int protocol() const noexcept { return protocol_; }
  [[nodiscard]] Style::Reducer reducer() const noexcept { return style_.reducer; }

  // PROTO (2+) and an empty FRAME header (4+) that finish() fills in.
  void header() {
    if (protocol_ >= 2) {
      out_ += op::kProto;
      out_ += static_cast<char>(protocol_);
    }
    if (protocol_ >= 4) {
      out_ += op::kFrame;
      out_.append(8, '\0');
    }
  }

  void op(char code) { out_ += code; }

  std::uint32_t memo(bool fetched) {
    // pickletools.optimize keeps only the stores a get() uses, renumbered in order.
    if (style_.optimized && !fetched) return next_memo_;
    put_memo(out_, protocol_, next_memo_);
    return next_memo_++;
  }

  void get(std::uint32_t index) { put_get(out_, protocol_, index); }

  void global(std::string_view module, std::string_view qualname) {
    // save_global: GLOBAL "module\nname\n" up to protocol 3, STACK_GLOBAL from 4 on.
    if (protocol_ >= 4) {
      put_str(out_, protocol_, module);
      memo(false);
      put_str(out_, protocol_, qualname);
      memo(false);
      out_ += op::kStackGlobal;
    } else {
      out_ += op::kGlobal;
      out_ += module;
      out_ += '\n';
      out_ += qualname;
      out_ += '\n';
    }
  }

  void text(std::string_view text) { put_str(out_, protocol_, text); }
  void name() { put_str(out_, protocol_, name_); }
  void create_flag() { put_false(out_, protocol_); }
  void size() { put_int(out_, protocol_, size_); }

  // The pickle, with the frame length filled in: everything after the FRAME header is one
  // frame, as both CPython picklers and pickletools.optimize write a pickle this small (well
  // below 64 KiB).
  std::vector<std::byte> finish() {
    if (protocol_ >= 4) {
      std::uint64_t length = out_.size() - kFramedHeaderSize;
      for (std::size_t i = 0; i < 8; ++i, length >>= 8) {
        out_[3 + i] = static_cast<char>(length & 0xff);
      }
    }
    std::vector<std::byte> bytes(out_.size());
    std::memcpy(bytes.data(), out_.data(), out_.size());
    return bytes;
  }

 private:
  int protocol_;                 // 0 - 5
  Style style_;                  // reducer and optimized
  std::string_view name_;        // the block's name
  std::uint64_t size_;           // SharedMemory.size (unused for a list)
  std::uint32_t next_memo_ = 0;  // index the next memo store gets
  std::string out_;              // the pickle so far
};

void check(std::string_view name, int protocol) {
  if (protocol < 0 || protocol > kHighestProtocol) {
    throw InvalidArgument(Errc::invalid_argument, "pickle protocol " + std::to_string(protocol) +
                                                      " is not supported (0 to " +
                                                      std::to_string(kHighestProtocol) + ")");
  }
  check_picklable_name(name);
}

}  // namespace

std::vector<std::byte> dumps_shared_memory(std::string_view name, std::uint64_t size, int protocol,
                                           const Style& style) {
  check(name, protocol);
  Encoder encoder(protocol, style, name, size);
  encoder.header();
  handle_body(encoder, PickledHandle::Kind::shared_memory);
  return encoder.finish();
}

std::vector<std::byte> dumps_shareable_list(std::string_view name, int protocol,
                                            const Style& style) {
  check(name, protocol);
  Encoder encoder(protocol, style, name, 0);
  encoder.header();
  handle_body(encoder, PickledHandle::Kind::shareable_list);
  return encoder.finish();
}

std::vector<std::byte> dumps(const SharedMemory& block, int protocol) {
  return dumps_shared_memory(block.name(), block.size(), protocol);
}

std::vector<std::byte> dumps(const ShareableList& list, int protocol) {
  return dumps_shareable_list(list.name(), protocol);
}

std::vector<std::byte> dumps(const PickledHandle& handle) {
  if (handle.kind == PickledHandle::Kind::shareable_list) {
    return dumps_shareable_list(handle.name, handle.protocol, handle.style);
  }
  if (!handle.size) {
    throw InvalidArgument(Errc::invalid_argument,
                          "cannot pickle a SharedMemory handle without a size");
  }
  return dumps_shared_memory(handle.name, *handle.size, handle.protocol, handle.style);
}

}  // namespace shm::pickle
