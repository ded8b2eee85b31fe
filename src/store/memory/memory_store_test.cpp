#include "store/memory/memory_store.hpp"

#include <gtest/gtest.h>

#include "store/testing/store_contract.hpp"

namespace latchkey::store::testing {
namespace {

struct MemoryStoreFactory {
  static std::unique_ptr<Store> Make() { return memory::NewMemoryStore(); }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, StoreContractTest, MemoryStoreFactory);

}  // namespace latchkey::store::testing
