// A small HTTP API protected by access tokens from any OpenID provider: GET /invoices needs the
// scope "invoices:read", everything else 404. Tokens are validated with latchkey::validator
// (JWT access tokens locally, opaque ones by introspection when credentials are given) and
// refusals get the RFC 6750 answers through the Boost.Beast adapter.
//
//   latchkey-example-api ISSUER AUDIENCE PORT [INTROSPECTION_CLIENT_ID]
//   (the introspection client's secret comes from LATCHKEY_CLIENT_SECRET)
//
// Prints "listening PORT" once it accepts connections and serves one connection at a time until
// it is stopped (SIGTERM).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "latchkey/client/curl_transport.hpp"
#include "latchkey/validator/beast.hpp"
#include "latchkey/validator/validator.hpp"

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace client = latchkey::client;
namespace validator = latchkey::validator;

namespace {

http::response<http::string_body> Handle(const http::request<http::string_body>& request,
                                         validator::Validator& api) {
  http::response<http::string_body> response{http::status::not_found, request.version()};
  response.set(http::field::content_type, "application/json");
  response.body() = R"({"error":"not_found"})";
  if (request.target() == "/invoices" && request.method() == http::verb::get) {
    static const std::vector<std::string> kNeeds = {"invoices:read"};
    auto outcome = validator::AuthorizeRequest(request, api, "invoices", kNeeds);
    if (auto* refusal = std::get_if<validator::BeastResponse>(&outcome)) return std::move(*refusal);
    const auto& claims = std::get<validator::AccessTokenClaims>(outcome);
    response.result(http::status::ok);
    response.body() = R"({"invoices":[],"for":")" + claims.sub + "\"}";
  }
  response.prepare_payload();
  return response;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s ISSUER AUDIENCE PORT [INTROSPECTION_CLIENT_ID]\n", argv[0]);
    return 2;
  }
  client::CurlTransport http_client;
  client::SystemClock clock;
  client::Provider provider({.issuer = argv[1]}, http_client, clock);
  validator::ValidatorOptions options;
  options.audience = argv[2];
  if (argc == 5) {
    const char* secret = std::getenv("LATCHKEY_CLIENT_SECRET");
    options.introspection.client_id = argv[4];
    options.introspection.client_secret = secret ? secret : "";
  }
  validator::Validator api(provider, options);

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[3]))});
  std::printf("listening %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  for (;;) {
    asio::ip::tcp::socket socket(io);
    acceptor.accept(socket);
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) break;
      auto response = Handle(request, api);
      response.keep_alive(request.keep_alive());
      http::write(socket, response, ec);
      if (ec || !request.keep_alive()) break;
    }
  }
}
