#pragma once

// What the admin commands (client, user, session, grant, keys, migrate, backup) share: the common
// flags, loading the configuration and opening the store.

#include <memory>
#include <optional>
#include <string>

#include <CLI/App.hpp>

#include "server/config.hpp"
#include "store/store.hpp"

namespace latchkey::cli {

// CommonFlags: what every command accepts (DESIGN.md command-line contract).
struct CommonFlags {
  std::string config_file;
  std::string data_dir;
  bool json = false;
};

void AddCommonFlags(CLI::App* cmd, CommonFlags& flags, bool with_json = true);

// LoadConfigOrPrint loads the configuration (file, then environment, then --data-dir); prints why
// not and returns nullopt when it is invalid.
std::optional<server::Config> LoadConfigOrPrint(const CommonFlags& flags);

struct Admin {
  server::Config config;
  std::unique_ptr<store::Store> store;
};

// OpenAdmin loads the configuration and opens the store; returns 0, or the exit code after
// printing why not.
int OpenAdmin(const CommonFlags& flags, Admin& admin);

}  // namespace latchkey::cli
