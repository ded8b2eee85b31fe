#pragma once

// The columns of each record, in the order the SQL statements (sql_statements.hpp) list them, once
// for the SQLite and the PostgreSQL store. Columns(record, visitor) walks the record's fields in
// that order; each store brings a visitor that reads a result row into the fields and one that binds
// the fields as a statement's parameters $1, $2, ... A visitor has, for the next column:
//
//   Text(s)  a string
//   Blob(s)  a hash or other raw bytes: a BLOB in SQLite, where a BLOB never equals a TEXT, so
//            binding a hash as text would miss the row
//   Int(i)   an int64_t
//   Bool(b)  a bool
//   List(l)  a std::vector<std::string>, stored as EncodeList's JSON array
//
// Binders receive references to const fields.

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "store/store.hpp"

namespace latchkey::store::sql {

// RecordOf: T is Record, const or not (a reader fills a Record, a binder reads a const one).
template <class T, class Record>
concept RecordOf = std::same_as<std::remove_const_t<T>, Record>;

template <RecordOf<ClientRecord> R, class V>
void Columns(R& c, V& v) {
  v.Text(c.client_id);
  v.Text(c.client_name);
  v.Blob(c.secret_hash);
  v.Text(c.token_endpoint_auth_method);
  v.List(c.redirect_uris);
  v.List(c.grant_types);
  v.List(c.scopes);
  v.List(c.post_logout_redirect_uris);
  v.Int(c.access_token_lifetime);
  v.Text(c.access_token_alg);
  v.Text(c.id_token_signed_response_alg);
  v.Text(c.access_token_format);
  v.Text(c.backchannel_logout_uri);
  v.Bool(c.backchannel_logout_session_required);
  v.Bool(c.introspect_any);
  v.Int(c.created_at);
  v.Int(c.updated_at);
}

template <RecordOf<SigningKeyRecord> R, class V>
void Columns(R& k, V& v) {
  v.Text(k.kid);
  v.Text(k.alg);
  v.Text(k.private_key);
  v.Text(k.state);
  v.Int(k.created_at);
  v.Int(k.active_from);
  v.Int(k.retired_at);
}

template <RecordOf<UserRecord> R, class V>
void Columns(R& u, V& v) {
  v.Text(u.user_id);
  v.Text(u.username);
  v.Text(u.password_hash);
  v.Text(u.status);
  v.Text(u.name);
  v.Text(u.given_name);
  v.Text(u.family_name);
  v.Text(u.preferred_username);
  v.Text(u.email);
  v.Bool(u.email_verified);
  v.Text(u.phone_number);
  v.Bool(u.phone_number_verified);
  v.Text(u.address_json);
  v.Text(u.picture);
  v.Text(u.locale);
  v.Text(u.zoneinfo);
  v.Int(u.created_at);
  v.Int(u.updated_at);
}

template <RecordOf<SessionRecord> R, class V>
void Columns(R& s, V& v) {
  v.Blob(s.id_hash);
  v.Text(s.user_id);
  v.Int(s.created_at);
  v.Int(s.last_seen_at);
  v.Int(s.auth_time);
  v.Text(s.amr);
  v.Text(s.acr);
  v.Bool(s.revoked);
}

template <RecordOf<AuthorizationCodeRecord> R, class V>
void Columns(R& c, V& v) {
  v.Blob(c.code_hash);
  v.Text(c.client_id);
  v.Text(c.user_id);
  v.Blob(c.session_id_hash);
  v.Text(c.redirect_uri);
  v.Bool(c.redirect_uri_sent);
  v.Text(c.scope);
  v.Text(c.nonce);
  v.Text(c.code_challenge);
  v.Text(c.code_challenge_method);
  v.Int(c.auth_time);
  v.Text(c.amr);
  v.Text(c.acr);
  v.Int(c.created_at);
  v.Int(c.expires_at);
  v.Bool(c.used);
}

template <RecordOf<RefreshTokenRecord> R, class V>
void Columns(R& r, V& v) {
  v.Blob(r.token_hash);
  v.Text(r.family_id);
  v.Text(r.client_id);
  v.Text(r.user_id);
  v.Text(r.scope);
  v.Blob(r.session_id_hash);
  v.Int(r.auth_time);
  v.Text(r.amr);
  v.Text(r.acr);
  v.Int(r.created_at);
  v.Int(r.expires_at);
  v.Int(r.family_expires_at);
  v.Int(r.rotated_at);
  v.Blob(r.successor_hash);
  v.Bool(r.revoked);
}

// An access token's user_id is NULL for a client's own token; readers read NULL as "".
template <RecordOf<AccessTokenRecord> R, class V>
void Columns(R& t, V& v) {
  v.Blob(t.token_hash);
  v.Text(t.client_id);
  v.Text(t.subject);
  v.Text(t.user_id);
  v.Text(t.scope);
  v.Text(t.audience);
  v.Text(t.grant_id);
  v.Int(t.auth_time);
  v.Int(t.created_at);
  v.Int(t.expires_at);
  v.Bool(t.revoked);
}

// A device code's user_id is NULL until someone decides; readers read NULL as "".
template <RecordOf<DeviceCodeRecord> R, class V>
void Columns(R& d, V& v) {
  v.Blob(d.device_code_hash);
  v.Blob(d.user_code_hash);
  v.Text(d.client_id);
  v.Text(d.scope);
  v.Text(d.device_info);
  v.Int(d.created_at);
  v.Int(d.expires_at);
  v.Int(d.interval);
  v.Int(d.last_polled_at);
  v.Text(d.status);
  v.Text(d.user_id);
  v.Blob(d.session_id_hash);
  v.Int(d.auth_time);
  v.Text(d.amr);
  v.Text(d.acr);
}

template <RecordOf<ConsentRecord> R, class V>
void Columns(R& c, V& v) {
  v.Text(c.user_id);
  v.Text(c.client_id);
  v.Text(c.scope);
  v.Int(c.created_at);
  v.Int(c.updated_at);
}

template <RecordOf<ThrottleRecord> R, class V>
void Columns(R& t, V& v) {
  v.Text(t.key);
  v.Int(t.failures);
  v.Int(t.last_failure);
  v.Int(t.forget_at);
}

// ColumnReader is the visitor that reads a result row into a record's fields. Row is the store's
// view of one result row: Bytes(i), Int(i) and Bool(i) read column i (NULL as "", 0 and false). A
// list column that does not decode is read as empty and remembered (FailedColumn, Failure).
template <class Row>
class ColumnReader {
 public:
  explicit ColumnReader(const Row& row) : row_(row) {}

  void Text(std::string& v) { v = row_.Bytes(next_++); }
  void Blob(std::string& v) { v = row_.Bytes(next_++); }
  void Int(int64_t& v) { v = row_.Int(next_++); }
  void Bool(bool& v) { v = row_.Bool(next_++); }
  void List(std::vector<std::string>& v);

  std::optional<int> FailedColumn() const { return failed_column_; }
  Error Failure() const { return error_; }

 private:
  const Row& row_;
  int next_ = 0;
  std::optional<int> failed_column_;
  Error error_ = Error::kCorrupt;
};

// EncodeList stores a list as a JSON array of strings.
inline std::string EncodeList(const std::vector<std::string>& values) {
  boost::json::array array;
  array.reserve(values.size());
  for (const auto& v : values) array.emplace_back(boost::json::string_view(v.data(), v.size()));
  return boost::json::serialize(array);
}

// DecodeList parses what EncodeList wrote; kCorrupt for anything else. Invalid UTF-8 is accepted
// because EncodeList passes arbitrary bytes through unchanged.
inline Result<std::vector<std::string>> DecodeList(std::string_view text) {
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  boost::json::value value =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec || !value.is_array()) return Error::kCorrupt;
  std::vector<std::string> out;
  out.reserve(value.get_array().size());
  for (const auto& element : value.get_array()) {
    if (!element.is_string()) return Error::kCorrupt;
    const auto& s = element.get_string();
    out.emplace_back(s.data(), s.size());
  }
  return out;
}

template <class Row>
void ColumnReader<Row>::List(std::vector<std::string>& v) {
  const int column = next_++;
  auto list = DecodeList(row_.Bytes(column));
  if (list) {
    v = std::move(*list);
  } else if (!failed_column_) {
    failed_column_ = column;
    error_ = list.error();
  }
}

}  // namespace latchkey::store::sql
