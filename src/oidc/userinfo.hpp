#pragma once

// UserInfo response body: OpenID Connect Core 1.0 §5.3.2.

#include <string>
#include <vector>

#include "store/store.hpp"

namespace latchkey::oidc {

// UserInfoJson returns the serialized JSON object of ClaimsForScopes(user, scopes): the body of a
// successful UserInfo response (§5.3.2, Content-Type application/json). It does NOT check the
// access token, its scopes or the user's status: the caller has done that before calling.
std::string UserInfoJson(const store::UserRecord& user, const std::vector<std::string>& scopes);

}  // namespace latchkey::oidc
