// Fuzz target: any bytes as an .npy block (read_npy_header), and as text for the dtype parsers
// (Dtype::parse, Dtype::from_descr). Each must succeed or throw its documented error; whatever
// parses must print and parse back to an equal value, and a header that validates must give a
// view that lies inside the block. Read from a prefix of the block (read_npy_header(head,
// block_size), as pyshm reads with pread), a header gives the same result or an NpyHeaderError.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string_view>

#include "libshm/array.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const shm::Dtype d = shm::Dtype::parse(text);
    if (!(shm::Dtype::parse(d.str()) == d)) std::abort();
  } catch (const std::invalid_argument&) {
  }
  try {
    const shm::Dtype d = shm::Dtype::from_descr(text);
    if (!(shm::Dtype::from_descr(d.descr()) == d)) std::abort();
  } catch (const std::invalid_argument&) {
  }
  const std::span<const std::byte> block(reinterpret_cast<const std::byte*>(data), size);
  // The prefix's length comes from the input, so the fuzzer explores every cut.
  const std::size_t cut = size == 0 ? 0 : data[size - 1] * size / 255;
  bool whole_ok = false;
  shm::NpyHeader whole;
  try {
    whole = shm::read_npy_header(block);
    whole_ok = true;
    const shm::NpyHeader h = shm::read_npy_header(block.first(whole.data_offset), size);
    if (!(h.dtype == whole.dtype) || h.shape != whole.shape || h.nbytes != whole.nbytes) {
      std::abort();
    }
  } catch (const shm::NpyHeaderError&) {
    if (whole_ok) std::abort();  // the header's own bytes must be enough
  }
  try {
    const shm::NpyHeader h = shm::read_npy_header(block.first(cut), size);
    if (!whole_ok || !(h.dtype == whole.dtype) || h.shape != whole.shape) std::abort();
  } catch (const shm::NpyHeaderError&) {
  }
  try {
    const shm::NpyHeader h = shm::read_npy_header(block);
    if (h.data_offset > size || h.nbytes > size - h.data_offset) std::abort();
    const shm::Order order = h.fortran_order ? shm::Order::F : shm::Order::C;
    // The validated header always gives a view inside the block...
    const shm::ConstArrayView view(block, h.dtype, h.shape, order, h.data_offset,
                                   shm::Alignment::any);
    if (view.size() > 0) {
      std::vector<std::size_t> last(h.shape.size());
      for (std::size_t i = 0; i < last.size(); ++i) last[i] = h.shape[i] - 1;
      volatile auto first = view.element(std::vector<std::size_t>(h.shape.size(), 0))[0];
      volatile auto end = view.element(last).back();
      (void)first;
      (void)end;
    }
    // ... and numpy's header for it reads back the same.
    const auto again = shm::make_npy_header(h.dtype, h.shape, order);
    std::vector<std::byte> image(again);
    image.resize(again.size() + h.nbytes);
    const shm::NpyHeader back = shm::read_npy_header(image);
    if (!(back.dtype == h.dtype) || back.shape != h.shape ||
        back.fortran_order != h.fortran_order) {
      std::abort();
    }
  } catch (const shm::NpyHeaderError&) {
  }
  return 0;
}
