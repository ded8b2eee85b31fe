// A command-line tool that signs a person in with the device flow (RFC 8628): it shows a short code,
// the person types it at the provider's verification page on a phone or laptop and approves, and
// the tool receives the tokens. Builds against the public SDK only.
//
//   latchkey-example-device ISSUER CLIENT_ID [SCOPE]
//
// SCOPE defaults to "openid profile offline_access". A CLI cannot keep a secret, so the client is
// usually public; a confidential client's secret comes from LATCHKEY_CLIENT_SECRET. Prints one
// "name: value" line per step on stdout:
//
//   user_code: WDJB-MJHT
//   verification_uri: https://id.example.com/device
//   verification_uri_complete: https://id.example.com/device?user_code=WDJB-MJHT
//   signed-in: sub=248289761001
//
// Exit status: 0 signed in; 1 refused (access_denied, expired_token) or any other failure;
// 2 usage; 128 + the signal number when stopped by SIGINT (130, Ctrl-C) or SIGTERM while waiting.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/device_flow.hpp"
#include "latchkey/client/relying_party.hpp"

namespace asio = boost::asio;
namespace client = latchkey::client;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s ISSUER CLIENT_ID [SCOPE] (a secret, if any, in LATCHKEY_CLIENT_SECRET)\n",
                 argv[0]);
    return 2;
  }
  const char* secret = std::getenv("LATCHKEY_CLIENT_SECRET");
  const std::string scope = argc == 4 ? argv[3] : "openid profile offline_access";

  // Ctrl-C while waiting must stop the polling cleanly. A signal handler may do almost nothing
  // (std::stop_source::request_stop is not async-signal-safe), so Asio's signal_set catches the
  // signal and runs the handler on an ordinary thread, which asks DeviceFlow::Wait to stop: it wakes
  // from its sleep at once and returns kCancelled. Installed before anything is printed, so a
  // signal that comes right after the code is shown is never missed.
  std::stop_source stop;
  int stopped_by = 0;
  asio::io_context io(1);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    stopped_by = signal_number;
    stop.request_stop();
  });
  std::thread signal_thread([&io] { io.run(); });

  client::CurlTransport http;
  client::SystemClock clock;
  client::Provider provider({.issuer = argv[1]}, http, clock);
  client::RelyingParty app(provider,
                           {.client_id = argv[2], .client_secret = secret ? secret : "", .scope = scope});
  client::DeviceFlow flow(app);

  auto result = [&]() -> client::Result<client::TokenSet> {
    auto started = flow.Start();
    if (!started) return started.error();
    // Show verification_uri and user_code (a person can type those); verification_uri_complete
    // carries the code too and suits a QR code or a link (RFC 8628 §3.3.1).
    std::printf("user_code: %s\n", started->user_code.c_str());
    std::printf("verification_uri: %s\n", started->verification_uri.c_str());
    if (!started->verification_uri_complete.empty()) {
      std::printf("verification_uri_complete: %s\n", started->verification_uri_complete.c_str());
    }
    std::fflush(stdout);
    // Polls every `interval` seconds (5 more after each slow_down) until the person decides, the
    // code expires or the stop is requested. An ID token, if one comes back, is validated.
    return flow.Wait(*started, stop.get_token());
  }();

  io.stop();
  signal_thread.join();  // after this, stopped_by is safe to read

  if (!result) {
    if (result.error().code == client::ErrorCode::kCancelled) {
      std::printf("cancelled\n");
      return 128 + stopped_by;
    }
    // kOAuth "access_denied": the person said no; "expired_token": nobody answered in time.
    std::printf("error: %s\n", client::Describe(result.error()).c_str());
    return 1;
  }
  if (result->id_claims) {
    std::printf("signed-in: sub=%s\n", result->id_claims->sub.c_str());
  } else {
    std::printf("signed-in: (no ID token; the scope did not include openid)\n");
  }
  std::printf("refresh-token: %s\n", result->refresh_token.empty() ? "no" : "yes");
  return 0;
}
