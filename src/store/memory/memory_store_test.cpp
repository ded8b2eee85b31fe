#include "store/memory/memory_store.hpp"

#include <gtest/gtest.h>

#include "store/testing/store_contract.hpp"

namespace latchkey::store::testing {
namespace {

std::unique_ptr<Store> MakeMemoryStore() { return memory::NewMemoryStore(); }

}  // namespace

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(StoreBackend{"memory", &MakeMemoryStore}));

}  // namespace latchkey::store::testing
