// Python's == and repr() of item views (private): the one implementation, which the public Item
// versions (item.hpp) call through view_of, and which ShareableList's count, index and repr use
// on views into the block so that no str or bytes is copied. Not public: a literal such as 1.0
// or std::string converts to both Item and ItemView, so public overloads would be ambiguous.
#pragma once

#include <string>

#include "libshm/item.hpp"

namespace shm::detail {

/// python_equal (item.hpp) of two views.
bool python_equal(const ItemView& a, const ItemView& b) noexcept;

/// python_repr (item.hpp) of a view.
std::string python_repr(const ItemView& item, int cpython_minor);

}  // namespace shm::detail
