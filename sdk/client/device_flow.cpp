#include "latchkey/client/device_flow.hpp"

#include <condition_variable>
#include <mutex>

#include "internal.hpp"

namespace latchkey::client {

namespace {

using internal::Fail;

// RealSleep waits `duration`, waking at once when `stop` is requested.
bool RealSleep(std::chrono::seconds duration, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  return !cv.wait_for(lock, stop, duration, [] { return false; }) && !stop.stop_requested();
}

}  // namespace

DeviceFlow::DeviceFlow(RelyingParty& app, DeviceFlowOptions options)
    : app_(app), options_(std::move(options)) {
  if (!options_.sleep) options_.sleep = RealSleep;
}

Result<DeviceAuthorization> DeviceFlow::Start(std::string_view scope) {
  std::vector<std::pair<std::string, std::string>> params;
  const std::string requested(scope.empty() ? std::string_view(app_.GetConfig().scope) : scope);
  if (!requested.empty()) params.emplace_back("scope", requested);
  auto body = app_.PostToEndpoint(&ProviderMetadata::device_authorization_endpoint,
                                  "device_authorization_endpoint", std::move(params));
  if (!body) return body.error();
  auto object = internal::ParseJsonObject(*body, "the device authorization response");
  if (!object) return object.error();
  // RFC 8628 §3.2: device_code, user_code, verification_uri and expires_in are REQUIRED.
  DeviceAuthorization a;
  auto device_code = internal::StringMember(*object, "device_code");
  auto user_code = internal::StringMember(*object, "user_code");
  auto uri = internal::StringMember(*object, "verification_uri");
  auto complete = internal::StringMember(*object, "verification_uri_complete");
  auto expires_in = internal::IntMember(*object, "expires_in");
  if (!device_code || device_code->empty() || !user_code || user_code->empty() || !uri || uri->empty() ||
      !complete || !expires_in || *expires_in <= 0) {
    return Fail(ErrorCode::kInvalidResponse, "the device authorization response lacks a required member");
  }
  a.device_code = std::move(*device_code);
  a.user_code = std::move(*user_code);
  a.verification_uri = std::move(*uri);
  a.verification_uri_complete = std::move(*complete);
  a.expires_at = app_.GetProvider().GetClock().NowSeconds() + *expires_in;
  // §3.2: "If no value is provided, clients MUST use 5 as the default."
  if (auto interval = internal::IntMember(*object, "interval"); interval && *interval > 0) {
    a.interval_seconds = *interval;
  }
  return a;
}

Result<std::optional<TokenSet>> DeviceFlow::PollOnce(DeviceAuthorization& authorization) {
  auto tokens = app_.TokenRequest({{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                   {"device_code", authorization.device_code}});
  if (tokens) return std::optional<TokenSet>(std::move(*tokens));
  const Error& e = tokens.error();
  if (e.code == ErrorCode::kOAuth) {
    // RFC 8628 §3.5: keep polling on authorization_pending; on slow_down "the interval MUST be
    // increased by 5 seconds for this and all subsequent requests".
    if (e.oauth_error == "authorization_pending") return std::optional<TokenSet>();
    if (e.oauth_error == "slow_down") {
      authorization.interval_seconds += 5;
      return std::optional<TokenSet>();
    }
  }
  return e;
}

Result<TokenSet> DeviceFlow::Wait(DeviceAuthorization authorization, std::stop_token stop) {
  const Clock& clock = app_.GetProvider().GetClock();
  for (;;) {
    if (stop.stop_requested()) return Fail(ErrorCode::kCancelled, "the device flow was cancelled");
    if (clock.NowSeconds() >= authorization.expires_at) {
      Error e = Fail(ErrorCode::kOAuth, "the device code expired before the person answered");
      e.oauth_error = "expired_token";
      return e;
    }
    // §3.4: wait the interval between requests, also before the first one.
    if (!options_.sleep(std::chrono::seconds(authorization.interval_seconds), stop)) {
      return Fail(ErrorCode::kCancelled, "the device flow was cancelled");
    }
    auto polled = PollOnce(authorization);
    if (!polled) return polled.error();
    if (!*polled) continue;
    TokenSet tokens = std::move(**polled);
    if (tokens.id_token.empty()) return tokens;
    IdTokenCheck check;
    check.access_token = tokens.access_token;
    return app_.ValidateIdTokenOf(std::move(tokens), check);
  }
}

}  // namespace latchkey::client
