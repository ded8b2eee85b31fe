#include "oidc/claims.hpp"

#include <algorithm>
#include <string_view>
#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace latchkey::oidc {
namespace {

bool HasScope(const std::vector<std::string>& scopes, std::string_view scope) {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

// PutString adds `name` only when `value` is non-empty: §5.3.2 says a claim with no value is
// omitted rather than returned as "" or null.
void PutString(boost::json::object& out, std::string_view name, const std::string& value) {
  if (!value.empty()) out[name] = value;
}

}  // namespace

boost::json::object ClaimsForScopes(const store::UserRecord& user, const std::vector<std::string>& scopes) {
  boost::json::object out;
  out["sub"] = user.user_id;

  if (HasScope(scopes, "profile")) {
    PutString(out, "name", user.name);
    PutString(out, "family_name", user.family_name);
    PutString(out, "given_name", user.given_name);
    PutString(out, "preferred_username", user.preferred_username);
    PutString(out, "picture", user.picture);
    PutString(out, "zoneinfo", user.zoneinfo);
    PutString(out, "locale", user.locale);
    // §5.1: updated_at is a JSON number (seconds since the epoch); 0 means "never recorded".
    if (user.updated_at > 0) out["updated_at"] = user.updated_at;
  }

  if (HasScope(scopes, "email") && !user.email.empty()) {
    out["email"] = user.email;
    out["email_verified"] = user.email_verified;
  }

  if (HasScope(scopes, "address") && !user.address_json.empty()) {
    // The store does not validate address_json. A malformed value is left out instead of being
    // sent as a string: §5.1.1 defines "address" as a JSON object, and relying parties parse it
    // as one.
    std::error_code ec;
    boost::json::value address = boost::json::parse(user.address_json, ec);
    if (!ec && address.is_object()) out["address"] = std::move(address);
  }

  if (HasScope(scopes, "phone") && !user.phone_number.empty()) {
    out["phone_number"] = user.phone_number;
    out["phone_number_verified"] = user.phone_number_verified;
  }
  return out;
}

}  // namespace latchkey::oidc
