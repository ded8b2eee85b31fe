// The `latchkey` command line: `serve`, the admin commands that work on the same data as a
// running server (which notices their changes within about a second), and the client-side commands
// `token` and `jwt` that talk to any provider over HTTP (cli/token_command.hpp, cli/jwt_command.hpp).

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cli/admin.hpp"
#include "cli/jwt_command.hpp"
#include "cli/keys_command.hpp"
#include "cli/token_command.hpp"
#include "common/base64.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"
#include "identity/password.hpp"
#include "identity/users.hpp"
#include "oauth/client_auth.hpp"
#include "oauth/client_registration.hpp"
#include "server/config.hpp"
#include "server/revocation.hpp"
#include "server/serve.hpp"
#include "store/postgres/import_sqlite.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace latchkey::cli {
namespace {

// AuditName: an audit event name for an admin command ("rotate-secret" -> "admin_client_rotate_secret").
std::string AuditName(std::string_view noun, std::string action) {
  std::replace(action.begin(), action.end(), '-', '_');
  return "admin_" + std::string(noun) + "_" + action;
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
  o["backchannel_logout_uri"] = c.backchannel_logout_uri;
  o["backchannel_logout_session_required"] = c.backchannel_logout_session_required;
  o["access_token_format"] = c.access_token_format;
  o["introspect_any"] = c.introspect_any;
  o["access_token_lifetime"] = c.access_token_lifetime;
  o["access_token_alg"] = c.access_token_alg;
  o["id_token_signed_response_alg"] = c.id_token_signed_response_alg;
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
  std::cout << "client_id:                    " << c.client_id << "\n";
  if (secret) std::cout << "client_secret:                " << *secret << "   (shown once; store it now)\n";
  std::cout << "client_name:                  " << c.client_name << "\n"
            << "token_endpoint_auth_method:   " << c.token_endpoint_auth_method << "\n"
            << "grant_types:                  " << common::Join(c.grant_types, " ") << "\n"
            << "scope:                        " << common::Join(c.scopes, " ") << "\n"
            << "redirect_uris:                " << common::Join(c.redirect_uris, " ") << "\n"
            << "post_logout_redirect_uris:    " << common::Join(c.post_logout_redirect_uris, " ") << "\n"
            << "access_token_lifetime:        "
            << (c.access_token_lifetime ? std::to_string(c.access_token_lifetime) : "server default") << "\n"
            << "access_token_alg:             "
            << (c.access_token_alg.empty() ? "server default" : c.access_token_alg) << "\n"
            << "id_token_signed_response_alg: "
            << (c.id_token_signed_response_alg.empty() ? "server default" : c.id_token_signed_response_alg)
            << "\n"
            << "access_token_format:          " << c.access_token_format << "\n"
            << "introspect_any:               " << (c.introspect_any ? "true" : "false") << "\n"
            << "backchannel_logout_uri:       " << c.backchannel_logout_uri << "\n"
            << "backchannel_logout_session_required: "
            << (c.backchannel_logout_session_required ? "true" : "false") << "\n";
}

// Admin: what every admin command works on.
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
  std::string id_token_alg;  // id_token_signed_response_alg (OIDC Registration §2)
  std::string access_token_format;
  std::string backchannel_logout_uri;
  std::string backchannel_logout_session_required;  // "true" / "false"
  std::string introspect_any;                       // "true" / "false"
  bool backchannel_logout_uri_given = false;        // update: an empty value clears the URI
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
  cmd->add_option("--id-token-alg", f.id_token_alg, "RS256, PS256, ES256 or EdDSA (empty: default)");
  cmd->add_option("--access-token-format", f.access_token_format,
                  "jwt (default: checked locally by APIs) or opaque (introspected; revocation is instant)");
  cmd->add_option("--backchannel-logout-uri", f.backchannel_logout_uri,
                  "Where logout tokens are POSTed when a session of this client ends (empty: none)");
  cmd->add_option("--backchannel-logout-session-required", f.backchannel_logout_session_required,
                  "true: logout tokens carry sid (default false)")
      ->check(CLI::IsMember({"true", "false"}));
  cmd->add_option("--introspect-any", f.introspect_any,
                  "true: a resource server that may introspect every client's tokens (default false)")
      ->check(CLI::IsMember({"true", "false"}));
}

// ApplyLifecycleFlags sets the token-format, logout and introspection fields that were given.
void ApplyLifecycleFlags(const ClientFlags& f, store::ClientRecord& c) {
  if (!f.access_token_format.empty()) c.access_token_format = f.access_token_format;
  if (!f.backchannel_logout_uri.empty() || f.backchannel_logout_uri_given)
    c.backchannel_logout_uri = f.backchannel_logout_uri;
  if (!f.backchannel_logout_session_required.empty()) {
    c.backchannel_logout_session_required = f.backchannel_logout_session_required == "true";
  }
  if (!f.introspect_any.empty()) c.introspect_any = f.introspect_any == "true";
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
  Admin admin;
  if (int rc = OpenAdmin(common_flags, admin); rc != 0) return rc;
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
  c.id_token_signed_response_alg = f.id_token_alg;
  ApplyLifecycleFlags(f, c);
  c.created_at = c.updated_at = clock.NowSeconds();
  if (auto valid = oauth::ValidateClient(c); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().description.c_str());
    return 2;
  }
  if (auto created = admin.store->CreateClient(c); !created)
    return StoreFailure(created.error(), c.client_id);
  PrintClient(c, secret, common_flags.json);
  return 0;
}

int ClientUpdate(const CommonFlags& common_flags, ClientFlags f, CLI::App* cmd) {
  Admin admin;
  if (int rc = OpenAdmin(common_flags, admin); rc != 0) return rc;
  auto existing = admin.store->GetClient(f.id);
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
  if (cmd->count("--id-token-alg")) c.id_token_signed_response_alg = f.id_token_alg;
  f.backchannel_logout_uri_given = cmd->count("--backchannel-logout-uri") > 0;
  ApplyLifecycleFlags(f, c);
  c.updated_at = common::SystemClock().NowSeconds();
  if (auto valid = oauth::ValidateClient(c); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().description.c_str());
    return 2;
  }
  if (auto updated = admin.store->UpdateClient(c); !updated)
    return StoreFailure(updated.error(), c.client_id);
  PrintClient(c, std::nullopt, common_flags.json);
  return 0;
}

int ClientRead(const CommonFlags& common_flags, const std::string& id, const std::string& action) {
  Admin admin;
  if (int rc = OpenAdmin(common_flags, admin); rc != 0) return rc;
  if (action == "list") {
    auto clients = admin.store->ListClients();
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
    auto c = admin.store->GetClient(id);
    if (!c) return StoreFailure(c.error(), id);
    PrintClient(*c, std::nullopt, common_flags.json);
    return 0;
  }
  if (action == "delete") {
    if (auto deleted = admin.store->DeleteClient(id); !deleted) return StoreFailure(deleted.error(), id);
    if (common_flags.json) {
      std::cout << boost::json::serialize(boost::json::object{{"client_id", id}, {"deleted", true}}) << "\n";
    } else {
      std::printf("deleted client %s\n", id.c_str());
    }
    return 0;
  }
  // rotate-secret: the old secret stops working as soon as the server reloads (about a second).
  auto c = admin.store->GetClient(id);
  if (!c) return StoreFailure(c.error(), id);
  if (c->token_endpoint_auth_method == "none") {
    std::fprintf(stderr, "latchkey: client '%s' is public and has no secret\n", id.c_str());
    return 2;
  }
  crypto::SystemRandom random;
  std::string secret = oauth::GenerateClientSecret(random);
  c->secret_hash = oauth::HashClientSecret(secret);
  c->updated_at = common::SystemClock().NowSeconds();
  if (auto updated = admin.store->UpdateClient(*c); !updated) return StoreFailure(updated.error(), id);
  PrintClient(*c, secret, common_flags.json);
  return 0;
}

// ---- users -------------------------------------------------------------------------------------

// UserFlags: the claims `user add` and `user update` set (OIDC Core §5.1 names).
struct UserFlags {
  std::string username;
  bool password_stdin = false;
  std::string name, given_name, family_name, preferred_username, email, phone_number, picture, locale,
      zoneinfo;
  std::string address_json;
  std::string email_verified, phone_number_verified;  // "true" / "false"
  std::string file;
  std::string client_id;  // revoke-consent
};

void AddUserFlags(CLI::App* cmd, UserFlags& f) {
  cmd->add_option("--name", f.name, "Full name");
  cmd->add_option("--given-name", f.given_name, "Given name");
  cmd->add_option("--family-name", f.family_name, "Family name");
  cmd->add_option("--preferred-username", f.preferred_username, "Preferred username (shown to apps)");
  cmd->add_option("--email", f.email, "Email address");
  cmd->add_option("--email-verified", f.email_verified, "true or false")
      ->check(CLI::IsMember({"true", "false"}));
  cmd->add_option("--phone-number", f.phone_number, "Phone number (E.164 recommended)");
  cmd->add_option("--phone-number-verified", f.phone_number_verified, "true or false")
      ->check(CLI::IsMember({"true", "false"}));
  cmd->add_option("--address", f.address_json, "Address claim as a JSON object (OIDC Core 5.1.1)");
  cmd->add_option("--picture", f.picture, "Picture URL");
  cmd->add_option("--locale", f.locale, "Locale, e.g. en-US");
  cmd->add_option("--zoneinfo", f.zoneinfo, "Time zone, e.g. Europe/Paris");
}

// ApplyUserFlags copies the flags that were given onto `u`.
void ApplyUserFlags(const UserFlags& f, CLI::App* cmd, store::UserRecord& u) {
  const std::pair<const char*, std::pair<const std::string*, std::string*>> kText[] = {
      {"--name", {&f.name, &u.name}},
      {"--given-name", {&f.given_name, &u.given_name}},
      {"--family-name", {&f.family_name, &u.family_name}},
      {"--preferred-username", {&f.preferred_username, &u.preferred_username}},
      {"--email", {&f.email, &u.email}},
      {"--phone-number", {&f.phone_number, &u.phone_number}},
      {"--address", {&f.address_json, &u.address_json}},
      {"--picture", {&f.picture, &u.picture}},
      {"--locale", {&f.locale, &u.locale}},
      {"--zoneinfo", {&f.zoneinfo, &u.zoneinfo}},
  };
  for (const auto& [flag, fields] : kText) {
    if (cmd->count(flag)) *fields.second = *fields.first;
  }
  if (cmd->count("--email-verified")) u.email_verified = f.email_verified == "true";
  if (cmd->count("--phone-number-verified")) u.phone_number_verified = f.phone_number_verified == "true";
}

boost::json::object UserJson(const store::UserRecord& u) {
  boost::json::object o;
  o["sub"] = u.user_id;
  o["username"] = u.username;
  o["status"] = u.status;
  o["has_password"] = !u.password_hash.empty();
  const std::pair<const char*, const std::string*> kText[] = {
      {"name", &u.name},
      {"given_name", &u.given_name},
      {"family_name", &u.family_name},
      {"preferred_username", &u.preferred_username},
      {"email", &u.email},
      {"phone_number", &u.phone_number},
      {"picture", &u.picture},
      {"locale", &u.locale},
      {"zoneinfo", &u.zoneinfo},
  };
  for (const auto& [claim, value] : kText) {
    if (!value->empty()) o[claim] = *value;
  }
  o["email_verified"] = u.email_verified;
  o["phone_number_verified"] = u.phone_number_verified;
  if (!u.address_json.empty()) {
    boost::system::error_code ec;
    auto address = boost::json::parse(u.address_json, ec);
    if (!ec) o["address"] = address;
  }
  o["created_at"] = u.created_at;
  o["updated_at"] = u.updated_at;
  return o;
}

void PrintUser(const store::UserRecord& u, bool json) {
  if (json) {
    std::cout << boost::json::serialize(UserJson(u)) << "\n";
    return;
  }
  std::cout << "username: " << u.username << "\n"
            << "sub:      " << u.user_id << "\n"
            << "status:   " << u.status << (u.password_hash.empty() ? " (no password)" : "") << "\n";
  if (!u.name.empty()) std::cout << "name:     " << u.name << "\n";
  if (!u.email.empty()) {
    std::cout << "email:    " << u.email << (u.email_verified ? " (verified)" : " (not verified)") << "\n";
  }
}

int UserFailure(store::Error e, const std::string& username) {
  switch (e) {
    case store::Error::kNotFound:
      std::fprintf(stderr, "latchkey: no user '%s'\n", username.c_str());
      return 3;
    case store::Error::kConflict:
      std::fprintf(stderr, "latchkey: user '%s' already exists\n", username.c_str());
      return 3;
    default: std::fprintf(stderr, "latchkey: the database is unavailable\n"); return 1;
  }
}

// ReadPasswordFromStdin reads the whole of standard input and drops one trailing newline, so
// `printf '%s\n' "$PW" | latchkey user add alice --password-stdin` works as expected.
std::string ReadPasswordFromStdin() {
  std::string password((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!password.empty() && password.back() == '\n') password.pop_back();
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

// HashForStore validates and hashes a new password with the configured Argon2id parameters.
std::optional<std::string> HashForStore(const std::string& password, const server::Config& config) {
  if (auto valid = identity::ValidatePassword(password); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().c_str());
    return std::nullopt;
  }
  crypto::SystemRandom random;
  auto hash = identity::HashPassword(password, server::PasswordParamsFor(config), random);
  if (!hash) {
    std::fprintf(stderr, "latchkey: cannot hash the password\n");
    return std::nullopt;
  }
  return *hash;
}

int UserCommand(const CommonFlags& common_flags, UserFlags& f, CLI::App* cmd, const std::string& action) {
  Admin admin;
  if (int rc = OpenAdmin(common_flags, admin); rc != 0) return rc;
  common::SystemClock clock;
  const std::string username = identity::NormalizeUsername(f.username);

  if (action == "list") {
    auto users = admin.store->ListUsers();
    if (!users) return UserFailure(users.error(), "");
    if (common_flags.json) {
      boost::json::array all;
      for (const auto& u : *users) all.push_back(UserJson(u));
      std::cout << boost::json::serialize(boost::json::object{{"users", all}}) << "\n";
    } else {
      for (const auto& u : *users) {
        std::printf("%-40s %-9s %s\n", u.username.c_str(), u.status.c_str(), u.email.c_str());
      }
    }
    return 0;
  }

  if (action == "add") {
    store::UserRecord u;
    crypto::SystemRandom random;
    u.user_id = identity::NewUserId(random);
    u.username = username;
    ApplyUserFlags(f, cmd, u);
    u.created_at = u.updated_at = clock.NowSeconds();
    if (auto valid = identity::ValidateUser(u); !valid) {
      std::fprintf(stderr, "latchkey: %s\n", valid.error().c_str());
      return 2;
    }
    if (f.password_stdin) {
      auto hash = HashForStore(ReadPasswordFromStdin(), admin.config);
      if (!hash) return 2;
      u.password_hash = *hash;
    }
    if (auto created = admin.store->CreateUser(u); !created) return UserFailure(created.error(), username);
    PrintUser(u, common_flags.json);
    return 0;
  }

  if (action == "import") {
    std::ifstream in(f.file);
    if (!in) {
      std::fprintf(stderr, "latchkey: cannot read %s\n", f.file.c_str());
      return 2;
    }
    // Validate every line before writing anything: a bad line never leaves a half-imported file.
    std::vector<identity::ImportedUser> users;
    std::string line;
    int line_number = 0;
    int bad = 0;
    while (std::getline(in, line)) {
      ++line_number;
      if (common::Trim(line).empty()) continue;
      auto parsed = identity::ParseImportLine(line);
      if (!parsed) {
        std::fprintf(stderr, "latchkey: %s:%d: %s\n", f.file.c_str(), line_number, parsed.error().c_str());
        ++bad;
        continue;
      }
      users.push_back(std::move(*parsed));
    }
    if (bad > 0) {
      std::fprintf(stderr, "latchkey: %d bad line(s); nothing imported\n", bad);
      return 2;
    }
    crypto::SystemRandom random;
    int created = 0, skipped = 0;
    for (auto& imported : users) {
      store::UserRecord& u = imported.user;
      u.user_id = identity::NewUserId(random);
      u.created_at = u.updated_at = clock.NowSeconds();
      if (!imported.password.empty()) {
        auto hash = HashForStore(imported.password, admin.config);
        if (!hash) return 2;
        u.password_hash = *hash;
      }
      auto written = admin.store->CreateUser(u);
      if (!written && written.error() == store::Error::kConflict) {
        std::fprintf(stderr, "latchkey: user '%s' already exists; skipped\n", u.username.c_str());
        ++skipped;
      } else if (!written) {
        return UserFailure(written.error(), u.username);
      } else {
        ++created;
      }
    }
    if (common_flags.json) {
      std::cout << boost::json::serialize(boost::json::object{{"created", created}, {"skipped", skipped}})
                << "\n";
    } else {
      std::printf("imported %d user(s), skipped %d existing\n", created, skipped);
    }
    return skipped > 0 ? 3 : 0;
  }

  auto existing = admin.store->GetUserByUsername(username);
  if (!existing) return UserFailure(existing.error(), username);
  store::UserRecord u = *existing;

  if (action == "show") {
    PrintUser(u, common_flags.json);
    return 0;
  }
  if (action == "consents") {
    auto consents = admin.store->ListUserConsents(u.user_id);
    if (!consents) return UserFailure(consents.error(), username);
    if (common_flags.json) {
      boost::json::array all;
      for (const auto& c : *consents) {
        all.push_back({{"client_id", c.client_id},
                       {"scope", c.scope},
                       {"created_at", c.created_at},
                       {"updated_at", c.updated_at}});
      }
      std::cout << boost::json::serialize(boost::json::object{{"consents", all}}) << "\n";
    } else {
      for (const auto& c : *consents) std::printf("%-40s %s\n", c.client_id.c_str(), c.scope.c_str());
    }
    return 0;
  }
  if (action == "revoke-consent") {
    // The app must ask again, and what the user's approval let it keep (refresh tokens) ends now.
    if (auto deleted = admin.store->DeleteConsent(u.user_id, f.client_id); !deleted) {
      if (deleted.error() == store::Error::kNotFound) {
        std::fprintf(stderr, "latchkey: %s has not approved client %s\n", username.c_str(),
                     f.client_id.c_str());
        return 1;
      }
      return UserFailure(deleted.error(), username);
    }
    // Every session's grants to the client (empty session filter); the families it returns name
    // the grants that ended.
    auto revoked = server::RevokeUserGrants(*admin.store, u.user_id, f.client_id, "", clock.NowSeconds(),
                                            server::kMaxRevocationHorizon);
    if (!revoked) return UserFailure(revoked.error(), username);
    const int64_t families = *revoked;
    common::LogAudit("consent_revoked",
                     {{"user_id", u.user_id}, {"client_id", f.client_id}, {"by", "admin"}});
    if (common_flags.json) {
      std::cout << boost::json::serialize(boost::json::object{{"username", username},
                                                              {"client_id", f.client_id},
                                                              {"refresh_token_families_revoked", families}})
                << "\n";
    } else {
      std::printf("revoked consent of %s for %s (%lld refresh token famil%s revoked)\n", username.c_str(),
                  f.client_id.c_str(), static_cast<long long>(families), families == 1 ? "y" : "ies");
    }
    return 0;
  }
  if (action == "sessions") {
    auto sessions = admin.store->ListUserSessions(u.user_id);
    if (!sessions) return UserFailure(sessions.error(), username);
    boost::json::array all;
    for (const auto& session : *sessions) {
      auto clients = admin.store->ListSessionClients(session.id_hash);
      if (!clients) return UserFailure(clients.error(), username);
      // The id is the stored hash (never the cookie), base64url: what `session revoke` takes.
      const std::string id = common::Base64UrlEncode(session.id_hash);
      if (common_flags.json) {
        boost::json::array names;
        for (const auto& c : *clients) names.emplace_back(c);
        all.push_back({{"id", id},
                       {"created_at", session.created_at},
                       {"last_seen_at", session.last_seen_at},
                       {"auth_time", session.auth_time},
                       {"revoked", session.revoked},
                       {"clients", names}});
      } else {
        std::printf("%s  created %lld  last seen %lld  %s  %s\n", id.c_str(),
                    static_cast<long long>(session.created_at), static_cast<long long>(session.last_seen_at),
                    session.revoked ? "revoked" : "active", common::Join(*clients, ",").c_str());
      }
    }
    if (common_flags.json)
      std::cout << boost::json::serialize(boost::json::object{{"sessions", all}}) << "\n";
    return 0;
  }
  if (action == "revoke-tokens") {
    // "Log out from all devices": every grant, every access token issued so far, every session.
    auto grants =
        server::RevokeEverything(*admin.store, u.user_id, clock.NowSeconds(), server::kMaxRevocationHorizon);
    if (!grants) return UserFailure(grants.error(), username);
    common::LogAudit("user_tokens_revoked",
                     {{"user_id", u.user_id}, {"grants_revoked", *grants}, {"by", "admin"}});
    if (common_flags.json) {
      std::cout << boost::json::serialize(
                       boost::json::object{{"username", username}, {"grants_revoked", *grants}})
                << "\n";
    } else {
      std::printf("revoked every token and session of %s (%lld grant(s))\n", username.c_str(),
                  static_cast<long long>(*grants));
    }
    return 0;
  }
  if (action == "sign-out") {
    auto sessions = admin.store->ListUserSessions(u.user_id);
    if (!sessions) return UserFailure(sessions.error(), username);
    int64_t ended = 0;
    for (const auto& s : *sessions) {
      if (s.revoked) continue;
      if (auto revoked = admin.store->RevokeSession(s.id_hash); !revoked)
        return UserFailure(revoked.error(), username);
      ++ended;
    }
    if (common_flags.json) {
      std::cout << boost::json::serialize(
                       boost::json::object{{"username", username}, {"sessions_ended", ended}})
                << "\n";
    } else {
      std::printf("ended %lld session(s) of %s\n", static_cast<long long>(ended), username.c_str());
    }
    return 0;
  }
  if (action == "delete") {
    if (auto deleted = admin.store->DeleteUser(u.user_id); !deleted)
      return UserFailure(deleted.error(), username);
    if (common_flags.json) {
      std::cout << boost::json::serialize(boost::json::object{{"username", username}, {"deleted", true}})
                << "\n";
    } else {
      std::printf("deleted user %s\n", username.c_str());
    }
    return 0;
  }
  if (action == "update") {
    ApplyUserFlags(f, cmd, u);
  } else if (action == "disable" || action == "enable") {
    u.status = action == "disable" ? "disabled" : "active";
  } else if (action == "set-password") {
    if (!f.password_stdin) {
      std::fprintf(stderr, "latchkey: set-password reads the new password with --password-stdin\n");
      return 2;
    }
    auto hash = HashForStore(ReadPasswordFromStdin(), admin.config);
    if (!hash) return 2;
    u.password_hash = *hash;
  }
  u.updated_at = clock.NowSeconds();
  if (auto valid = identity::ValidateUser(u); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().c_str());
    return 2;
  }
  if (auto updated = admin.store->UpdateUser(u); !updated) return UserFailure(updated.error(), username);
  PrintUser(u, common_flags.json);
  return 0;
}

int SessionRevoke(const CommonFlags& common_flags, const std::string& id) {
  Admin admin;
  if (int rc = OpenAdmin(common_flags, admin); rc != 0) return rc;
  auto id_hash = common::Base64UrlDecode(id);
  auto session = id_hash ? admin.store->GetSession(*id_hash)
                         : store::Result<store::SessionRecord>(store::Error::kNotFound);
  if (!session) {
    if (session.error() == store::Error::kNotFound) {
      std::fprintf(stderr, "latchkey: no session '%s' (see `latchkey session list --user NAME`)\n",
                   id.c_str());
      return 3;
    }
    std::fprintf(stderr, "latchkey: the database is unavailable\n");
    return 1;
  }
  if (auto revoked = admin.store->RevokeSession(*id_hash); !revoked) {
    std::fprintf(stderr, "latchkey: the database is unavailable\n");
    return 1;
  }
  int64_t grants = 0;
  if (admin.config.logout_revoke_refresh_tokens) {
    auto revoked =
        server::RevokeUserGrants(*admin.store, session->user_id, "", *id_hash,
                                 common::SystemClock().NowSeconds(), server::kMaxRevocationHorizon);
    if (!revoked) {
      std::fprintf(stderr, "latchkey: the database is unavailable\n");
      return 1;
    }
    grants = *revoked;
  }
  common::LogAudit("session_revoked",
                   {{"user_id", session->user_id}, {"grants_revoked", grants}, {"by", "admin"}});
  if (common_flags.json) {
    std::cout << boost::json::serialize(
                     boost::json::object{{"id", id}, {"revoked", true}, {"grants_revoked", grants}})
              << "\n";
  } else {
    std::printf("revoked session %s (%lld grant(s) of it revoked)\n", id.c_str(),
                static_cast<long long>(grants));
  }
  return 0;
}

// ImportSqlite copies the SQLite database at `path` into the configured PostgreSQL database (exit
// 2 when `storage` is not PostgreSQL), after migrating the PostgreSQL schema, and prints the rows
// per table. The target must be empty and both schemas at the same version (exit 3 otherwise); any
// database failure leaves the target as it was (exit 1). See store/postgres/import_sqlite.hpp.
int ImportSqlite(const CommonFlags& flags, const std::string& path) {
  auto config = LoadConfigOrPrint(flags);
  if (!config) return 2;
  if (!server::IsPostgresStorage(config->storage)) {
    std::fprintf(stderr,
                 "latchkey: migrate --from-sqlite copies into PostgreSQL: set `storage` to the PostgreSQL "
                 "database first\n");
    return 2;
  }
  {
    // Opening the store applies pending migrations to the PostgreSQL schema.
    auto store = server::OpenStore(*config);
    if (!store) {
      std::fprintf(stderr, "latchkey: %s\n", store.error().c_str());
      return 1;
    }
  }
  store::postgres::PostgresOptions target;
  target.conninfo = config->storage;
  target.pool_size = 1;
  auto report = store::postgres::ImportSqliteDatabase(path, target);
  if (!report) {
    std::fprintf(stderr, "latchkey: nothing was imported: %s\n", report.error().message.c_str());
    const auto code = report.error().code;
    return code == store::postgres::ImportErrc::kTargetNotEmpty ||
                   code == store::postgres::ImportErrc::kSchemaMismatch
               ? 3
               : 1;
  }
  if (flags.json) {
    boost::json::object imported;
    for (const auto& [table, rows] : report->tables) imported[table] = rows;
    std::cout << boost::json::serialize(boost::json::object{{"imported", std::move(imported)}}) << "\n";
  } else {
    std::cout << "imported " << path << " into PostgreSQL (rows per table):\n";
    for (const auto& [table, rows] : report->tables) {
      std::printf("  %-20s %lld\n", table.c_str(), static_cast<long long>(rows));
    }
  }
  return 0;
}

// Migrate opens the store, which applies pending schema migrations (SQLite and PostgreSQL alike;
// several nodes may run it at once, see OpenPostgresStore), and says so. With `from_sqlite`, it then
// copies that SQLite database into the configured PostgreSQL one (ImportSqlite).
int Migrate(const CommonFlags& flags, const std::string& from_sqlite) {
  if (!from_sqlite.empty()) return ImportSqlite(flags, from_sqlite);
  Admin admin;
  if (int rc = OpenAdmin(flags, admin)) return rc;
  // Opening the store applied what was pending (one "applied migration" log line each).
  if (flags.json) {
    std::cout << boost::json::serialize(
                     boost::json::object{{"migrated", true}, {"schema_version", store::kSchemaVersion}})
              << "\n";
  } else {
    std::cout << "the database schema is current (version " << store::kSchemaVersion << ")\n";
  }
  return 0;
}

// Backup copies the SQLite database to `to` while servers keep running (SQLite's online backup
// API). PostgreSQL has its own tools for this (docs/configuration.md: pg_dump).
int Backup(const CommonFlags& flags, const std::string& to) {
  auto config = LoadConfigOrPrint(flags);
  if (!config) return 2;
  if (server::IsPostgresStorage(config->storage)) {
    std::fprintf(stderr, "latchkey: backup copies SQLite databases; back up PostgreSQL with pg_dump\n");
    return 2;
  }
  const std::string source = server::DatabasePath(*config);
  if (::access(source.c_str(), F_OK) != 0) {
    std::fprintf(stderr, "latchkey: there is no database at %s\n", source.c_str());
    return 1;
  }
  auto copied = store::sqlite::BackupSqliteDatabase(source, to);
  if (!copied && copied.error() == store::Error::kConflict) {
    std::fprintf(stderr, "latchkey: backup: %s already exists\n", to.c_str());
    return 3;
  }
  if (!copied) {
    std::fprintf(stderr, "latchkey: backup to %s failed (see the log)\n", to.c_str());
    return 1;
  }
  if (flags.json) {
    std::cout << boost::json::serialize(boost::json::object{{"backup", to}}) << "\n";
  } else {
    std::cout << "backed up " << source << " to " << to << "\n";
  }
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

  auto* user = app.add_subcommand("user", "Manage the people who sign in");
  user->require_subcommand(1);
  UserFlags uf;
  std::vector<std::pair<std::string, CLI::App*>> user_commands;
  for (const char* name : {"add", "list", "show", "update", "disable", "enable", "delete", "set-password",
                           "import", "consents", "revoke-consent", "sign-out", "revoke-tokens"}) {
    std::string action = name;
    auto* cmd = user->add_subcommand(name, action + " users");
    AddCommonFlags(cmd, flags);
    if (action == "import") {
      cmd->add_option("file", uf.file, "JSON lines: username, password and OIDC standard claims")->required();
    } else if (action != "list") {
      cmd->add_option("username", uf.username, "username")->required();
    }
    if (action == "add" || action == "set-password") {
      cmd->add_flag("--password-stdin", uf.password_stdin, "Read the password from standard input");
    }
    if (action == "add" || action == "update") AddUserFlags(cmd, uf);
    if (action == "revoke-consent") cmd->add_option("client_id", uf.client_id, "client_id")->required();
    user_commands.emplace_back(action, cmd);
  }

  // Sessions and grants (remembered consents) of a person, for support and "sign out everywhere".
  auto* session = app.add_subcommand("session", "List and end people's browser sessions");
  session->require_subcommand(1);
  std::string session_user, session_id;
  auto* session_list = session->add_subcommand("list", "List a person's sessions");
  AddCommonFlags(session_list, flags);
  session_list->add_option("--user", session_user, "username")->required();
  auto* session_revoke = session->add_subcommand("revoke", "End one session (and its refresh tokens)");
  AddCommonFlags(session_revoke, flags);
  session_revoke->add_option("id", session_id, "session id from `session list`")->required();
  auto* grant = app.add_subcommand("grant", "List and revoke what people allowed applications");
  grant->require_subcommand(1);
  auto* grant_list = grant->add_subcommand("list", "List a person's remembered consents");
  AddCommonFlags(grant_list, flags);
  grant_list->add_option("--user", uf.username, "username")->required();
  auto* grant_revoke = grant->add_subcommand("revoke", "Forget a consent and revoke the client's tokens");
  AddCommonFlags(grant_revoke, flags);
  grant_revoke->add_option("--user", uf.username, "username")->required();
  grant_revoke->add_option("client_id", uf.client_id, "client_id")->required();

  // The database itself.
  auto* migrate = app.add_subcommand("migrate", "Apply pending schema migrations to the database");
  AddCommonFlags(migrate, flags);
  std::string from_sqlite;
  migrate->add_option("--from-sqlite", from_sqlite,
                      "Then copy this SQLite database into the (empty) PostgreSQL database `storage` names");
  std::string backup_to;
  auto* backup = app.add_subcommand("backup", "Copy the SQLite database to a new file while servers run");
  AddCommonFlags(backup, flags);
  backup->add_option("--to", backup_to, "The new file (must not exist)")->required();

  // Client-side commands: they need no configuration or data directory.
  TokenCommand token(app);
  JwtCommand jwt(app);
  KeysCommand keys(app);

  CLI11_PARSE(app, argc, argv);

  if (auto rc = token.Run()) return *rc;
  if (auto rc = jwt.Run()) return *rc;
  if (auto rc = keys.Run()) return *rc;

  if (migrate->parsed()) return Migrate(flags, from_sqlite);
  if (backup->parsed()) return Backup(flags, backup_to);

  if (session_list->parsed()) {
    uf.username = session_user;
    return UserCommand(flags, uf, session_list, "sessions");
  }
  if (session_revoke->parsed()) return SessionRevoke(flags, session_id);
  if (grant_list->parsed()) return UserCommand(flags, uf, grant_list, "consents");
  if (grant_revoke->parsed()) return UserCommand(flags, uf, grant_revoke, "revoke-consent");

  for (const auto& [action, cmd] : user_commands) {
    if (!cmd->parsed()) continue;
    const int rc = UserCommand(flags, uf, cmd, action);
    // Admin changes are audited (the revocation commands write their own, more detailed events).
    static const std::vector<std::string> kChanges = {"add",    "update", "disable",      "enable",
                                                      "delete", "import", "set-password", "sign-out"};
    if (rc == 0 && std::find(kChanges.begin(), kChanges.end(), action) != kChanges.end()) {
      common::LogAudit(AuditName("user", action),
                       {{"username", action == "import" ? uf.file : uf.username}, {"by", "admin"}});
    }
    return rc;
  }

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
  const auto audited = [](int rc, const std::string& action, const std::string& client_id) {
    if (rc == 0) common::LogAudit(AuditName("client", action), {{"client_id", client_id}, {"by", "admin"}});
    return rc;
  };
  if (create->parsed()) return audited(ClientCreate(flags, cf), "create", cf.id);
  if (update->parsed()) return audited(ClientUpdate(flags, cf, update), "update", cf.id);
  if (list->parsed()) return ClientRead(flags, "", "list");
  for (const auto& [name, cmd] : by_id) {
    if (!cmd->parsed()) continue;
    const int rc = ClientRead(flags, id, name);
    return name == "show" ? rc : audited(rc, name, id);
  }
  return 2;
}

}  // namespace latchkey::cli

int main(int argc, char** argv) {
  // Everything Latchkey writes (database, WAL, key material, dev secrets) is for its own user only.
  ::umask(077);
  // A fixed mmap threshold: blocks of 1 MiB and more (Argon2id's 19 MiB work areas) are mapped and
  // returned to the OS when freed. glibc's default raises the threshold after the first large free,
  // after which such blocks stay in the heap and keep the process's resident size up for good.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return latchkey::cli::Main(argc, argv);
}
