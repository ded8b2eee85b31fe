#include "cli/admin.hpp"

#include <cstdio>

#include "common/log.hpp"
#include "server/serve.hpp"

namespace latchkey::cli {

void AddCommonFlags(CLI::App* cmd, CommonFlags& flags, bool with_json) {
  cmd->add_option("--config", flags.config_file, "YAML configuration file");
  cmd->add_option("--data-dir", flags.data_dir, "Data directory (default ./latchkey-data)");
  if (with_json) cmd->add_flag("--json", flags.json, "Print one JSON object");
}

std::optional<server::Config> LoadConfigOrPrint(const CommonFlags& flags) {
  std::optional<std::string> file;
  if (!flags.config_file.empty()) file = flags.config_file;
  auto config = server::LoadConfig(file, server::ProcessEnv);
  if (!config) {
    std::fprintf(stderr, "latchkey: %s\n", config.error().message.c_str());
    return std::nullopt;
  }
  if (!flags.data_dir.empty()) config->data_dir = flags.data_dir;
  return *config;
}

int OpenAdmin(const CommonFlags& flags, Admin& admin) {
  auto config = LoadConfigOrPrint(flags);
  if (!config) return 2;
  auto store = server::OpenStore(*config);
  if (!store) {
    std::fprintf(stderr, "latchkey: %s\n", store.error().c_str());
    return 1;
  }
  if (!common::SetAuditDestination(config->audit_destination)) {
    std::fprintf(stderr, "latchkey: cannot open the audit file %s\n", config->audit_destination.c_str());
    return 1;
  }
  admin.config = std::move(*config);
  admin.store = std::move(*store);
  return 0;
}

}  // namespace latchkey::cli
