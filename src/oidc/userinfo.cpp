#include "oidc/userinfo.hpp"

#include <boost/json/serialize.hpp>

#include "oidc/claims.hpp"

namespace latchkey::oidc {

std::string UserInfoJson(const store::UserRecord& user, const std::vector<std::string>& scopes) {
  return boost::json::serialize(ClaimsForScopes(user, scopes));
}

}  // namespace latchkey::oidc
