#pragma once

// Validation of client registrations made by an operator (`latchkey client create|update`), with
// the RFC 7591 §2 metadata rules that apply to what Latchkey implements.

#include "oauth/device.hpp"
#include "oauth/error.hpp"
#include "store/store.hpp"

namespace latchkey::oauth {

// ImplementedGrantTypes lists the grant types a client may register today.
const std::vector<std::string>& ImplementedGrantTypes();

// ValidateClient checks a client record before it is stored. Returns invalid_request with a
// description naming the bad field:
// - client_id: 1 to 128 characters from [A-Za-z0-9._~-];
// - token_endpoint_auth_method: client_secret_basic, client_secret_post or none, and "none" exactly
//   when the client has no secret;
// - grant_types: non-empty, each implemented; client_credentials needs a confidential client
//   (RFC 6749 §4.4);
// - redirect_uris / post_logout_redirect_uris: absolute URIs without a fragment (RFC 6749 §3.1.2);
// - scopes: RFC 6749 §3.3 scope-tokens;
// - access_token_alg: empty or a supported JWS algorithm; access_token_lifetime 0..86400;
//   access_token_format: "jwt" or "opaque";
// - backchannel_logout_uri: empty or an absolute URI without a fragment, required by
//   backchannel_logout_session_required;
// - id_token_signed_response_alg (OIDC Registration §2): empty (the server's default) or RS256,
//   PS256, ES256 or EdDSA (jose::ParseAlg); never "none" or an HMAC alg.
// Does NOT check that the server holds an active signing key for the algorithms named.
Result<void> ValidateClient(const store::ClientRecord& client);

}  // namespace latchkey::oauth
