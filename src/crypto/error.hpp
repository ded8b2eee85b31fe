#pragma once

#include "common/result.hpp"

namespace latchkey::crypto {

// Error: why a crypto operation failed. Details are never secret-bearing.
enum class Error {
  kNone = 0,
  kInvalidKey,    // key material malformed, wrong size, or not on the curve
  kUnsupported,   // key type / scheme combination not supported
  kBadSignature,  // signature did not verify (or was malformed)
  kInternal,      // OpenSSL failed unexpectedly (logged by the caller)
};

template <class T>
using Result = common::Result<T, Error>;

}  // namespace latchkey::crypto
