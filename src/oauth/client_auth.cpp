#include "oauth/client_auth.hpp"

#include "common/base64.hpp"
#include "common/form.hpp"
#include "common/random.hpp"
#include "common/strings.hpp"
#include "crypto/digest.hpp"

namespace latchkey::oauth {
namespace {

Error InvalidClient() { return MakeError(ErrorCode::kInvalidClient, "client authentication failed"); }

}  // namespace

std::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kNone: return "none";
    case AuthMethod::kClientSecretBasic: return "client_secret_basic";
    case AuthMethod::kClientSecretPost: return "client_secret_post";
  }
  return "none";
}

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  header = common::Trim(header);
  size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (!common::EqualsIgnoreCase(header.substr(0, space), "Basic")) return std::nullopt;
  std::string_view token = common::Trim(header.substr(space + 1));
  auto decoded = common::Base64Decode(token);
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  // RFC 6749 §2.3.1: "The client identifier is encoded using the application/x-www-form-urlencoded
  // encoding algorithm ... and the encoded value is used as the username; the client password is
  // encoded using the same algorithm and used as the password."
  auto user = common::PercentDecode(std::string_view(*decoded).substr(0, colon), true);
  auto password = common::PercentDecode(std::string_view(*decoded).substr(colon + 1), true);
  if (!user || !password || user->empty()) return std::nullopt;
  return BasicCredentials{std::move(*user), std::move(*password)};
}

Result<PresentedCredentials> ExtractClientCredentials(std::optional<std::string_view> authorization,
                                                      const Params& params) {
  auto body_id = params.Get("client_id");
  auto body_secret = params.Get("client_secret");
  if (authorization) {
    auto basic = ParseBasicAuthorization(*authorization);
    if (!basic) return InvalidClient();
    if (body_secret) {
      return MakeError(ErrorCode::kInvalidRequest, "more than one client authentication method used");
    }
    // A client_id in the body that names a different client than the header is an attempt to
    // confuse which client is being authenticated.
    if (body_id && *body_id != basic->user) {
      return MakeError(ErrorCode::kInvalidRequest, "client_id does not match the authenticated client");
    }
    return PresentedCredentials{AuthMethod::kClientSecretBasic, std::move(basic->user),
                                std::move(basic->password)};
  }
  if (!body_id) return InvalidClient();
  if (body_secret) {
    return PresentedCredentials{AuthMethod::kClientSecretPost, std::string(*body_id),
                                std::string(*body_secret)};
  }
  return PresentedCredentials{AuthMethod::kNone, std::string(*body_id), {}};
}

Result<void> AuthenticateClient(const PresentedCredentials& presented, const store::ClientRecord& client) {
  if (presented.client_id != client.client_id) return InvalidClient();
  if (AuthMethodName(presented.method) != client.token_endpoint_auth_method) return InvalidClient();
  if (presented.method == AuthMethod::kNone) {
    // A public client has no secret; a confidential client can never pass as a public one because
    // the registered method must match.
    return client.secret_hash.empty() ? Result<void>() : Result<void>(InvalidClient());
  }
  if (client.secret_hash.empty()) return InvalidClient();
  // Compare hashes in constant time: the time taken must not reveal how much of a guess matched.
  if (!crypto::ConstantTimeEquals(HashClientSecret(presented.client_secret), client.secret_hash)) {
    return InvalidClient();
  }
  return {};
}

std::string HashClientSecret(std::string_view secret) { return crypto::Sha256(secret); }

std::string GenerateClientSecret(common::Random& random) { return common::Base64UrlEncode(random.Bytes(32)); }

}  // namespace latchkey::oauth
