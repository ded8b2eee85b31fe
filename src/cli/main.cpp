// The `latchkey` command line: `serve`, and the admin commands that work on the same data as a
// running server (which notices their changes within about a second).

#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/clock.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "oauth/client_auth.hpp"
#include "oauth/client_registration.hpp"
#include "server/config.hpp"
#include "server/serve.hpp"

namespace latchkey::cli {
namespace {

// CommonFlags: what every command accepts (DESIGN.md command-line contract).
struct CommonFlags {
  std::string config_file;
  std::string data_dir;
  bool json = false;
};

void AddCommonFlags(CLI::App* cmd, CommonFlags& flags, bool with_json = true) {
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

boost::json::array ToArray(const std::vector<std::string>& values) {
  boost::json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

boost::json::object ClientJson(const store::ClientRecord& c) {
  boost::json::object o;
  o["client_id"] = c.client_id;
  o["client_name"] = c.client_name;
  o["token_endpoint_auth_method"] = c.token_endpoint_auth_method;
  o["grant_types"] = ToArray(c.grant_types);
  o["scope"] = common::Join(c.scopes, " ");
  o["redirect_uris"] = ToArray(c.redirect_uris);
  o["post_logout_redirect_uris"] = ToArray(c.post_logout_redirect_uris);
  o["access_token_lifetime"] = c.access_token_lifetime;
  o["access_token_alg"] = c.access_token_alg;
  o["created_at"] = c.created_at;
  o["updated_at"] = c.updated_at;
  return o;
}

void PrintClient(const store::ClientRecord& c, const std::optional<std::string>& secret, bool json) {
  if (json) {
    auto o = ClientJson(c);
    if (secret) o["client_secret"] = *secret;
    std::cout << boost::json::serialize(o) << "\n";
    return;
  }
  std::cout << "client_id:                  " << c.client_id << "\n";
  if (secret) std::cout << "client_secret:              " << *secret << "   (shown once; store it now)\n";
  std::cout << "client_name:                " << c.client_name << "\n"
            << "token_endpoint_auth_method: " << c.token_endpoint_auth_method << "\n"
            << "grant_types:                " << common::Join(c.grant_types, " ") << "\n"
            << "scope:                      " << common::Join(c.scopes, " ") << "\n"
            << "redirect_uris:              " << common::Join(c.redirect_uris, " ") << "\n"
            << "post_logout_redirect_uris:  " << common::Join(c.post_logout_redirect_uris, " ") << "\n"
            << "access_token_lifetime:      "
            << (c.access_token_lifetime ? std::to_string(c.access_token_lifetime) : "server default") << "\n"
            << "access_token_alg:           "
            << (c.access_token_alg.empty() ? "server default" : c.access_token_alg) << "\n";
}

int StoreFailure(store::Error e, const std::string& id) {
  switch (e) {
    case store::Error::kNotFound: std::fprintf(stderr, "latchkey: no client '%s'\n", id.c_str()); return 3;
    case store::Error::kConflict:
      std::fprintf(stderr, "latchkey: client '%s' already exists\n", id.c_str());
      return 3;
    default: std::fprintf(stderr, "latchkey: the database is unavailable\n"); return 1;
  }
}

// ClientFlags: the registration fields `client create` and `client update` set.
struct ClientFlags {
  std::string id;
  std::string name;
  bool is_public = false;
  std::vector<std::string> redirect_uris, grant_types, scopes, post_logout_redirect_uris;
  std::string auth_method;
  int64_t access_token_lifetime = -1;
  std::string access_token_alg;
};

void AddClientFlags(CLI::App* cmd, ClientFlags& f) {
  cmd->add_option("--name", f.name, "Human-readable client name");
  cmd->add_option("--redirect-uri", f.redirect_uris, "Registered redirect URI (repeatable)");
  cmd->add_option("--grant-type", f.grant_types, "Allowed grant type (repeatable)");
  cmd->add_option("--scope", f.scopes, "Allowed scope (repeatable)");
  cmd->add_option("--token-endpoint-auth-method", f.auth_method,
                  "client_secret_basic (default), client_secret_post or none");
  cmd->add_option("--post-logout-redirect-uri", f.post_logout_redirect_uris,
                  "Post-logout redirect URI (repeatable)");
  cmd->add_option("--access-token-lifetime", f.access_token_lifetime,
                  "Access token lifetime in seconds (0: default)");
  cmd->add_option("--access-token-alg", f.access_token_alg, "ES256, RS256, PS256 or EdDSA (empty: default)");
}

// Splits "a b" given as one --scope value so both `--scope "a b"` and `--scope a --scope b` work.
std::vector<std::string> SplitScopes(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    for (auto& s : common::SplitSpaces(v)) out.push_back(std::move(s));
  }
  return out;
}

int ClientCreate(const CommonFlags& common_flags, const ClientFlags& f) {
  auto config = LoadConfigOrPrint(common_flags);
  if (!config) return 2;
  auto store = server::OpenStore(*config);
  if (!store) {
    std::fprintf(stderr, "latchkey: %s\n", store.error().c_str());
    return 1;
  }
  common::SystemClock clock;
  crypto::SystemRandom random;
  store::ClientRecord c;
  c.client_id = f.id;
  c.client_name = f.name;
  std::optional<std::string> secret;
  if (f.is_public || f.auth_method == "none") {
    c.token_endpoint_auth_method = "none";
  } else {
    secret = oauth::GenerateClientSecret(random);
    c.secret_hash = oauth::HashClientSecret(*secret);
    c.token_endpoint_auth_method = f.auth_method.empty() ? "client_secret_basic" : f.auth_method;
  }
  c.grant_types = f.grant_types;
  if (c.grant_types.empty() && secret) c.grant_types = {"client_credentials"};
  c.scopes = SplitScopes(f.scopes);
  c.redirect_uris = f.redirect_uris;
  c.post_logout_redirect_uris = f.post_logout_redirect_uris;
  c.access_token_lifetime = f.access_token_lifetime < 0 ? 0 : f.access_token_lifetime;
  c.access_token_alg = f.access_token_alg;
  c.created_at = c.updated_at = clock.NowSeconds();
  if (auto valid = oauth::ValidateClient(c); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().description.c_str());
    return 2;
  }
  if (auto created = (*store)->CreateClient(c); !created) return StoreFailure(created.error(), c.client_id);
  PrintClient(c, secret, common_flags.json);
  return 0;
}

int ClientUpdate(const CommonFlags& common_flags, const ClientFlags& f, CLI::App* cmd) {
  auto config = LoadConfigOrPrint(common_flags);
  if (!config) return 2;
  auto store = server::OpenStore(*config);
  if (!store) {
    std::fprintf(stderr, "latchkey: %s\n", store.error().c_str());
    return 1;
  }
  auto existing = (*store)->GetClient(f.id);
  if (!existing) return StoreFailure(existing.error(), f.id);
  store::ClientRecord c = *existing;
  // Only the flags given change; a repeatable flag given replaces the whole list.
  if (cmd->count("--name")) c.client_name = f.name;
  if (cmd->count("--redirect-uri")) c.redirect_uris = f.redirect_uris;
  if (cmd->count("--grant-type")) c.grant_types = f.grant_types;
  if (cmd->count("--scope")) c.scopes = SplitScopes(f.scopes);
  if (cmd->count("--token-endpoint-auth-method")) c.token_endpoint_auth_method = f.auth_method;
  if (cmd->count("--post-logout-redirect-uri")) c.post_logout_redirect_uris = f.post_logout_redirect_uris;
  if (cmd->count("--access-token-lifetime")) c.access_token_lifetime = f.access_token_lifetime;
  if (cmd->count("--access-token-alg")) c.access_token_alg = f.access_token_alg;
  c.updated_at = common::SystemClock().NowSeconds();
  if (auto valid = oauth::ValidateClient(c); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().description.c_str());
    return 2;
  }
  if (auto updated = (*store)->UpdateClient(c); !updated) return StoreFailure(updated.error(), c.client_id);
  PrintClient(c, std::nullopt, common_flags.json);
  return 0;
}

int ClientRead(const CommonFlags& common_flags, const std::string& id, const std::string& action) {
  auto config = LoadConfigOrPrint(common_flags);
  if (!config) return 2;
  auto store = server::OpenStore(*config);
  if (!store) {
    std::fprintf(stderr, "latchkey: %s\n", store.error().c_str());
    return 1;
  }
  if (action == "list") {
    auto clients = (*store)->ListClients();
    if (!clients) return StoreFailure(clients.error(), "");
    if (common_flags.json) {
      boost::json::array all;
      for (const auto& c : *clients) all.push_back(ClientJson(c));
      std::cout << boost::json::serialize(boost::json::object{{"clients", all}}) << "\n";
    } else {
      for (const auto& c : *clients) {
        std::printf("%-32s %-22s %s\n", c.client_id.c_str(), c.token_endpoint_auth_method.c_str(),
                    common::Join(c.grant_types, ",").c_str());
      }
    }
    return 0;
  }
  if (action == "show") {
    auto c = (*store)->GetClient(id);
    if (!c) return StoreFailure(c.error(), id);
    PrintClient(*c, std::nullopt, common_flags.json);
    return 0;
  }
  if (action == "delete") {
    if (auto deleted = (*store)->DeleteClient(id); !deleted) return StoreFailure(deleted.error(), id);
    if (common_flags.json) {
      std::cout << boost::json::serialize(boost::json::object{{"client_id", id}, {"deleted", true}}) << "\n";
    } else {
      std::printf("deleted client %s\n", id.c_str());
    }
    return 0;
  }
  // rotate-secret: the old secret stops working as soon as the server reloads (about a second).
  auto c = (*store)->GetClient(id);
  if (!c) return StoreFailure(c.error(), id);
  if (c->token_endpoint_auth_method == "none") {
    std::fprintf(stderr, "latchkey: client '%s' is public and has no secret\n", id.c_str());
    return 2;
  }
  crypto::SystemRandom random;
  std::string secret = oauth::GenerateClientSecret(random);
  c->secret_hash = oauth::HashClientSecret(secret);
  c->updated_at = common::SystemClock().NowSeconds();
  if (auto updated = (*store)->UpdateClient(*c); !updated) return StoreFailure(updated.error(), id);
  PrintClient(*c, secret, common_flags.json);
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"Latchkey: OpenID Connect provider and OAuth 2 authorization server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "latchkey 0.1.0");

  CommonFlags flags;
  std::string listen, issuer;
  bool dev = false;
  auto* serve = app.add_subcommand("serve", "Run the server");
  AddCommonFlags(serve, flags, false);
  serve->add_flag("--dev", dev, "Development mode: loopback issuer, demo clients");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  serve->add_option("--issuer", issuer, "Issuer URL");

  auto* client = app.add_subcommand("client", "Manage OAuth clients");
  client->require_subcommand(1);
  ClientFlags cf;
  auto* create = client->add_subcommand("create", "Register a client; prints its secret once");
  AddCommonFlags(create, flags);
  create->add_option("--id", cf.id, "client_id")->required();
  create->add_flag("--public", cf.is_public, "Public client (no secret)");
  AddClientFlags(create, cf);
  auto* update = client->add_subcommand("update", "Change a client's registration");
  AddCommonFlags(update, flags);
  update->add_option("id", cf.id, "client_id")->required();
  AddClientFlags(update, cf);
  std::string id;
  auto* list = client->add_subcommand("list", "List clients");
  AddCommonFlags(list, flags);
  std::vector<std::pair<std::string, CLI::App*>> by_id;
  for (const char* name : {"show", "delete", "rotate-secret"}) {
    auto* cmd = client->add_subcommand(name, std::string(name) + " a client");
    AddCommonFlags(cmd, flags);
    cmd->add_option("id", id, "client_id")->required();
    by_id.emplace_back(name, cmd);
  }

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed()) {
    auto config = LoadConfigOrPrint(flags);
    if (!config) return 2;
    if (!listen.empty()) {
      if (!server::ParseListen(listen)) {
        std::fprintf(stderr, "latchkey: --listen must be HOST:PORT\n");
        return 2;
      }
      config->listen = listen;
    }
    if (!issuer.empty()) config->issuer = issuer;
    config->dev = dev;
    return server::Serve(*config);
  }
  if (create->parsed()) return ClientCreate(flags, cf);
  if (update->parsed()) return ClientUpdate(flags, cf, update);
  if (list->parsed()) return ClientRead(flags, "", "list");
  for (const auto& [name, cmd] : by_id) {
    if (cmd->parsed()) return ClientRead(flags, id, name);
  }
  return 2;
}

}  // namespace latchkey::cli

int main(int argc, char** argv) {
  // Everything Latchkey writes (database, WAL, key material, dev secrets) is for its own user only.
  ::umask(077);
  return latchkey::cli::Main(argc, argv);
}
