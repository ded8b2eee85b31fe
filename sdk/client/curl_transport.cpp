#include "latchkey/client/curl_transport.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "common/strings.hpp"

namespace latchkey::client {
namespace {

// kMaxIdleHandles: how many idle easy handles (each with its open connections) a transport keeps.
// More threads than this may send at once; the extra handles are closed when they finish.
constexpr size_t kMaxIdleHandles = 8;

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

Error Fail(ErrorCode code, std::string message) {
  Error error;
  error.code = code;
  error.message = std::move(message);
  return error;
}

// GlobalInit runs curl_global_init once per process and returns its result. It is not thread-safe
// in libcurl, hence call_once; it is never undone (curl_global_cleanup would pull the rug from
// under any other libcurl user in the process).
CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

// Target: a parsed request URL and the part of it that may appear in messages.
struct Target {
  UrlHandle url;
  std::string origin;  // scheme://host:port, nothing else
};

std::string UrlPart(CURLU* url, CURLUPart part, unsigned int flags) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, flags) != CURLUE_OK) return "";
  CurlString owned(raw);
  return owned ? std::string(owned.get()) : std::string();
}

// ParseTarget parses `url` with libcurl's own parser, and the parsed handle is what gets fetched:
// the URL that was checked is the URL that is used, with no second parser to disagree with this one.
Result<Target> ParseTarget(const std::string& url) {
  // A URL never holds spaces or control characters (RFC 3986 §2). Refused here, whatever the
  // libcurl version and its parser flags would make of them: c_str() would cut the URL at a NUL
  // and fetch something else.
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return Fail(ErrorCode::kInvalidArgument, "the URL contains a space or a control character");
  }
  // libcurl reads "http:/host" and "http:///host" as "http://host"; only the RFC 3986 form
  // "scheme://authority" is accepted, so that the URL means what it says.
  const size_t colon = url.find(':');
  if (colon == std::string::npos || url.compare(colon, 3, "://") != 0 || url.size() == colon + 3 ||
      url[colon + 3] == '/') {
    return Fail(ErrorCode::kInvalidArgument, "the URL is not an absolute http or https URL");
  }
  UrlHandle handle(curl_url());
  if (!handle) return Fail(ErrorCode::kTransport, "libcurl could not allocate a URL handle");
  // No CURLU_DEFAULT_SCHEME or CURLU_GUESS_SCHEME: a relative or scheme-less URL is an error.
  if (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Fail(ErrorCode::kInvalidArgument, "the URL is not an absolute http or https URL");
  }
  std::string scheme = common::ToLower(UrlPart(handle.get(), CURLUPART_SCHEME, 0));
  // file://, ftp://, ... would let whoever controls a URL (a discovery document, say) read local
  // files or reach other services.
  if (scheme != "http" && scheme != "https") {
    return Fail(ErrorCode::kInvalidArgument, "the URL scheme is not http or https");
  }
  std::string host = UrlPart(handle.get(), CURLUPART_HOST, 0);
  if (host.empty()) return Fail(ErrorCode::kInvalidArgument, "the URL has no host");
  std::string port = UrlPart(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  return Target{std::move(handle), scheme + "://" + host + ":" + port};
}

// IsToken: RFC 9110 §5.6.2 token = 1*tchar
//   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//           / DIGIT / ALPHA
bool IsToken(std::string_view text) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

bool HasHeader(const std::vector<Header>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const Header& header) { return common::EqualsIgnoreCase(header.first, name); });
}

// BuildHeaderList renders the request headers for CURLOPT_HTTPHEADER, after checking them: a CR or
// LF in a value would let the value end the header and inject others (or a second request).
Result<HeaderList> BuildHeaderList(const HttpRequest& request, bool sends_body) {
  std::vector<std::string> lines;
  lines.reserve(request.headers.size() + 2);
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name)) return Fail(ErrorCode::kInvalidArgument, "a request header name is not a token");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, "the value of request header " + name + " has CR, LF or NUL");
    }
    // libcurl reads "Name:" as "remove this header"; "Name;" is how to send an empty one.
    lines.push_back(value.empty() ? name + ";" : name + ": " + value);
  }
  // libcurl would otherwise send "Expect: 100-continue" before larger bodies and wait up to a
  // second for an interim answer many servers never send.
  if (!HasHeader(request.headers, "Expect")) lines.emplace_back("Expect:");
  // libcurl would otherwise label every body application/x-www-form-urlencoded.
  if (sends_body && !HasHeader(request.headers, "Content-Type")) lines.emplace_back("Content-Type:");

  HeaderList list;
  for (const auto& line : lines) {
    curl_slist* head = curl_slist_append(list.get(), line.c_str());
    if (head == nullptr) return Fail(ErrorCode::kTransport, "libcurl could not allocate a header list");
    (void)list.release();  // `head` is the same list, grown by one
    list.reset(head);
  }
  return list;
}

// Exchange: what the callbacks collect during one transfer.
struct Exchange {
  size_t limit = 0;
  std::vector<Header> headers;
  size_t header_bytes = 0;
  bool headers_too_large = false;
  std::string body;
  bool body_too_large = false;
};

// OnHeader receives one whole header line (CRLF included) at a time. libcurl passes the header
// blocks of every response it reads: 1xx interim responses, a proxy's CONNECT answer, then the
// final response. Each starts with a status line, which drops what was collected so far.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const size_t length = size * count;
  std::string_view line(data, length);
  if (line.starts_with("HTTP/")) {
    exchange.headers.clear();
    exchange.header_bytes = 0;
    return length;
  }
  if (length > exchange.limit - exchange.header_bytes) {
    exchange.headers_too_large = true;
    return 0;  // anything but `length` aborts the transfer
  }
  exchange.header_bytes += length;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return length;  // the blank line that ends a block
  if (line.front() == ' ' || line.front() == '\t') {
    // obs-fold (RFC 9112 §5.2): a continuation of the previous field value, replaced by a space.
    if (!exchange.headers.empty()) {
      exchange.headers.back().second += ' ';
      exchange.headers.back().second += common::Trim(line);
    }
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;  // not a field (libcurl already rejects most)
  exchange.headers.emplace_back(std::string(line.substr(0, colon)),
                                std::string(common::Trim(line.substr(colon + 1))));
  return length;
}

// OnBody appends body bytes, up to the limit. Past it the transfer is aborted rather than the body
// truncated: a truncated JSON document or JWKS must not be mistaken for a whole one.
size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const size_t length = size * count;
  if (length > exchange.limit - exchange.body.size()) {
    exchange.body_too_large = true;
    return 0;
  }
  exchange.body.append(data, length);
  return length;
}

// Options collects curl_easy_setopt calls and keeps the first failure, so that a security option
// that did not take (verification, protocols) fails the request instead of being ignored.
class Options {
 public:
  explicit Options(CURL* handle) : handle_(handle) {}
  template <class T>
  void Set(CURLoption option, T value) {
    if (result_ == CURLE_OK) result_ = curl_easy_setopt(handle_, option, value);
  }
  CURLcode FirstError() const { return result_; }

 private:
  CURL* handle_;
  CURLcode result_ = CURLE_OK;
};

long Milliseconds(std::chrono::milliseconds duration) {
  return static_cast<long>(std::min<std::chrono::milliseconds::rep>(duration.count(), LONG_MAX));
}

}  // namespace

// Pool: idle easy handles. A handle keeps its connection cache (and TLS sessions and DNS cache)
// across curl_easy_reset, so putting it back keeps its connections open for the next request.
struct CurlTransport::Pool {
  std::mutex mutex;
  std::vector<EasyHandle> idle;

  // Take returns an idle handle, or a new one; null when libcurl cannot allocate one.
  EasyHandle Take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        EasyHandle handle = std::move(idle.back());
        idle.pop_back();
        return handle;
      }
    }
    return EasyHandle(curl_easy_init());
  }

  // Give resets `handle` (dropping every pointer into the finished request) and keeps it idle, or
  // closes it when enough are idle already.
  void Give(EasyHandle handle) {
    curl_easy_reset(handle.get());
    std::lock_guard lock(mutex);
    if (idle.size() < kMaxIdleHandles) idle.push_back(std::move(handle));
  }

  // Lease gives a taken handle back on every path out of Send.
  class Lease {
   public:
    Lease(Pool& pool, EasyHandle handle) : pool_(pool), handle_(std::move(handle)) {}
    ~Lease() { pool_.Give(std::move(handle_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CURL* Get() const { return handle_.get(); }

   private:
    Pool& pool_;
    EasyHandle handle_;
  };
};

CurlTransport::CurlTransport(CurlOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  GlobalInit();
}

CurlTransport::~CurlTransport() = default;

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  if (CURLcode init = GlobalInit(); init != CURLE_OK) {
    return Fail(ErrorCode::kTransport,
                std::string("libcurl initialisation failed: ") + curl_easy_strerror(init));
  }
  auto target = ParseTarget(request.url);
  if (!target) return target.error();
  // The method goes verbatim into the request line: anything but a token could smuggle a space,
  // a CRLF and a second request into it.
  if (!IsToken(request.method)) return Fail(ErrorCode::kInvalidArgument, "the method is not an HTTP token");
  const bool head = request.method == "HEAD";
  if (head && !request.body.empty()) return Fail(ErrorCode::kInvalidArgument, "a HEAD request has a body");
  const bool sends_body = !request.body.empty() || request.method == "POST";
  auto headers = BuildHeaderList(request, sends_body);
  if (!headers) return headers.error();

  EasyHandle fresh = pool_->Take();
  if (!fresh) return Fail(ErrorCode::kTransport, "libcurl could not allocate a handle");
  Exchange exchange;
  exchange.limit = options_.max_response_bytes;
  // Declared after everything the handle will point to, so it is reset and pooled before they go.
  Pool::Lease handle(*pool_, std::move(fresh));

  Options set(handle.Get());
  set.Set(CURLOPT_CURLU, target->url.get());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
  set.Set(CURLOPT_PROTOCOLS_STR, "http,https");
  set.Set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  set.Set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  set.Set(CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  // Redirects are answers, not instructions: following one from a token endpoint would resend the
  // grant and client credentials to wherever the Location points.
  set.Set(CURLOPT_FOLLOWLOCATION, 0L);
  // Signals are process-wide; with many threads a SIGALRM-based DNS timeout is unsafe.
  set.Set(CURLOPT_NOSIGNAL, 1L);
  set.Set(CURLOPT_SSL_VERIFYPEER, 1L);
  set.Set(CURLOPT_SSL_VERIFYHOST, 2L);
  set.Set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) set.Set(CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.ca_path.empty()) set.Set(CURLOPT_CAPATH, options_.ca_path.c_str());
  if (!options_.proxy.empty()) set.Set(CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.no_proxy.empty()) set.Set(CURLOPT_NOPROXY, options_.no_proxy.c_str());
  set.Set(CURLOPT_CONNECTTIMEOUT_MS, Milliseconds(options_.connect_timeout));
  set.Set(CURLOPT_TIMEOUT_MS, Milliseconds(options_.timeout));
  // Refuses a too-large answer up front when it announces its Content-Length.
  if (options_.max_response_bytes <= static_cast<size_t>(std::numeric_limits<curl_off_t>::max())) {
    set.Set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
  }
  if (!options_.user_agent.empty()) set.Set(CURLOPT_USERAGENT, options_.user_agent.c_str());
  set.Set(CURLOPT_HTTPHEADER, headers->get());
  set.Set(CURLOPT_HEADERFUNCTION, &OnHeader);
  set.Set(CURLOPT_HEADERDATA, static_cast<void*>(&exchange));
  set.Set(CURLOPT_WRITEFUNCTION, &OnBody);
  set.Set(CURLOPT_WRITEDATA, static_cast<void*>(&exchange));
  if (head) {
    set.Set(CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    set.Set(CURLOPT_POST, 1L);
    set.Set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set.Set(CURLOPT_POSTFIELDS, request.body.data());
    if (request.method != "POST") set.Set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method == "GET") {
    set.Set(CURLOPT_HTTPGET, 1L);
  } else {
    set.Set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (set.FirstError() != CURLE_OK) {
    return Fail(ErrorCode::kTransport,
                std::string("libcurl refused an option: ") + curl_easy_strerror(set.FirstError()));
  }

  const CURLcode result = curl_easy_perform(handle.Get());
  const std::string limit_text = std::to_string(options_.max_response_bytes);
  if (exchange.body_too_large || result == CURLE_FILESIZE_EXCEEDED) {
    return Fail(ErrorCode::kTransport, "response larger than " + limit_text + " bytes");
  }
  if (exchange.headers_too_large) {
    return Fail(ErrorCode::kTransport, "response headers larger than " + limit_text + " bytes");
  }
  if (result != CURLE_OK) {
    // Only the origin: the path and query may carry a code, a token or a client secret.
    return Fail(ErrorCode::kTransport, std::string(curl_easy_strerror(result)) + " (" + target->origin + ")");
  }
  long status = 0;
  curl_easy_getinfo(handle.Get(), CURLINFO_RESPONSE_CODE, &status);
  HttpResponse response;
  response.status = static_cast<int>(status);
  response.headers = std::move(exchange.headers);
  response.body = std::move(exchange.body);
  return response;
}

}  // namespace latchkey::client
