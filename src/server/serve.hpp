#pragma once

// The composition root: the only place that names concrete backends and wires the server.

#include <memory>
#include <string>

#include "common/result.hpp"
#include "server/config.hpp"
#include "store/store.hpp"

namespace latchkey::server {

// OpenStore opens the store `config` names (creating the data directory with mode 0700 when
// needed). Error: a message for the operator.
common::Result<std::unique_ptr<store::Store>, std::string> OpenStore(const Config& config);

// Serve runs the provider until SIGTERM/SIGINT. With config.dev it seeds demo clients and prints
// them. Returns the process exit code (0 after a clean shutdown).
int Serve(Config config);

}  // namespace latchkey::server
