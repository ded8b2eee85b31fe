#pragma once

// Revocation of grants, shared by the server (token revocation, logout, reuse detection) and the
// admin commands (`latchkey user revoke-tokens`, `session revoke`): refresh token families are
// revoked in the store, and the access tokens issued from them, which may be self-contained JWTs
// that cannot be recalled, are denylisted until `horizon` (when every one of them has expired).

#include <cstdint>
#include <string>

#include "store/store.hpp"

namespace latchkey::server {

// kMaxRevocationHorizon: seconds a denylist entry must live when the caller does not know the
// longest access token lifetime in use (client lifetimes are capped at 86400 s), plus a margin.
inline constexpr int64_t kMaxRevocationHorizon = 86400 + 60;

// RevokeGrantFamily revokes the refresh tokens of `family_id` and denylists its access tokens;
// returns how many refresh tokens were newly revoked.
store::Result<int64_t> RevokeGrantFamily(store::Store& store, const std::string& family_id, int64_t now,
                                         int64_t horizon);

// RevokeUserGrants revokes every grant of `user_id` whose refresh tokens match the filter
// (store::RefreshTokenStore::RevokeRefreshTokens: empty client_id / session_id_hash match any);
// returns the number of grants (families) revoked.
store::Result<int64_t> RevokeUserGrants(store::Store& store, const std::string& user_id,
                                        const std::string& client_id, const std::string& session_id_hash,
                                        int64_t now, int64_t horizon);

// RevokeEverything: "log out from all devices". Every grant of the user, every access token issued
// to the user until `now` (also those of grants without refresh tokens), and every browser session.
// Returns the number of grants revoked.
store::Result<int64_t> RevokeEverything(store::Store& store, const std::string& user_id, int64_t now,
                                        int64_t horizon);

}  // namespace latchkey::server
