#include "jose/jose.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64.hpp"
#include "crypto/digest.hpp"

namespace latchkey::jose {

namespace json = boost::json;

namespace {

// DuplicateKeyFinder is a boost::json::basic_parser handler that only records, per open object,
// the member names seen so far. boost::json::parse silently keeps the last of two equal names, so
// {"alg":"RS256","alg":"none"} would mean different things to different parsers; RFC 7515 §5.2
// step 4 and RFC 7519 §4 let us reject such objects, and we do. The member names below are the
// ones basic_parser requires.
// NOLINTBEGIN(readability-identifier-naming)
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  bool duplicate = false;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    keys_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    // A set, not a list: a header with many members must not cost quadratic time.
    if (!keys_.back().insert(std::move(key_)).second) {
      duplicate = true;
      ec = json::make_error_code(json::error::syntax);
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::vector<std::unordered_set<std::string>> keys_;
  std::string key_;
};
// NOLINTEND(readability-identifier-naming)

// ParseStrictObject parses `text` as one JSON object (RFC 8259, no comments, no trailing commas,
// valid UTF-8) whose objects, at every depth, have unique member names.
Result<json::object> ParseStrictObject(std::string_view text) {
  json::basic_parser<DuplicateKeyFinder> checker{json::parse_options{}};
  json::error_code ec;
  checker.write_some(false, text.data(), text.size(), ec);
  if (ec) return Errc::kMalformed;
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !value.is_object()) return Errc::kMalformed;
  return std::move(value.as_object());
}

// AppendJsonString appends `s` as a JSON string literal (RFC 8259 §7).
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

std::string_view View(const json::string& s) { return std::string_view(s.data(), s.size()); }

// StringMember returns the string member `name`, or nullptr when absent; sets `wrong_type` when
// the member is present but not a string (callers must not read that as "absent").
const json::string* StringMember(const json::object& obj, std::string_view name, bool& wrong_type) {
  const json::value* v = obj.if_contains(json::string_view(name.data(), name.size()));
  if (v == nullptr) return nullptr;
  if (!v->is_string()) {
    wrong_type = true;
    return nullptr;
  }
  return &v->get_string();
}

// B64Member decodes the base64url member `name`: empty when absent and optional, kInvalidKey when
// absent and required, not a string, not canonical base64url, or empty.
Result<std::string> B64Member(const json::object& obj, std::string_view name, bool required) {
  bool wrong_type = false;
  const json::string* s = StringMember(obj, name, wrong_type);
  if (wrong_type) return Errc::kInvalidKey;
  if (s == nullptr) {
    if (required) return Errc::kInvalidKey;
    return std::string();
  }
  auto bytes = common::Base64UrlDecode(View(*s));
  // An empty present member is as malformed as a missing required one.
  if (!bytes || bytes->empty()) return Errc::kInvalidKey;
  return std::move(*bytes);
}

json::string B64(std::string_view bytes) {
  const std::string text = common::Base64UrlEncode(bytes);
  return json::string(text.data(), text.size());
}

// kSkippable marks a JWK we cannot use but that a key set may legitimately contain (other kty, crv
// or alg values): ParseJwks skips it, ParseJwk reports kInvalidKey.
constexpr Errc kSkippable = Errc::kUnsupportedAlg;

Result<Jwk> ParseJwkObject(const json::object& obj) {
  bool wrong_type = false;
  const json::string* kty = StringMember(obj, "kty", wrong_type);
  if (kty == nullptr) return Errc::kInvalidKey;

  Jwk jwk;
  if (const json::string* kid = StringMember(obj, "kid", wrong_type)) jwk.kid = std::string(View(*kid));
  if (const json::string* use = StringMember(obj, "use", wrong_type)) jwk.use = std::string(View(*use));
  const json::string* alg = StringMember(obj, "alg", wrong_type);
  if (wrong_type) return Errc::kInvalidKey;
  if (alg != nullptr) {
    jwk.alg = ParseAlg(View(*alg));
    if (!jwk.alg) return kSkippable;
  }

  crypto::Result<crypto::Key> key = crypto::Error::kUnsupported;
  if (*kty == "RSA") {
    // Multi-prime keys (RFC 7518 §6.3.2.7) are not supported; refusing is safer than ignoring.
    if (obj.contains("oth")) return Errc::kInvalidKey;
    crypto::RsaComponents c;
    std::pair<std::string*, std::string_view> fields[] = {{&c.n, "n"},   {&c.e, "e"},  {&c.d, "d"},
                                                          {&c.p, "p"},   {&c.q, "q"},  {&c.dp, "dp"},
                                                          {&c.dq, "dq"}, {&c.qi, "qi"}};
    for (auto& [dst, name] : fields) {
      auto bytes = B64Member(obj, name, name == "n" || name == "e");
      if (!bytes) return bytes.error();
      *dst = std::move(*bytes);
    }
    key = crypto::KeyFromRsa(c);
  } else if (*kty == "EC") {
    const json::string* crv = StringMember(obj, "crv", wrong_type);
    if (crv == nullptr) return Errc::kInvalidKey;
    if (*crv != "P-256") return kSkippable;
    crypto::EcComponents c;
    auto x = B64Member(obj, "x", true), y = B64Member(obj, "y", true), d = B64Member(obj, "d", false);
    if (!x || !y || !d) return Errc::kInvalidKey;
    c.x = std::move(*x), c.y = std::move(*y), c.d = std::move(*d);
    key = crypto::KeyFromEc(c);
  } else if (*kty == "OKP") {
    const json::string* crv = StringMember(obj, "crv", wrong_type);
    if (crv == nullptr) return Errc::kInvalidKey;
    if (*crv != "Ed25519") return kSkippable;
    crypto::OkpComponents c;
    auto x = B64Member(obj, "x", true), d = B64Member(obj, "d", false);
    if (!x || !d) return Errc::kInvalidKey;
    c.x = std::move(*x), c.d = std::move(*d);
    key = crypto::KeyFromOkp(c);
  } else {
    // "oct" and unknown types: a symmetric key next to public keys is how HS256-with-the-public-key
    // confusion starts, so it is never loaded.
    return kSkippable;
  }
  if (!key) return Errc::kInvalidKey;
  jwk.key = std::move(*key);
  // A JWK that pins its alg (RFC 7517 §4.4) must pin one that fits its own type.
  if (jwk.alg && !AlgFitsKey(*jwk.alg, jwk.key.Type())) return Errc::kInvalidKey;
  return jwk;
}

Result<Jwk> FinishSingleJwk(Result<Jwk> r) {
  if (!r && r.error() == kSkippable) return Errc::kInvalidKey;
  return r;
}

}  // namespace

std::string_view ErrcName(Errc e) {
  switch (e) {
    case Errc::kNone: return "none";
    case Errc::kMalformed: return "malformed";
    case Errc::kUnsupportedAlg: return "unsupported_alg";
    case Errc::kAlgNotAllowed: return "alg_not_allowed";
    case Errc::kKeyNotFound: return "key_not_found";
    case Errc::kBadSignature: return "bad_signature";
    case Errc::kInvalidKey: return "invalid_key";
    case Errc::kCritUnsupported: return "crit_unsupported";
    case Errc::kExpired: return "expired";
    case Errc::kNotYetValid: return "not_yet_valid";
    case Errc::kIssuedInFuture: return "issued_in_future";
    case Errc::kWrongIssuer: return "wrong_issuer";
    case Errc::kWrongAudience: return "wrong_audience";
    case Errc::kMissingClaim: return "missing_claim";
  }
  return "unknown";
}

std::optional<Alg> ParseAlg(std::string_view name) {
  // Exact, case-sensitive names (RFC 7515 §4.1.1): "none", "HS256", "rs256" are all unknown.
  if (name == "RS256") return Alg::kRS256;
  if (name == "PS256") return Alg::kPS256;
  if (name == "ES256") return Alg::kES256;
  if (name == "EdDSA") return Alg::kEdDSA;
  return std::nullopt;
}

std::string_view AlgName(Alg alg) {
  switch (alg) {
    case Alg::kRS256: return "RS256";
    case Alg::kPS256: return "PS256";
    case Alg::kES256: return "ES256";
    case Alg::kEdDSA: return "EdDSA";
  }
  return "";
}

crypto::SignatureScheme SchemeFor(Alg alg) {
  switch (alg) {
    case Alg::kRS256: return crypto::SignatureScheme::kRsaPkcs1Sha256;
    case Alg::kPS256: return crypto::SignatureScheme::kRsaPssSha256;
    case Alg::kES256: return crypto::SignatureScheme::kEcdsaP256Sha256;
    case Alg::kEdDSA: break;
  }
  return crypto::SignatureScheme::kEd25519;
}

bool AlgFitsKey(Alg alg, crypto::KeyType type) { return crypto::SchemeFitsKey(SchemeFor(alg), type); }

Result<Jwk> ParseJwk(const json::value& json_value) {
  if (!json_value.is_object()) return Errc::kInvalidKey;
  return FinishSingleJwk(ParseJwkObject(json_value.as_object()));
}

Result<Jwk> ParseJwk(std::string_view json_text) {
  auto obj = ParseStrictObject(json_text);
  if (!obj) return Errc::kInvalidKey;
  return FinishSingleJwk(ParseJwkObject(*obj));
}

json::object PublicJwk(const Jwk& jwk) {
  json::object out;
  switch (jwk.key.Type()) {
    case crypto::KeyType::kRsa: {
      auto c = jwk.key.Rsa(false);
      if (!c) break;
      out["kty"] = "RSA";
      out["n"] = B64(c->n);
      out["e"] = B64(c->e);
      break;
    }
    case crypto::KeyType::kEcP256: {
      auto c = jwk.key.Ec(false);
      if (!c) break;
      out["kty"] = "EC";
      out["crv"] = "P-256";
      out["x"] = B64(c->x);
      out["y"] = B64(c->y);
      break;
    }
    case crypto::KeyType::kEd25519: {
      auto c = jwk.key.Okp(false);
      if (!c) break;
      out["kty"] = "OKP";
      out["crv"] = "Ed25519";
      out["x"] = B64(c->x);
      break;
    }
  }
  if (!jwk.kid.empty()) out["kid"] = jwk.kid;
  if (jwk.alg) out["alg"] = AlgName(*jwk.alg);
  if (!jwk.use.empty()) out["use"] = jwk.use;
  return out;
}

Result<std::string> Thumbprint(const crypto::Key& key) {
  if (!key.Valid()) return Errc::kInvalidKey;
  // RFC 7638 §3.2-3.3: required members only, lexicographic order, no whitespace; the
  // base64url values contain no characters that need JSON escaping.
  std::string text;
  switch (key.Type()) {
    case crypto::KeyType::kRsa: {
      auto c = key.Rsa(false);
      if (!c) return Errc::kInvalidKey;
      text = R"({"e":")" + common::Base64UrlEncode(c->e) + R"(","kty":"RSA","n":")" +
             common::Base64UrlEncode(c->n) + R"("})";
      break;
    }
    case crypto::KeyType::kEcP256: {
      auto c = key.Ec(false);
      if (!c) return Errc::kInvalidKey;
      text = R"({"crv":"P-256","kty":"EC","x":")" + common::Base64UrlEncode(c->x) + R"(","y":")" +
             common::Base64UrlEncode(c->y) + R"("})";
      break;
    }
    case crypto::KeyType::kEd25519: {
      auto c = key.Okp(false);
      if (!c) return Errc::kInvalidKey;
      text = R"({"crv":"Ed25519","kty":"OKP","x":")" + common::Base64UrlEncode(c->x) + R"("})";
      break;
    }
  }
  return common::Base64UrlEncode(crypto::Sha256(text));
}

const Jwk* Jwks::Find(std::string_view kid) const {
  for (const auto& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

Result<Jwks> ParseJwks(std::string_view json_text) {
  auto obj = ParseStrictObject(json_text);
  if (!obj) return Errc::kMalformed;
  const json::value* keys = obj->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return Errc::kMalformed;
  Jwks out;
  for (const json::value& v : keys->get_array()) {
    if (!v.is_object()) return Errc::kInvalidKey;
    auto jwk = ParseJwkObject(v.get_object());
    if (!jwk) {
      if (jwk.error() == kSkippable) continue;  // RFC 7517 §5: ignore what we do not understand
      return jwk.error();
    }
    out.keys.push_back(std::move(*jwk));
  }
  return out;
}

std::string SerializeJwks(const Jwks& jwks) {
  json::array keys;
  keys.reserve(jwks.keys.size());
  for (const auto& k : jwks.keys) keys.push_back(PublicJwk(k));
  json::object doc;
  doc["keys"] = std::move(keys);
  return json::serialize(doc);
}

Result<std::string> SignJws(const SigningKey& key, std::string_view typ, std::string_view payload) {
  if (!key.key.Valid() || !key.key.HasPrivate() || !AlgFitsKey(key.alg, key.key.Type())) {
    return Errc::kInvalidKey;
  }
  std::string header;
  header.reserve(48 + key.kid.size() + typ.size());
  header.append(R"({"alg":")").append(AlgName(key.alg)).push_back('"');
  if (!key.kid.empty()) {
    header.append(R"(,"kid":)");
    AppendJsonString(header, key.kid);
  }
  if (!typ.empty()) {
    header.append(R"(,"typ":)");
    AppendJsonString(header, typ);
  }
  header.push_back('}');

  std::string out = common::Base64UrlEncode(header);
  out.push_back('.');
  out.append(common::Base64UrlEncode(payload));
  auto sig = crypto::Sign(key.key, SchemeFor(key.alg), out);
  if (!sig) return Errc::kInvalidKey;
  out.push_back('.');
  out.append(common::Base64UrlEncode(*sig));
  return out;
}

Result<ParsedJws> ParseJws(std::string_view compact) {
  // RFC 7515 §7.1: exactly three base64url parts. The decoder refuses '=' padding and
  // non-canonical encodings, so one JWS has exactly one spelling.
  const size_t first = compact.find('.');
  if (first == std::string_view::npos) return Errc::kMalformed;
  const size_t second = compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return Errc::kMalformed;
  }
  const std::string_view header_b64 = compact.substr(0, first);
  const std::string_view payload_b64 = compact.substr(first + 1, second - first - 1);
  const std::string_view signature_b64 = compact.substr(second + 1);
  if (header_b64.empty()) return Errc::kMalformed;

  auto header_text = common::Base64UrlDecode(header_b64);
  auto payload = common::Base64UrlDecode(payload_b64);
  auto signature = common::Base64UrlDecode(signature_b64);
  if (!header_text || !payload || !signature) return Errc::kMalformed;

  // RFC 7515 §5.2 steps 3-4: a JSON object without duplicate member names.
  auto header = ParseStrictObject(*header_text);
  if (!header) return Errc::kMalformed;
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return Errc::kMalformed;
  // RFC 7515 §4.1.11: an extension we do not understand listed in "crit" makes the JWS invalid;
  // we understand none, so any "crit" is refused rather than silently ignored.
  if (header->contains("crit")) return Errc::kCritUnsupported;
  // RFC 7797 unencoded payloads change what the signature covers; only b64 = true is allowed.
  if (const json::value* b64 = header->if_contains("b64");
      b64 != nullptr && !(b64->is_bool() && b64->get_bool())) {
    return Errc::kMalformed;
  }
  if (const json::value* kid = header->if_contains("kid"); kid != nullptr && !kid->is_string()) {
    return Errc::kMalformed;
  }

  ParsedJws out;
  out.header = std::move(*header);
  out.payload = std::move(*payload);
  out.signing_input = std::string(compact.substr(0, second));
  out.signature = std::move(*signature);
  return out;
}

Result<ParsedJws> VerifyJws(std::string_view compact, const Jwks& keys, std::span<const Alg> allowed) {
  auto parsed = ParseJws(compact);
  if (!parsed) return parsed.error();
  auto verified = VerifyParsedJws(*parsed, keys, allowed);
  if (!verified) return verified.error();
  return parsed;
}

Result<void> VerifyParsedJws(const ParsedJws& parsed, const Jwks& keys, std::span<const Alg> allowed) {
  // The algorithm comes from the header, but only ever one the caller listed and only with a key
  // of the matching type: "none", HS256-with-an-RSA-public-key and ES/RS swaps all stop here.
  auto alg = ParseAlg(View(parsed.header.at("alg").get_string()));
  if (!alg) return Errc::kUnsupportedAlg;
  if (std::find(allowed.begin(), allowed.end(), *alg) == allowed.end()) return Errc::kAlgNotAllowed;

  auto usable = [&](const Jwk& k) {
    return k.key.Valid() && AlgFitsKey(*alg, k.key.Type()) && (!k.alg || *k.alg == *alg) &&
           (k.use.empty() || k.use == "sig");
  };
  const crypto::SignatureScheme scheme = SchemeFor(*alg);
  if (const json::value* kid = parsed.header.if_contains("kid")) {
    const Jwk* key = keys.Find(View(kid->get_string()));
    if (key == nullptr || !usable(*key)) return Errc::kKeyNotFound;
    if (!crypto::Verify(key->key, scheme, parsed.signing_input, parsed.signature)) return Errc::kBadSignature;
    return {};
  }
  bool tried = false;
  for (const Jwk& key : keys.keys) {
    if (!usable(key)) continue;
    tried = true;
    if (crypto::Verify(key.key, scheme, parsed.signing_input, parsed.signature)) return {};
  }
  return tried ? Errc::kBadSignature : Errc::kKeyNotFound;
}

namespace {

// NumericDate reads an RFC 7519 §2 NumericDate member: absent -> nullopt with ok; wrong JSON
// type -> !ok. A string "exp" must not be read as "no expiry".
std::optional<double> NumericDate(const json::object& claims, std::string_view name, bool& ok) {
  const json::value* v = claims.if_contains(json::string_view(name.data(), name.size()));
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double())) return v->get_double();
  ok = false;
  return std::nullopt;
}

}  // namespace

Result<json::object> CheckClaims(std::string_view payload, const ClaimsCheck& check,
                                 const common::Clock& clock) {
  auto parsed = ParseStrictObject(payload);
  if (!parsed) return Errc::kMalformed;
  const json::object& claims = *parsed;
  const double now = static_cast<double>(clock.NowSeconds());
  const double leeway = static_cast<double>(check.leeway_seconds);

  bool ok = true;
  const auto exp = NumericDate(claims, "exp", ok);
  const auto nbf = NumericDate(claims, "nbf", ok);
  const auto iat = NumericDate(claims, "iat", ok);
  if (!ok) return Errc::kMissingClaim;
  if (!exp && check.require_exp) return Errc::kMissingClaim;
  if (!iat && check.require_iat) return Errc::kMissingClaim;
  // RFC 7519 §4.1.4: the token MUST NOT be accepted on or after exp.
  if (exp && *exp + leeway <= now) return Errc::kExpired;
  if (nbf && *nbf - leeway > now) return Errc::kNotYetValid;
  if (iat && *iat - leeway > now) return Errc::kIssuedInFuture;

  if (!check.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string()) return Errc::kMissingClaim;
    // RFC 7519 §4.1.1: StringOrURI compared as a case-sensitive string.
    if (View(iss->get_string()) != check.issuer) return Errc::kWrongIssuer;
  }
  if (!check.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    if (aud == nullptr) return Errc::kMissingClaim;
    // RFC 7519 §4.1.3: a token for another audience must be rejected even if otherwise valid
    // (stops a token minted for service A from being replayed at service B).
    if (aud->is_string()) {
      if (View(aud->get_string()) != check.audience) return Errc::kWrongAudience;
    } else if (aud->is_array()) {
      bool found = false;
      for (const json::value& a : aud->get_array()) {
        if (!a.is_string()) return Errc::kMissingClaim;
        found = found || View(a.get_string()) == check.audience;
      }
      if (!found) return Errc::kWrongAudience;
    } else {
      return Errc::kMissingClaim;
    }
  }
  return std::move(*parsed);
}

std::string HashHalf(std::string_view value) {
  const std::string digest = crypto::Sha256(value);
  return common::Base64UrlEncode(std::string_view(digest).substr(0, digest.size() / 2));
}

Result<std::string> HashHalf(std::string_view value, Alg alg) {
  switch (alg) {
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kES256: return HashHalf(value);
    case Alg::kEdDSA: break;
  }
  return Errc::kUnsupportedAlg;
}

}  // namespace latchkey::jose
