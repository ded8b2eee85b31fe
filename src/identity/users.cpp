#include "identity/users.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "common/strings.hpp"

namespace latchkey::identity {
namespace {

bool IsUsernameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '+' ||
         c == '-';
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

std::string NormalizeUsername(std::string_view username) { return common::ToLower(username); }

common::Result<void, std::string> ValidateUser(const store::UserRecord& user) {
  const std::string& u = user.username;
  if (u.empty() || u.size() > 128 || !std::all_of(u.begin(), u.end(), IsUsernameChar)) {
    return std::string("username must be 1-128 characters of a-z 0-9 . _ @ + -");
  }
  if (user.status != "active" && user.status != "disabled") {
    return std::string("status must be active or disabled");
  }
  if (!user.email.empty()) {
    size_t at = user.email.find('@');
    if (at == 0 || at == std::string::npos || at + 1 == user.email.size() ||
        user.email.find(' ') != std::string::npos) {
      return std::string("email must look like name@example.com");
    }
  }
  if (!user.address_json.empty()) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(user.address_json, ec);
    if (ec || !parsed.is_object()) return std::string("address must be a JSON object (OIDC Core 5.1.1)");
  }
  const std::pair<const char*, const std::string*> kClaims[] = {
      {"name", &user.name},
      {"given_name", &user.given_name},
      {"family_name", &user.family_name},
      {"preferred_username", &user.preferred_username},
      {"email", &user.email},
      {"phone_number", &user.phone_number},
      {"picture", &user.picture},
      {"locale", &user.locale},
      {"zoneinfo", &user.zoneinfo},
  };
  for (const auto& [claim, value] : kClaims) {
    if (value->size() > 512 || HasControl(*value)) {
      return std::string(claim) + " must be at most 512 bytes without control characters";
    }
  }
  return {};
}

common::Result<void, std::string> ValidatePassword(std::string_view password) {
  if (password.size() < 8) return std::string("password must be at least 8 characters");
  if (password.size() > 4096) return std::string("password must be at most 4096 bytes");
  return {};
}

std::string NewUserId(common::Random& random) { return common::Base64UrlEncode(random.Bytes(16)); }

common::Result<ImportedUser, std::string> ParseImportLine(std::string_view line) {
  boost::system::error_code ec;
  auto parsed = boost::json::parse(line, ec);
  if (ec || !parsed.is_object()) return std::string("not a JSON object");
  ImportedUser out;
  store::UserRecord& u = out.user;
  for (const auto& member : parsed.as_object()) {
    // Named copies, not structured bindings: lambdas below capture them.
    const std::string_view key = member.key();
    const boost::json::value& value = member.value();
    auto text = [&](std::string& field) -> bool {
      if (!value.is_string()) return false;
      field = std::string(value.as_string());
      return true;
    };
    auto flag = [&](bool& field) -> bool {
      if (!value.is_bool()) return false;
      field = value.as_bool();
      return true;
    };
    bool ok = true;
    if (key == "username") {
      ok = text(u.username);
      u.username = NormalizeUsername(u.username);
    } else if (key == "password") {
      ok = text(out.password);
    } else if (key == "name") {
      ok = text(u.name);
    } else if (key == "given_name") {
      ok = text(u.given_name);
    } else if (key == "family_name") {
      ok = text(u.family_name);
    } else if (key == "preferred_username") {
      ok = text(u.preferred_username);
    } else if (key == "email") {
      ok = text(u.email);
    } else if (key == "email_verified") {
      ok = flag(u.email_verified);
    } else if (key == "phone_number") {
      ok = text(u.phone_number);
    } else if (key == "phone_number_verified") {
      ok = flag(u.phone_number_verified);
    } else if (key == "address") {
      ok = value.is_object();
      if (ok) u.address_json = boost::json::serialize(value);
    } else if (key == "picture") {
      ok = text(u.picture);
    } else if (key == "locale") {
      ok = text(u.locale);
    } else if (key == "zoneinfo") {
      ok = text(u.zoneinfo);
    } else {
      return "unknown member '" + std::string(key) + "'";
    }
    if (!ok) return "member '" + std::string(key) + "' has the wrong type";
  }
  if (u.username.empty()) return std::string("username is required");
  if (!out.password.empty()) {
    if (auto valid = ValidatePassword(out.password); !valid) return valid.error();
  }
  if (auto valid = ValidateUser(u); !valid) return valid.error();
  return out;
}

}  // namespace latchkey::identity
