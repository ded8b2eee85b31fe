#include "server/serve.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "crypto/digest.hpp"
#include "http/server.hpp"
#include "identity/password.hpp"
#include "identity/users.hpp"
#include "oauth/client_auth.hpp"
#include "server/housekeeping.hpp"
#include "server/key_vault.hpp"
#include "server/provider.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace latchkey::server {
namespace {

common::LogLevel ParseLevel(const std::string& level) {
  if (level == "debug") return common::LogLevel::kDebug;
  if (level == "warn") return common::LogLevel::kWarn;
  if (level == "error") return common::LogLevel::kError;
  return common::LogLevel::kInfo;
}

struct DemoClient {
  const char* id;
  const char* name;
  const char* alg;
};
constexpr DemoClient kDemoClients[] = {
    {"demo-service", "Demo service (ES256 access tokens)", "ES256"},
    {"demo-service-rs256", "Demo service (RS256 access tokens)", "RS256"},
};

// SeedDevClients creates the demo clients on first start and keeps their secrets in
// DATA_DIR/dev-clients.json (mode 0600) so later starts can print them again. Dev mode only.
void SeedDevClients(const Config& config, store::Store& store, const common::Clock& clock) {
  std::string path = config.data_dir + "/dev-clients.json";
  boost::json::object secrets;
  if (std::ifstream in(path); in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    if (!ec && parsed.is_object()) secrets = parsed.as_object();
  }
  crypto::SystemRandom random;
  for (const auto& demo : kDemoClients) {
    if (std::find(config.allowed_algs.begin(), config.allowed_algs.end(), demo.alg) ==
        config.allowed_algs.end()) {
      continue;  // a demo client that could never get a token would only confuse
    }
    bool exists = store.GetClient(demo.id).has_value();
    if (exists && secrets.contains(demo.id)) continue;
    std::string secret = oauth::GenerateClientSecret(random);
    store::ClientRecord client;
    client.client_id = demo.id;
    client.client_name = demo.name;
    client.secret_hash = oauth::HashClientSecret(secret);
    client.grant_types = {"client_credentials"};
    client.scopes = {"api", "read", "write"};
    client.access_token_alg = demo.alg;
    client.created_at = client.updated_at = clock.NowSeconds();
    auto written = exists ? store.UpdateClient(client) : store.CreateClient(client);
    if (!written) continue;
    secrets[demo.id] = secret;
  }
  {
    std::ofstream out(path, std::ios::trunc);
    out << boost::json::serialize(secrets) << "\n";
  }
  ::chmod(path.c_str(), 0600);

  std::printf("\nLatchkey dev mode: issuer %s\n", config.issuer.c_str());
  std::printf("Demo clients (client_credentials, scopes: api read write):\n");
  for (const auto& demo : kDemoClients) {
    if (!secrets.contains(demo.id)) continue;
    std::printf("  client_id=%-20s client_secret=%s  (%s)\n", demo.id,
                std::string(secrets.at(demo.id).as_string()).c_str(), demo.alg);
  }
  std::printf("Try:\n  curl -s -u demo-service:%s -d grant_type=client_credentials %s/token\n\n",
              secrets.contains("demo-service") ? std::string(secrets.at("demo-service").as_string()).c_str()
                                               : "SECRET",
              config.issuer.c_str());
  std::fflush(stdout);
}

// SeedDevUser creates the demo person on first start with a random password kept in
// DATA_DIR/dev-users.json (created 0600 under the process umask) and prints it. Dev mode only.
void SeedDevUser(const Config& config, store::Store& store, const common::Clock& clock) {
  constexpr const char* kDemoUser = "demo";
  std::string path = config.data_dir + "/dev-users.json";
  std::string password;
  if (std::ifstream in(path); in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    if (!ec && parsed.is_object() && parsed.as_object().contains(kDemoUser) &&
        parsed.as_object().at(kDemoUser).is_string()) {
      password = std::string(parsed.as_object().at(kDemoUser).as_string());
    }
  }
  auto existing = store.GetUserByUsername(kDemoUser);
  if (existing && !password.empty()) {
    std::printf("Demo user: username=%s password=%s\n\n", kDemoUser, password.c_str());
    std::fflush(stdout);
    return;
  }
  crypto::SystemRandom random;
  password = common::Base64UrlEncode(random.Bytes(12));
  auto hash = identity::HashPassword(password, PasswordParamsFor(config), random);
  if (!hash) return;
  store::UserRecord user = existing ? *existing : store::UserRecord{};
  if (!existing) {
    user.user_id = identity::NewUserId(random);
    user.username = kDemoUser;
    user.name = "Demo User";
    user.given_name = "Demo";
    user.family_name = "User";
    user.email = "demo@example.com";
    user.email_verified = true;
    user.created_at = clock.NowSeconds();
  }
  user.password_hash = *hash;
  user.updated_at = clock.NowSeconds();
  auto written = existing ? store.UpdateUser(user) : store.CreateUser(user);
  if (!written) return;
  std::ofstream(path, std::ios::trunc)
      << boost::json::serialize(boost::json::object{{kDemoUser, password}}) << "\n";
  std::printf("Demo user: username=%s password=%s\n\n", kDemoUser, password.c_str());
  std::fflush(stdout);
}

// PurgeExpired runs housekeeping once and logs what it deleted. Failures are retried at the next run.
void PurgeExpired(const Config& config, store::Store& store, const common::Clock& clock,
                  common::Metrics& metrics) {
  HousekeepingPolicy policy;
  policy.batch = config.housekeeping_batch;
  policy.session_absolute_lifetime = config.session_absolute_lifetime;
  policy.session_idle_lifetime = config.session_idle_lifetime;
  const HousekeepingReport r = RunHousekeeping(store, policy, clock.NowSeconds(), metrics);
  // Argon2id work areas (19 MiB each) kept from sign-ins a minute or more ago go back to the OS.
  identity::TrimPasswordWorkAreas(std::chrono::seconds(60));
  if (r.Total() > 0) {
    common::LogInfo("expired records deleted", {{"codes", r.codes},
                                                {"device_codes", r.device_codes},
                                                {"sessions", r.sessions},
                                                {"refresh_tokens", r.refresh_tokens},
                                                {"access_tokens", r.access_tokens},
                                                {"revocations", r.revocations}});
  }
}

// SeedDevApp registers the public demo app of the sign-in flow (authorization code + PKCE, any
// loopback port, RFC 8252 §7.3) and prints a link that starts it. Dev mode only.
void SeedDevApp(const Config& config, store::Store& store, const common::Clock& clock) {
  store::ClientRecord app;
  app.client_id = "demo-app";
  app.client_name = "Demo App";
  app.token_endpoint_auth_method = "none";
  app.grant_types = {"authorization_code", "refresh_token"};
  app.redirect_uris = {"http://127.0.0.1/callback"};
  app.scopes = {"openid", "profile", "email", "phone", "address", "offline_access"};
  app.created_at = app.updated_at = clock.NowSeconds();
  if (!store.GetClient(app.client_id) && !store.CreateClient(app)) return;
  // RFC 7636 Appendix B's example verifier, so the printed commands work as pasted. Real apps
  // make a new verifier for every sign-in.
  std::printf(
      "Sign in with the demo app (public client, PKCE) - open in a browser:\n  "
      "%s/authorize?client_id=demo-app"
      "&response_type=code&scope=openid%%20profile%%20email%%20offline_access"
      "&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A9999%%2Fcallback&state=xyz"
      "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256\n"
      "then copy the code from the address bar of the page it lands on and run:\n"
      "  curl -s %s/token -d grant_type=authorization_code -d client_id=demo-app "
      "-d redirect_uri=http://127.0.0.1:9999/callback "
      "-d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk -d code=CODE\n"
      "or run the sample web app and open http://127.0.0.1:9999 :\n"
      "  /usr/bin/python3 examples/webapp.py --issuer %s\n\n",
      config.issuer.c_str(), config.issuer.c_str(), config.issuer.c_str());
  std::fflush(stdout);
}

}  // namespace

common::Result<std::unique_ptr<store::Store>, std::string> OpenStore(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return "cannot create data directory " + config.data_dir + ": " + ec.message();
  ::chmod(config.data_dir.c_str(), 0700);
  if (IsPostgresStorage(config.storage)) {
    store::postgres::PostgresOptions options;
    options.conninfo = config.storage;
    options.pool_size = config.storage_pool_size;
    auto opened = store::postgres::OpenPostgresStore(options);
    // Never the URI itself in the message: it may carry a password.
    if (!opened) {
      return std::string(opened.error() == store::Error::kCorrupt
                             ? "the PostgreSQL database has a schema newer than this binary, or a migration "
                               "failed (see the log)"
                             : "cannot reach the PostgreSQL database 'storage' names (see the log)");
    }
    return std::move(*opened);
  }
  std::string path = DatabasePath(config);
  auto opened = store::sqlite::OpenSqliteStore(path);
  if (!opened) {
    return std::string(opened.error() == store::Error::kCorrupt
                           ? "database " + path + " has a schema newer than this binary"
                           : "cannot open database " + path);
  }
  return std::move(*opened);
}

int Serve(Config config) {
  common::SetLogLevel(ParseLevel(config.log_level));
  if (!common::SetAuditDestination(config.audit_destination)) {
    std::fprintf(stderr, "latchkey: cannot open the audit file %s\n", config.audit_destination.c_str());
    return 1;
  }
  // Refuse a bad issuer before touching the data directory or the port. Only dev mode without an
  // issuer has to wait for the bound port to know it.
  if (!config.issuer.empty() || !config.dev) {
    if (auto valid = ValidateForServing(config); !valid) {
      std::fprintf(stderr, "latchkey: %s\n", valid.error().message.c_str());
      return 2;
    }
  }
  auto store = OpenStore(config);
  if (!store) {
    std::fprintf(stderr, "latchkey: %s\n", store.error().c_str());
    return 1;
  }
  // The key-encryption key that seals the private signing keys: configured, or in dev mode one
  // generated into the data directory (and said so: production keeps it away from the database).
  auto vault = LoadKeyVault(config, ProcessEnv, config.dev);
  if (!vault) {
    std::fprintf(stderr, "latchkey: %s\n", vault.error().c_str());
    return 2;
  }
  if (vault->generated) {
    common::LogWarn(
        "dev mode: generated a key-encryption key for the signing keys",
        {{"path", vault->source}, {"production", "set LATCHKEY_KEK or keys.encryption_key_file"}});
  }
  common::LogInfo("signing keys sealed under key-encryption key",
                  {{"kek_id", vault->vault.CurrentId()}, {"from", vault->source}});

  common::Metrics metrics;
  http::Router router;
  http::ServerOptions options = HttpOptions(config);
  // The issuer may depend on the bound port (dev mode with port 0), so bind before building the
  // provider; no request is served until Run().
  std::unique_ptr<http::Server> server;
  server = std::make_unique<http::Server>(options, router, metrics);
  auto port = server->Start();
  if (!port) {
    std::fprintf(stderr, "latchkey: cannot listen on %s\n", config.listen.c_str());
    return 1;
  }
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::string address = host + ":" + std::to_string(*port);
  if (config.issuer.empty() && config.dev) {
    config.issuer = (options.tls ? "https://" : "http://") + address;
  }
  if (auto valid = ValidateForServing(config); !valid) {
    std::fprintf(stderr, "latchkey: %s\n", valid.error().message.c_str());
    return 2;
  }

  common::SystemClock clock;
  crypto::SystemRandom random;
  Provider provider(config, **store, clock, random, metrics, vault->vault);
  if (auto loaded = provider.Load(); !loaded) {
    std::fprintf(stderr, "latchkey: %s\n", loaded.error().c_str());
    return 1;
  }
  if (config.dev) {
    SeedDevClients(config, **store, clock);
    SeedDevUser(config, **store, clock);
    SeedDevApp(config, **store, clock);
    provider.ReloadIfChanged();
  }
  provider.Register(router);

  // Admin commands write to the same database; poll its revision so their changes apply within
  // about a second without a restart.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread reloader([&] {
    std::unique_lock lock(stop_mutex);
    int ticks = 0;
    while (!stop_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping; })) {
      lock.unlock();
      provider.ReloadIfChanged();
      common::FlushLogs();  // batched access-log lines reach stderr within half a second
      // Every housekeeping.interval seconds: drop what has expired (nothing valid is touched).
      if (++ticks % (2 * config.housekeeping_interval) == 0) PurgeExpired(config, **store, clock, metrics);
      // Signing-key rotation steps that are due (every node checks; the store lets one take each).
      if (ticks % (2 * provider.KeyMaintenanceInterval()) == 0) provider.MaintainKeys();
      lock.lock();
    }
  });

  common::LogInfo("listening",
                  {{"address", address}, {"issuer", config.issuer}, {"tls", options.tls.has_value()}});
  server->Run();
  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stop_cv.notify_all();
  reloader.join();
  common::LogInfo("stopped");
  common::FlushLogs();
  return 0;
}

}  // namespace latchkey::server
