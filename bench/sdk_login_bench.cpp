// latchkey-bench-sdk-login: the CPU time the client SDK itself spends on one complete authorization
// code flow login against a running provider.
//
//   LATCHKEY_BENCH_CLIENT_SECRET=... LATCHKEY_BENCH_PASSWORD=... latchkey-bench-sdk-login
//       --issuer URL --client-id ID --redirect-uri URI --username NAME [--logins N]
//
// Per login, in a fresh "browser" (its own cookie jar):
//   1. RelyingParty::BeginAuthorization                    measured (thread CPU time)
//   2. the browser follows the authorization URL: login page, credentials, consent page, until the
//      provider redirects to the redirect URI with the code  NOT measured (a browser does this)
//   3. RelyingParty::CompleteAuthorization with that callback: state and iss checks, the code
//      exchange over HTTP with the libcurl transport, ID token validation    measured
// The measured figure is CLOCK_THREAD_CPUTIME_ID of the calling thread across steps 1 and 3: the
// SDK's own work including libcurl, not the provider's, which runs in another process. The first
// login runs with a cold Provider (it fetches discovery and the JWKS inside step 1 and 3) and is
// reported separately; the others run with both cached. Prints one JSON line on stdout.

#include <strings.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/client/curl_transport.hpp"
#include "latchkey/client/relying_party.hpp"

namespace {

namespace client = latchkey::client;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "latchkey-bench-sdk-login: %s\n", message.c_str());
  std::exit(1);
}

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

std::string DecodeEntities(std::string_view s) {
  static const std::map<std::string, std::string, std::less<>> kNamed = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t end = s[i] == '&' ? s.find(';', i) : std::string_view::npos;
    if (end == std::string_view::npos || end - i > 10) {
      out += s[i];
      continue;
    }
    const std::string_view entity = s.substr(i + 1, end - i - 1);
    if (!entity.empty() && entity[0] == '#') {
      const bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
      const long code = std::strtol(std::string(entity.substr(hex ? 2 : 1)).c_str(), nullptr, hex ? 16 : 10);
      out += static_cast<char>(code);  // the pages escape only ASCII
    } else if (auto it = kNamed.find(entity); it != kNamed.end()) {
      out += it->second;
    } else {
      out += s.substr(i, end - i + 1);
    }
    i = end;
  }
  return out;
}

using Attributes = std::map<std::string, std::string>;

Attributes AttributesOf(const std::string& tag) {
  static const std::regex kAttribute(
      R"re(([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?)re");
  Attributes attributes;
  for (auto it = std::sregex_iterator(tag.begin(), tag.end(), kAttribute); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    std::string name = m[1].str();
    std::ranges::transform(name, name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string value = m[2].matched ? m[2].str() : m[3].matched ? m[3].str() : m[4].str();
    attributes.emplace(std::move(name), DecodeEntities(value));
  }
  return attributes;
}

struct Form {
  Attributes attributes;
  std::vector<Attributes> inputs;
  std::vector<Attributes> buttons;
};

std::vector<Form> FormsOf(const std::string& html) {
  static const std::regex kForm(R"re(<form\b([^>]*)>([\s\S]*?)</form>)re", std::regex::icase);
  static const std::regex kInput(R"re(<input\b([^>]*)>)re", std::regex::icase);
  static const std::regex kButton(R"re(<button\b([^>]*)>)re", std::regex::icase);
  std::vector<Form> forms;
  for (auto f = std::sregex_iterator(html.begin(), html.end(), kForm); f != std::sregex_iterator(); ++f) {
    Form form{AttributesOf((*f)[1].str()), {}, {}};
    const std::string inner = (*f)[2].str();
    for (auto i = std::sregex_iterator(inner.begin(), inner.end(), kInput); i != std::sregex_iterator();
         ++i) {
      form.inputs.push_back(AttributesOf((*i)[1].str()));
    }
    for (auto b = std::sregex_iterator(inner.begin(), inner.end(), kButton); b != std::sregex_iterator();
         ++b) {
      form.buttons.push_back(AttributesOf((*b)[1].str()));
    }
    forms.push_back(std::move(form));
  }
  return forms;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    for (const std::string* part : {&name, &value}) {
      for (unsigned char c : *part) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          out += static_cast<char>(c);
        } else {
          out += '%';
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
      }
      if (part == &name) out += '=';
    }
  }
  return out;
}

// Browser: one person's browser on the provider's pages: a cookie jar (one host, so names only)
// and same-origin redirects.
class Browser {
 public:
  Browser(client::Transport& http, std::string origin, std::string redirect_uri, std::string username,
          std::string password)
      : http_(http),
        origin_(std::move(origin)),
        redirect_uri_(std::move(redirect_uri)),
        username_(std::move(username)),
        password_(std::move(password)) {}

  // SignIn follows `url` through the login and consent pages and returns the redirect to the
  // redirect URI (the callback URL with code, state and iss).
  std::string SignIn(const std::string& url) {
    cookies_.clear();
    client::HttpResponse r = Send("GET", url, "");
    bool signed_in = false;
    for (int step = 0; step < 16; ++step) {
      if (r.status >= 300 && r.status < 400) {
        std::string location(r.HeaderValue("Location").value_or(""));
        if (location.starts_with(redirect_uri_)) return location;
        if (location.starts_with("/")) location = origin_ + location;
        if (!location.starts_with(origin_ + "/")) Die("redirect off the provider: " + location);
        r = Send("GET", location, "");
        continue;
      }
      const auto forms = FormsOf(r.body);
      if (r.status != 200 || forms.size() != 1) {
        Die("unexpected page during sign-in (HTTP " + std::to_string(r.status) +
            "): " + r.body.substr(0, 300));
      }
      const Form& form = forms[0];
      std::vector<std::pair<std::string, std::string>> fields;
      bool login = false;
      for (const auto& input : form.inputs) {
        const auto name = input.find("name");
        if (name == input.end()) continue;
        const auto type_it = input.find("type");
        const std::string type = type_it == input.end() ? "text" : type_it->second;
        const auto value = input.find("value");
        if (type == "password") {
          fields.emplace_back(name->second, password_);
          login = true;
        } else if (type == "text" || type == "email") {
          fields.emplace_back(name->second, username_);
        } else if (type == "hidden") {
          fields.emplace_back(name->second, value == input.end() ? "" : value->second);
        }
      }
      if (login && signed_in) Die("the login page came back after signing in: wrong password?");
      signed_in = signed_in || login;
      for (const auto& button : form.buttons) {  // consent: the "allow" button
        const auto name = button.find("name");
        const auto value = button.find("value");
        if (name != button.end() && value != button.end() && value->second == "allow") {
          fields.emplace_back(name->second, value->second);
        }
      }
      const auto action = form.attributes.find("action");
      std::string target = action == form.attributes.end() ? url : action->second;
      if (target.starts_with("/")) target = origin_ + target;
      r = Send("POST", target, FormEncode(fields));
    }
    Die("sign-in did not finish within 16 steps");
  }

 private:
  client::HttpResponse Send(const std::string& method, const std::string& url, const std::string& body) {
    client::HttpRequest request;
    request.method = method;
    request.url = url;
    request.body = body;
    if (method == "POST") request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    std::string cookie;
    for (const auto& [name, value] : cookies_) cookie += (cookie.empty() ? "" : "; ") + name + "=" + value;
    if (!cookie.empty()) request.headers.emplace_back("Cookie", cookie);
    auto response = http_.Send(request);
    if (!response) Die(method + " " + url + ": " + client::Describe(response.error()));
    for (const auto& [name, value] : response->headers) {
      if (name.size() != 10 || strncasecmp(name.c_str(), "set-cookie", 10) != 0) continue;
      const std::string pair = value.substr(0, value.find(';'));
      const size_t eq = pair.find('=');
      if (eq == std::string::npos) continue;
      std::string lower = value;
      std::ranges::transform(lower, lower.begin(),
                             [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower.find("max-age=0") != std::string::npos) {
        cookies_.erase(pair.substr(0, eq));
      } else {
        cookies_[pair.substr(0, eq)] = pair.substr(eq + 1);
      }
    }
    return std::move(*response);
  }

  client::Transport& http_;
  std::string origin_;
  std::string redirect_uri_;
  std::string username_;
  std::string password_;
  std::map<std::string, std::string> cookies_;
};

double Percentile(std::vector<double> sorted, double p) {
  std::ranges::sort(sorted);
  const size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"--logins", "200"}};
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  const char* secret = std::getenv("LATCHKEY_BENCH_CLIENT_SECRET");
  const char* password = std::getenv("LATCHKEY_BENCH_PASSWORD");
  const int logins = std::atoi(flags["--logins"].c_str());
  if (argc % 2 == 0 || flags["--issuer"].empty() || flags["--client-id"].empty() ||
      flags["--redirect-uri"].empty() || flags["--username"].empty() || password == nullptr || logins < 2) {
    std::fprintf(stderr,
                 "usage: LATCHKEY_BENCH_CLIENT_SECRET=... LATCHKEY_BENCH_PASSWORD=... %s --issuer URL "
                 "--client-id ID --redirect-uri URI --username NAME [--logins N >= 2]\n",
                 argv[0]);
    return 2;
  }
  const std::string issuer = flags["--issuer"];
  const std::string origin = issuer.substr(0, issuer.find('/', issuer.find("://") + 3));

  client::CurlTransport sdk_http;
  client::SystemClock clock;
  client::Provider provider({.issuer = issuer}, sdk_http, clock);
  client::RelyingParty app(provider, {.client_id = flags["--client-id"],
                                      .client_secret = secret == nullptr ? "" : secret,
                                      .redirect_uri = flags["--redirect-uri"],
                                      .scope = "openid"});
  client::CurlTransport browser_http;  // the person's browser: its own connections
  Browser browser(browser_http, origin, flags["--redirect-uri"], flags["--username"], password);

  std::vector<double> begin_ms;
  std::vector<double> complete_ms;
  std::vector<double> total_ms;
  for (int i = 0; i < logins; ++i) {
    const double t0 = ThreadCpuMs();
    auto pending = app.BeginAuthorization();
    const double t1 = ThreadCpuMs();
    if (!pending) Die("BeginAuthorization: " + client::Describe(pending.error()));
    const std::string callback = browser.SignIn(pending->url);
    const double t2 = ThreadCpuMs();
    auto tokens = app.CompleteAuthorization(*pending, callback);
    const double t3 = ThreadCpuMs();
    if (!tokens) Die("CompleteAuthorization: " + client::Describe(tokens.error()));
    if (!tokens->id_claims || tokens->id_claims->sub.empty()) Die("no validated ID token");
    begin_ms.push_back(t1 - t0);
    complete_ms.push_back(t3 - t2);
    total_ms.push_back(t1 - t0 + t3 - t2);
  }

  // The first login fetched discovery and the JWKS; the rest ran with both cached.
  const std::vector<double> warm(total_ms.begin() + 1, total_ms.end());
  const auto mean = [](const std::vector<double>& v, size_t from) {
    return std::accumulate(v.begin() + static_cast<long>(from), v.end(), 0.0) /
           static_cast<double>(v.size() - from);
  };
  std::printf(
      "{\"impl\":\"latchkey\",\"scenario\":\"sdk-login\",\"logins\":%zu,\"cold_ms\":%.4f,\"mean_ms\":%.4f,"
      "\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f,\"begin_mean_ms\":%.4f,\"complete_mean_ms\":%.4f,"
      "\"cold_begin_ms\":%.4f,\"cold_complete_ms\":%.4f}\n",
      warm.size(), total_ms[0], mean(total_ms, 1), Percentile(warm, 0.5), Percentile(warm, 0.99),
      *std::ranges::max_element(warm), mean(begin_ms, 1), mean(complete_ms, 1), begin_ms[0], complete_ms[0]);
  return 0;
}
