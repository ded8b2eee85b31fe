#pragma once

// Standard claims released per scope value: OpenID Connect Core 1.0 §5.1 (standard claims),
// §5.1.1 (address), §5.3.2 (UserInfo response) and §5.4 (requesting claims using scope values).

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "store/store.hpp"

namespace latchkey::oidc {

// ClaimsForScopes returns the claims of `user` that the granted `scopes` release (OIDC Core §5.4):
//   always   -> sub (the user_id)
//   profile  -> name, family_name, given_name, preferred_username, picture, zoneinfo, locale,
//               updated_at (a JSON number of seconds since the epoch)
//   email    -> email, email_verified
//   address  -> address (the JSON object stored in address_json)
//   phone    -> phone_number, phone_number_verified
// Claims with no value are omitted (§5.3.2): empty strings, updated_at == 0, an address_json that
// is empty or is not a JSON object, and a *_verified boolean whose address/number is empty.
// Profile claims the store does not keep (middle_name, nickname, profile, website, gender,
// birthdate) are never returned. Unknown scope values (including "openid") add nothing.
// It does NOT check that the scopes were granted to the client, that "openid" is present, that the
// user is active, or that stored values are well-formed (the store does not validate them).
boost::json::object ClaimsForScopes(const store::UserRecord& user, const std::vector<std::string>& scopes);

}  // namespace latchkey::oidc
