#pragma once

// Result<T, E>: the one way a failure the outside world can cause travels across a module
// boundary. Each module aliases it with its own small error type (oauth::Result, jose::Result, ...).
// Use only the subset std::expected shares: has_value(), operator bool, *r, r->, error().

#include <boost/system/result.hpp>

namespace latchkey::common {

template <class T, class E>
using Result = boost::system::result<T, E>;

}  // namespace latchkey::common
