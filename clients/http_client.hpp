#pragma once
// The HTTP(S) client of `http_request` steps: what a workflow may call and
// how.  Only hosts on the allowlist (HUB_HTTP_ALLOWLIST: exact names or
// addresses, or "*.example.com" for subdomains); a host that resolves to a
// loopback, private, link-local or otherwise internal address is refused
// unless it is listed exactly (not through a wildcard), and the connection
// goes to the address that was checked (no second lookup).  Redirects are
// followed (at most 5) and every hop is checked again.  HTTPS verifies the
// peer against the system's CAs (plus HUB_HTTP_CA_FILE) and the host name,
// with SNI.  Each call has one deadline for resolve, connect, TLS, write and
// read; the response body is capped.  Thread-safe: a call has a connection
// of its own, a new one or one kept alive from an earlier call to the same
// scheme, host and port (HTTP/1.1 keep-alive; one whose server closed it
// while idle is replaced by a new one for the same call).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/http_step.hpp"

namespace hub::clients {

class ConnectionPool;

struct HttpClientOptions {
  std::vector<std::string> allowlist;
  size_t max_response_bytes = 1 << 20;
  std::string ca_file;  // extra trusted CAs (PEM); empty: the system store only
  int max_redirects = 5;
};

struct HttpOutcome {
  enum class Kind {
    kResponse,   // an answer (any status)
    kRetryable,  // no answer: timeout, connection refused or reset, DNS failure
    kRefused,    // not allowed or not possible: host not listed, internal address, bad URL, TLS, body too large
  };
  Kind kind = Kind::kRetryable;
  engine::HttpResponse response;
  std::string error;
  int64_t retry_after_ms = -1;  // Retry-After (in seconds) of the answer, if any
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  // Blocks for at most request.timeout_ms (per hop).  `extra_headers` are
  // added after the request's own (e.g. Idempotency-Key).
  HttpOutcome Send(const engine::HttpRequestSpec& request,
                   const std::vector<std::pair<std::string, std::string>>& extra_headers = {}) const;

 private:
  HttpClientOptions options_;
  std::shared_ptr<ConnectionPool> pool_;
};

// Exposed for tests.
struct ParsedUrl {
  bool https = false;
  std::string host;  // lower case, without brackets
  uint16_t port = 0;
  std::string target;  // path and query, "/" at least
};
// False (and `why`) for anything but http(s)://host[:port][/path][?query].
bool ParseUrl(const std::string& url, ParsedUrl& out, std::string& why);
// Whether `host` is on `allowlist`; `exact` says it was listed by name or
// address, not through a wildcard.
bool Allowed(const std::vector<std::string>& allowlist, const std::string& host, bool& exact);
// Loopback, private, link-local, CGNAT, unspecified, multicast, broadcast.
bool InternalAddress(const std::string& address);

}  // namespace hub::clients
