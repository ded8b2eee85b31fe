#pragma once

// Users: the rules for the person records behind sign-in (OIDC Core §5.1 standard claims), kept
// pure so the admin commands and, later, the login endpoint apply the same ones.

#include <string>
#include <string_view>

#include "common/random.hpp"
#include "common/result.hpp"
#include "store/store.hpp"

namespace latchkey::identity {

// NormalizeUsername lowercases ASCII letters: usernames are case-insensitive ("Alice" and
// "alice" are one account), as in most identity providers.
std::string NormalizeUsername(std::string_view username);

// ValidateUser checks a record before it is stored. Error: a message naming the field.
// - username: 1-128 characters of a-z 0-9 . _ @ + - (already normalised);
// - status: "active" or "disabled";
// - email: empty or local@domain without spaces;
// - address_json: empty or a JSON object (OIDC Core §5.1.1);
// - every other claim: at most 512 bytes, no control characters.
common::Result<void, std::string> ValidateUser(const store::UserRecord& user);

// ValidatePassword: 8 to 4096 bytes (NIST SP 800-63B §5.1.1.2 minimum length; the maximum bounds
// the hashing cost an attacker can ask for).
common::Result<void, std::string> ValidatePassword(std::string_view password);

// NewUserId returns a fresh subject identifier: 128 random bits, base64url (OIDC Core §2: "locally
// unique and never reassigned").
std::string NewUserId(common::Random& random);

// ImportedUser: one line of `latchkey user import`.
struct ImportedUser {
  store::UserRecord user;  // user_id empty: the caller assigns one
  std::string password;    // empty: no password login
};

// ParseImportLine parses one JSON-lines record: {"username": ..., "password": ..., and any OIDC
// standard claim: name, given_name, family_name, preferred_username, email, email_verified,
// phone_number, phone_number_verified, address (object), picture, locale, zoneinfo}. Unknown
// members are an error (a typo must not silently drop data).
common::Result<ImportedUser, std::string> ParseImportLine(std::string_view line);

}  // namespace latchkey::identity
