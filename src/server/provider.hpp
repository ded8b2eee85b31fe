#pragma once

// Provider: the composition of Latchkey's endpoints. Holds immutable snapshots of the clients and
// keys (reloaded when the store's revision changes, so admin commands take effect without a
// restart) and adapts HTTP requests to the pure protocol functions in oauth/ and oidc/.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "http/router.hpp"
#include "oauth/token.hpp"
#include "server/config.hpp"
#include "server/keys.hpp"
#include "store/store.hpp"

namespace latchkey::server {

class Provider {
 public:
  // All references must outlive the provider. `config.issuer` must be final.
  Provider(const Config& config, store::Store& store, const common::Clock& clock, common::Random& random,
           common::Metrics& metrics);

  // Load reads clients and keys from the store (generating missing keys). Error: a message.
  common::Result<void, std::string> Load();

  // ReloadIfChanged re-reads clients and keys when the store's revision moved. Returns false when
  // the store could not be reached (the old snapshot stays in use).
  bool ReloadIfChanged();

  // Register adds every endpoint to `router`.
  void Register(http::Router& router);

  // The endpoint adapters (public for tests).
  http::Response Token(const http::Request& request);
  http::Response Jwks(const http::Request& request) const;
  http::Response Discovery(const http::Request& request) const;
  http::Response Healthz(const http::Request& request) const;
  http::Response Readyz(const http::Request& request);
  http::Response MetricsText(const http::Request& request) const;

 private:
  struct Snapshot {
    std::unordered_map<std::string, store::ClientRecord> clients;
    KeySet keys;
    std::string jwks_json;
    std::string discovery_json;
  };

  common::Result<std::shared_ptr<const Snapshot>, std::string> BuildSnapshot();
  std::shared_ptr<const Snapshot> Current() const;
  http::Response TokenError(const oauth::Error& error);

  const Config& config_;
  store::Store& store_;
  const common::Clock& clock_;
  common::Random& random_;
  common::Metrics& metrics_;
  oauth::TokenPolicy policy_;

  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<int64_t> revision_{-1};
};

}  // namespace latchkey::server
