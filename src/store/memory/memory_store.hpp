#pragma once

#include <memory>

#include "store/store.hpp"

namespace latchkey::store::memory {

// NewMemoryStore returns an empty in-process store (for tests). Thread-safe.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace latchkey::store::memory
