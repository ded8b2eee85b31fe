#pragma once

// Internal to crypto/: unique_ptr ownership of OpenSSL objects, freed with their own function.

#include <memory>

namespace latchkey::crypto::internal {

template <class T, void (*Free)(T*)>
struct FreeWith {
  void operator()(T* p) const { Free(p); }
};

// Owned<T, Free>: a T* freed by Free(T*), e.g. Owned<BIGNUM, BN_clear_free>.
template <class T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, FreeWith<T, Free>>;

}  // namespace latchkey::crypto::internal
