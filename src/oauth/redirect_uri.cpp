#include "oauth/redirect_uri.hpp"

#include <optional>
#include <string>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace latchkey::oauth {
namespace {

bool IsLoopbackIpHost(std::string_view encoded_host) {
  return encoded_host == "127.0.0.1" || encoded_host == "[::1]";
}

// LoopbackWithoutPort returns `uri` with its port component (and the ':' before it) removed, or nullopt
// when `uri` is not an absolute http URI with a loopback IP literal host and no user information.
std::optional<std::string> LoopbackWithoutPort(std::string_view uri) {
  auto parsed = boost::urls::parse_absolute_uri(uri);
  if (!parsed) return std::nullopt;
  if (parsed->scheme() != "http" || parsed->has_userinfo()) return std::nullopt;
  if (!IsLoopbackIpHost(parsed->encoded_host())) return std::nullopt;
  boost::urls::url copy(*parsed);
  copy.remove_port();
  return std::string(copy.buffer());
}

bool LoopbackMatches(std::string_view requested, std::string_view registered) {
  auto registered_base = LoopbackWithoutPort(registered);
  if (!registered_base) return false;
  auto requested_base = LoopbackWithoutPort(requested);
  // Everything but the port is still compared as an exact string: scheme, host, path and query.
  return requested_base && *requested_base == *registered_base;
}

Error Invalid(std::string what) { return MakeError(ErrorCode::kInvalidRequest, std::move(what)); }

}  // namespace

bool RedirectUriMatches(std::string_view requested, const store::ClientRecord& client) {
  const bool public_client = client.token_endpoint_auth_method == "none";
  for (const auto& registered : client.redirect_uris) {
    if (requested == registered) return true;
    // RFC 8252 §7.3: the app listens on an ephemeral port chosen by the OS at run time. Only
    // public (native) clients get this, and only for IP literals: "localhost" may resolve
    // elsewhere or be served by another process (RFC 8252 §8.3).
    if (public_client && LoopbackMatches(requested, registered)) return true;
  }
  return false;
}

Result<void> ValidateRedirectUriForRegistration(std::string_view uri, bool public_client) {
  auto parsed = boost::urls::parse_absolute_uri(uri);
  // RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI" and "MUST NOT include
  // a fragment component" (parse_absolute_uri refuses a fragment; the find is belt and braces).
  if (!parsed || uri.find('#') != std::string_view::npos) {
    return Invalid("redirect URI must be an absolute URI without a fragment");
  }
  // User information invites confusion attacks (https://trusted@evil.example/) and has no use here.
  if (parsed->has_userinfo()) return Invalid("redirect URI must not contain user information");
  std::string_view scheme = parsed->scheme();
  if (scheme == "https") {
    if (!parsed->has_authority() || parsed->encoded_host().empty()) {
      return Invalid("https redirect URI must name a host");
    }
    return {};
  }
  if (scheme == "http") {
    std::string_view host = parsed->encoded_host();
    if (host == "localhost" || host.ends_with(".localhost")) {
      return Invalid("use http://127.0.0.1 or http://[::1] instead of localhost (RFC 8252 section 8.3)");
    }
    if (!parsed->has_authority() || !IsLoopbackIpHost(host)) {
      return Invalid("redirect URI must use https (http only for loopback IP literals)");
    }
    if (!public_client) return Invalid("loopback http redirect URIs are for native public clients only");
    return {};
  }
  // RFC 8252 §7.1: private-use schemes are reverse domain names ("com.example.app"), which also
  // keeps out javascript:, data:, file: and similar schemes that have no dot.
  if (scheme.find('.') == std::string_view::npos) {
    return Invalid("redirect URI scheme must be https or a private-use scheme like com.example.app");
  }
  for (char c : scheme) {
    if (c >= 'A' && c <= 'Z') return Invalid("redirect URI scheme must be lower case");
  }
  if (!public_client) return Invalid("private-use scheme redirect URIs are for native public clients only");
  return {};
}

}  // namespace latchkey::oauth
