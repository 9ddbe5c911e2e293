#include "clients/http_client.hpp"

#include "clients/http_exchange.hpp"

#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace hub::clients {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

using detail::AfterExchange;
using detail::Await;
using detail::Fail;

}  // namespace

bool ParseUrl(const std::string& url, ParsedUrl& out, std::string& why) {
  std::string rest;
  if (Lower(url.substr(0, 7)) == "http://") {
    out.https = false;
    rest = url.substr(7);
  } else if (Lower(url.substr(0, 8)) == "https://") {
    out.https = true;
    rest = url.substr(8);
  } else {
    why = "only http:// and https:// URLs can be called";
    return false;
  }
  const size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (const size_t hash = out.target.find('#'); hash != std::string::npos) out.target.resize(hash);
  if (out.target.empty() || out.target[0] != '/') out.target = "/" + out.target;
  if (authority.find('@') != std::string::npos) {
    why = "credentials in the URL are not allowed (use a header)";
    return false;
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      why = "unterminated IPv6 address";
      return false;
    }
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        why = "bad authority";
        return false;
      }
      port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  out.host = Lower(out.host);
  if (out.host.empty()) {
    why = "no host";
    return false;
  }
  if (port.empty()) {
    out.port = out.https ? 443 : 80;
  } else {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
        std::stoi(port) > 65535) {
      why = "port '" + port + "' is not a number from 1 to 65535";
      return false;
    }
    out.port = static_cast<uint16_t>(std::stoi(port));
  }
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      why = "the path holds a space or a control character (encode it)";
      return false;
    }
  return true;
}

bool Allowed(const std::vector<std::string>& allowlist, const std::string& host, bool& exact) {
  exact = false;
  bool wildcard = false;
  for (const auto& raw : allowlist) {
    const std::string entry = Lower(raw);
    if (entry == host) exact = true;
    else if (entry.size() > 2 && entry.compare(0, 2, "*.") == 0 && host.size() > entry.size() - 1 &&
             host.compare(host.size() - (entry.size() - 1), entry.size() - 1, entry.substr(1)) == 0)
      wildcard = true;
  }
  return exact || wildcard;
}

bool InternalAddress(const std::string& address) {
  beast::error_code ec;
  auto a = asio::ip::make_address(address, ec);
  if (ec) return true;  // not an address: never treat it as public
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return InternalAddress(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string());
    const auto b = v6.to_bytes();
    return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() ||
           (b[0] & 0xfe) == 0xfc;  // fc00::/7 unique local
  }
  const uint32_t v = a.to_v4().to_uint();
  auto in = [&](uint32_t net, int bits) { return (v >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0xa9fe0000, 16) || in(0xac100000, 12) ||
         in(0xc0a80000, 16) || in(0x64400000, 10) || in(0xe0000000, 4) || v == 0xffffffff;
}

// A connection to one checked address, with the I/O context it runs on.
// Used by one call at a time; kept alive between calls by ConnectionPool.
struct Connection {
  asio::io_context ioc;
  std::unique_ptr<asio::ssl::context> tls;                      // https
  std::unique_ptr<beast::tcp_stream> plain;                     // http
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;  // https
  Clock::time_point idle_since{};

  HttpOutcome Exchange(const http::request<http::string_body>& req, size_t max_body, Clock::time_point deadline,
                       const std::string& what, AfterExchange& after) {
    return plain ? detail::Exchange(ioc, *plain, req, max_body, deadline, what, after)
                 : detail::Exchange(ioc, *secure, req, max_body, deadline, what, after);
  }
  ~Connection() {
    beast::error_code ignored;
    if (plain) plain->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
};

// Idle keep-alive connections by (scheme, host, port): a call reuses one
// instead of paying for a new TCP (and TLS) connection.  The address was
// checked when the connection was made, so a reused connection needs no
// lookup, and a later answer of the name server cannot redirect it.  Idle
// connections are dropped after kIdleFor: servers close idle connections
// after a few seconds (Node.js after 5), and a request written into a closed
// one is lost time.
class ConnectionPool {
 public:
  static constexpr auto kIdleFor = std::chrono::seconds(4);
  static constexpr size_t kMaxIdle = 256;

  std::unique_ptr<Connection> Take(const std::string& key, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(key);
    while (it != idle_.end() && !it->second.empty()) {
      std::unique_ptr<Connection> c = std::move(it->second.back());
      it->second.pop_back();
      --count_;
      if (now - c->idle_since < kIdleFor) return c;
    }
    return nullptr;
  }

  void Put(const std::string& key, std::unique_ptr<Connection> c, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_ >= kMaxIdle) return;  // dropped (closed)
    c->idle_since = now;
    idle_[key].push_back(std::move(c));
    ++count_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  size_t count_ = 0;
};


HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), pool_(std::make_shared<ConnectionPool>()) {}

HttpOutcome HttpClient::Send(const engine::HttpRequestSpec& request,
                             const std::vector<std::pair<std::string, std::string>>& extra_headers) const {
  std::string url = request.url;
  std::string method = request.method;
  std::string body = request.body;
  // One deadline for the whole call, redirects included.
  const auto deadline = Clock::now() + std::chrono::milliseconds(request.timeout_ms);
  for (int hop = 0;; ++hop) {
    ParsedUrl u;
    std::string why;
    if (!ParseUrl(url, u, why)) return Fail(HttpOutcome::Kind::kRefused, "URL " + url + ": " + why);
    const std::string what = method + " " + url;
    bool exact = false;
    if (!Allowed(options_.allowlist, u.host, exact))
      return Fail(HttpOutcome::Kind::kRefused,
                  what + ": host '" + u.host + "' is not in HUB_HTTP_ALLOWLIST" + (hop ? " (after a redirect)" : ""));
    http::request<http::string_body> req;
    req.method(http::string_to_verb(method));
    req.target(u.target);
    req.version(11);
    const bool default_port = u.port == (u.https ? 443 : 80);
    req.set(http::field::host, (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) +
                                   (default_port ? "" : ":" + std::to_string(u.port)));
    req.set(http::field::user_agent, "hubworker");
    for (const auto& [k, v] : request.headers) req.set(k, v);
    for (const auto& [k, v] : extra_headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body() = body;
      if (req.find(http::field::content_type) == req.end() && !body.empty())
        req.set(http::field::content_type, "application/json");
      req.prepare_payload();
    }

    const std::string key = std::string(u.https ? "https://" : "http://") + u.host + ":" + std::to_string(u.port);
    HttpOutcome outcome;
    AfterExchange after;
    std::unique_ptr<Connection> conn = pool_->Take(key, Clock::now());
    if (conn) {
      outcome = conn->Exchange(req, options_.max_response_bytes, deadline, what, after);
      // The server had closed the idle connection: once more on a new one.
      if (after.nothing_back) conn.reset();
    }
    if (!conn) {
      conn = std::make_unique<Connection>();
      asio::io_context& ioc = conn->ioc;
      // Resolve, under the deadline (an address needs no lookup: asio's
      // asynchronous resolver starts a thread of its own).
      std::vector<tcp::endpoint> endpoints;
      beast::error_code ec;
      const auto literal = asio::ip::make_address(u.host, ec);
      if (!ec) {
        endpoints.emplace_back(literal, u.port);
      } else {
        tcp::resolver resolver(ioc);
        tcp::resolver::results_type results;
        asio::steady_timer timer(ioc, deadline);
        ec = Await(ioc, [&](auto done) {
          timer.async_wait([&](beast::error_code e) {
            if (!e) resolver.cancel();
          });
          resolver.async_resolve(u.host, std::to_string(u.port),
                                 [&, done](beast::error_code e, tcp::resolver::results_type r) {
                                   timer.cancel();
                                   results = std::move(r);
                                   done(e);
                                 });
        });
        if (ec) return Fail(HttpOutcome::Kind::kRetryable, what + ": cannot resolve " + u.host + ": " + ec.message());
        for (const auto& r : results) endpoints.push_back(r.endpoint());
      }
      // Check the addresses, and connect only to the ones checked.
      for (const auto& ep : endpoints) {
        if (InternalAddress(ep.address().to_string()) && !exact)
          return Fail(HttpOutcome::Kind::kRefused,
                      what + ": " + u.host + " resolves to the internal address " + ep.address().to_string() +
                          ", which is called only when listed exactly in HUB_HTTP_ALLOWLIST");
      }
      if (!u.https) {
        conn->plain = std::make_unique<beast::tcp_stream>(ioc);
        conn->plain->expires_at(deadline);
        ec = Await(ioc, [&](auto done) {
          conn->plain->async_connect(endpoints, [done](beast::error_code e, const tcp::endpoint&) { done(e); });
        });
        if (ec) return Fail(HttpOutcome::Kind::kRetryable, what + ": cannot connect: " + ec.message());
      } else {
        conn->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        conn->tls->set_default_verify_paths();
        if (!options_.ca_file.empty()) conn->tls->load_verify_file(options_.ca_file, ec);
        conn->tls->set_verify_mode(asio::ssl::verify_peer);
        conn->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *conn->tls);
        auto& stream = *conn->secure;
        if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()))
          return Fail(HttpOutcome::Kind::kRefused, what + ": cannot set the TLS server name");
        stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
        beast::get_lowest_layer(stream).expires_at(deadline);
        ec = Await(ioc, [&](auto done) {
          beast::get_lowest_layer(stream).async_connect(endpoints,
                                                        [done](beast::error_code e, const tcp::endpoint&) { done(e); });
        });
        if (ec) return Fail(HttpOutcome::Kind::kRetryable, what + ": cannot connect: " + ec.message());
        ec = Await(ioc, [&](auto done) { stream.async_handshake(asio::ssl::stream_base::client, done); });
        if (ec == beast::error::timeout) return Fail(HttpOutcome::Kind::kRetryable, what + ": TLS handshake timed out");
        if (ec) return Fail(HttpOutcome::Kind::kRefused, what + ": TLS handshake failed: " + ec.message());
      }
      outcome = conn->Exchange(req, options_.max_response_bytes, deadline, what, after);
    }
    if (after.reusable) pool_->Put(key, std::move(conn), Clock::now());
    if (outcome.kind != HttpOutcome::Kind::kResponse) return outcome;
    const int s = outcome.response.status;
    if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) return outcome;
    std::string location;
    for (const auto& [k, v] : outcome.response.headers)
      if (Lower(k) == "location") location = v;
    if (location.empty()) return outcome;
    if (hop + 1 > options_.max_redirects)
      return Fail(HttpOutcome::Kind::kRefused, what + ": more than " + std::to_string(options_.max_redirects) + " redirects");
    if (location[0] == '/')
      location = std::string(u.https ? "https://" : "http://") + (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) +
                 ":" + std::to_string(u.port) + location;
    url = location;
    if (s == 303 || ((s == 301 || s == 302) && method == "POST")) {
      method = "GET";
      body.clear();
    }
  }
}

}  // namespace hub::clients
