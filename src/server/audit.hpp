#pragma once

// Audit: one structured event per security-relevant action (sign-in, consent, token issue and
// revocation, logout, admin changes), with the request id and the caller's address, written to the
// audit destination (`audit.destination`). Never a secret, token, code or password.

#include <string_view>

#include <boost/json/object.hpp>

#include "common/log.hpp"
#include "http/message.hpp"

namespace latchkey::server {

inline void Audit(std::string_view event, const http::Request& request, boost::json::object fields = {}) {
  fields["request_id"] = request.request_id;
  fields["remote_address"] = request.remote_address;
  // Through a trusted reverse proxy: which proxy it came through, beside the client it names.
  if (!request.peer_address.empty() && request.peer_address != request.remote_address) {
    fields["peer_address"] = request.peer_address;
  }
  common::LogAudit(event, std::move(fields));
}

}  // namespace latchkey::server
