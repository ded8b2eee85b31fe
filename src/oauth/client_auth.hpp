#pragma once

// Client authentication at the token endpoint (RFC 6749 §2.3): client_secret_basic (§2.3.1, with
// the form-urlencoding of id and secret), client_secret_post (§2.3.1), and public clients
// ("none", §2.1 / RFC 7591 §2).

#include <optional>
#include <string>
#include <string_view>

#include "common/random.hpp"
#include "oauth/error.hpp"
#include "oauth/params.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

enum class AuthMethod { kNone, kClientSecretBasic, kClientSecretPost };

// AuthMethodName returns the RFC 7591 name ("client_secret_basic", ...).
std::string_view AuthMethodName(AuthMethod method);

// PresentedCredentials: what the request claims about its client, before any check.
struct PresentedCredentials {
  AuthMethod method = AuthMethod::kNone;
  std::string client_id;
  std::string client_secret;  // empty for kNone
};

// BasicCredentials: the decoded user-id and password of an HTTP Basic header.
struct BasicCredentials {
  std::string user;
  std::string password;
};

// ParseBasicAuthorization parses `Basic <base64(user ":" password)>` (RFC 7617 §2; scheme
// case-insensitive) and form-url-decodes both halves (RFC 6749 §2.3.1). Returns nullopt for any
// other scheme or any malformation (bad base64, no ':', bad escape, empty user).
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

// ExtractClientCredentials decides which client the request speaks for:
// - an Authorization header (at most one) must be valid Basic; a Basic header plus a
//   client_secret in the body is invalid_request (RFC 6749 §2.3: "MUST NOT use more than one
//   authentication method in each request"); a client_id in the body must then match the header;
// - otherwise client_id + client_secret in the body (client_secret_post);
// - otherwise client_id alone (a public client).
// Fails with invalid_client when no client is identified or the header is malformed. Does NOT look
// the client up or check the secret.
Result<PresentedCredentials> ExtractClientCredentials(std::optional<std::string_view> authorization,
                                                      const Params& params);

// AuthenticateClient checks `presented` against the registered `client`: the method must be the
// one the client registered, and the secret's SHA-256 must equal the stored hash (constant time).
// invalid_client on any mismatch, with one generic description so a caller learns nothing about
// which part was wrong.
Result<void> AuthenticateClient(const PresentedCredentials& presented, const store::ClientRecord& client);

// HashClientSecret returns what the store keeps for `secret`: its raw SHA-256.
std::string HashClientSecret(std::string_view secret);

// GenerateClientSecret returns a new secret: 256 bits from `random`, base64url (43 characters).
std::string GenerateClientSecret(common::Random& random);

}  // namespace latchkey::oauth
