#pragma once

// DeviceFlow: sign a person in on a device without a browser or keyboard (RFC 8628). Start asks
// the provider for a code, the app shows user_code and verification_uri (or a QR code of
// verification_uri_complete), and Wait polls the token endpoint until the person approves or
// denies, the code expires, or the caller cancels.
//
//   client::DeviceFlow flow(app);
//   auto started = flow.Start("openid offline_access");
//   std::printf("Open %s and enter %s\n", started->verification_uri.c_str(), started->user_code.c_str());
//   auto tokens = flow.Wait(*started);   // kOAuth "access_denied" / "expired_token" when refused

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "latchkey/client/relying_party.hpp"

namespace latchkey::client {

// DeviceAuthorization: the provider's answer to Start (RFC 8628 §3.2).
struct DeviceAuthorization {
  std::string device_code;  // secret: never show it
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // "" when the provider gave none
  int64_t expires_at = 0;                 // now + expires_in
  int64_t interval_seconds = 5;           // grows by 5 s at every slow_down (§3.5)
};

struct DeviceFlowOptions {
  // sleep waits `duration` or until `stop` is requested; returns false when stopped. Empty: a real
  // wait that wakes at once on cancellation. Tests inject a fake that advances a FakeClock.
  std::function<bool(std::chrono::seconds duration, std::stop_token stop)> sleep;
};

class DeviceFlow {
 public:
  // `app` (its client_id, secret if any, provider) must outlive the flow.
  explicit DeviceFlow(RelyingParty& app, DeviceFlowOptions options = {});

  // Start posts to the device_authorization_endpoint (RFC 8628 §3.1). kDiscovery when the provider
  // has none.
  Result<DeviceAuthorization> Start(std::string_view scope = {});

  // PollOnce asks the token endpoint once (§3.4). nullopt while the person has not decided
  // (authorization_pending); on slow_down it also raises `authorization.interval_seconds` by 5.
  // access_denied, expired_token and other errors come back as kOAuth errors.
  Result<std::optional<TokenSet>> PollOnce(DeviceAuthorization& authorization);

  // Wait polls every interval until tokens arrive (an ID token, if any, is validated), the person
  // denies (kOAuth "access_denied"), the code expires (kOAuth "expired_token", also when
  // expires_at passes without an answer), or `stop` is requested (kCancelled).
  Result<TokenSet> Wait(DeviceAuthorization authorization, std::stop_token stop = {});

 private:
  RelyingParty& app_;
  DeviceFlowOptions options_;
};

}  // namespace latchkey::client
