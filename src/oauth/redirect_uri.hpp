#pragma once

// Redirection URIs: registration rules and request-time matching (RFC 6749 §3.1.2; RFC 9700
// §2.1 and OAuth 2.1 §2.3.1: exact string matching; RFC 8252 §7.1, §7.3, §8.3 for native apps).

#include <string_view>

#include "oauth/error.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// RedirectUriMatches reports whether `requested` (the redirect_uri request parameter) is one of
// `client.redirect_uris`, compared as exact strings (RFC 9700 §2.1, OAuth 2.1 §2.3.1: no prefix,
// wildcard, case or percent-encoding normalisation — each one has enabled open redirectors and
// code theft). The one exception is RFC 8252 §7.3: for a public client
// (token_endpoint_auth_method "none") a registered loopback IP URI, http://127.0.0.1[:port]/path
// or http://[::1][:port]/path, also matches a requested URI that differs only in its port, any
// port. "localhost" gets no such exemption (RFC 8252 §8.3: NOT RECOMMENDED), and private-use
// schemes (RFC 8252 §7.1) are matched exactly. It does not validate `requested` further: a match
// with a registered URI is the validation.
bool RedirectUriMatches(std::string_view requested, const store::ClientRecord& client);

// ValidateRedirectUriForRegistration checks a redirect URI a client wants to register. Returns
// invalid_request with a description when the URI is not absolute or has a fragment
// (RFC 6749 §3.1.2), has user information, or uses a scheme other than https, except:
// - public (native) clients may use http with a loopback IP literal host, 127.0.0.1 or [::1]
//   (RFC 8252 §7.3); http://localhost is refused (RFC 8252 §8.3);
// - public clients may use a private-use scheme, which must contain a '.' as a reverse domain name
//   (RFC 8252 §7.1, §8.4), e.g. com.example.app:/oauth2redirect.
// Schemes are compared case-sensitively in lower case, since matching later is exact. It does not
// check that the client controls the host or the scheme.
Result<void> ValidateRedirectUriForRegistration(std::string_view uri, bool public_client);

}  // namespace latchkey::oauth
