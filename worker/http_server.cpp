#include "worker/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/log.hpp"

namespace hub::worker {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto kReadTimeout = std::chrono::seconds(2);
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr std::uint64_t kBodyLimit = 16 * 1024;  // requests here have no body

struct Handlers {
  std::function<std::string()> metrics_text;
  std::function<bool()> ready;
  std::function<bool()> alive;
};

http::response<http::string_body> Respond(const Handlers& h, const http::request<http::string_body>& req) {
  std::string target(req.target());
  if (auto q = target.find('?'); q != std::string::npos) target.resize(q);

  http::status status = http::status::ok;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  const bool known = target == "/metrics" || target == "/healthz" || target == "/readyz";
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;

  if (!known) {
    status = http::status::not_found;
    body = "not found\n";
  } else if (!get) {
    status = http::status::method_not_allowed;
    body = "method not allowed\n";
  } else if (target == "/metrics") {
    try {
      body = h.metrics_text();
      content_type = "text/plain; version=0.0.4; charset=utf-8";
    } catch (const std::exception& e) {
      common::LogError("http: collecting metrics failed", {{"error", e.what()}});
      status = http::status::internal_server_error;
      body = "collecting metrics failed\n";
    }
  } else if (target == "/healthz") {
    const bool alive = !h.alive || h.alive();
    status = alive ? http::status::ok : http::status::service_unavailable;
    body = alive ? "ok\n" : "not alive\n";
  } else {  // /readyz
    const bool ready = h.ready && h.ready();
    status = ready ? http::status::ok : http::status::service_unavailable;
    body = ready ? "ready\n" : "not ready\n";
  }

  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "hubworker");
  res.set(http::field::content_type, content_type);
  if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
  res.keep_alive(false);  // Connection: close
  const auto size = body.size();
  if (req.method() != http::verb::head) res.body() = std::move(body);
  res.content_length(size);
  return res;
}

// One connection: read one request (within kReadTimeout), answer, close.
// Lives as long as a handler holds it; runs on the server thread only.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Handlers& h) : stream_(std::move(socket)), handlers_(h) {
    parser_.body_limit(kBodyLimit);
  }

  void Start() {
    stream_.expires_after(kReadTimeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) {
      // Timeouts, resets and malformed requests: the client gets nothing more.
      if (ec != http::error::end_of_stream && ec != beast::error::timeout)
        common::LogDebug("http: read failed", {{"error", ec.message()}});
      return Close();
    }
    response_ = Respond(handlers_, parser_.get());
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) common::LogDebug("http: write failed", {{"error", ec.message()}});
      self->Close();
    });
  }

  void Close() {
    beast::error_code ignored;  // the peer may already be gone; nothing to do about it
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  const Handlers& handlers_;  // owned by the server, which outlives its io_context's handlers
};

tcp::endpoint Resolve(net::io_context& ioc, const std::string& host, uint16_t port) {
  beast::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (!ec) return {addr, port};
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    throw std::runtime_error("http: cannot resolve '" + host + "': " + (ec ? ec.message() : "no address"));
  return results.begin()->endpoint();
}

}  // namespace

struct HttpServer::Impl {
  Handlers handlers;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry_timer{ioc};
  std::thread thread;
  uint16_t port = 0;
  bool stopped = false;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;  // Stop()
      if (ec) {
        // E.g. out of file descriptors: log, back off briefly, keep serving.
        common::LogWarn("http: accept failed", {{"error", ec.message()}});
        retry_timer.expires_after(std::chrono::milliseconds(100));
        retry_timer.async_wait([this](beast::error_code e) {
          if (!e) Accept();
        });
        return;
      }
      std::make_shared<Session>(std::move(socket), handlers)->Start();
      Accept();
    });
  }

  void Run() {
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw (e.g. std::bad_alloc); keep the endpoint up.
        common::LogError("http: handler failed", {{"error", e.what()}});
      }
    }
  }
};

HttpServer::HttpServer(const std::string& host, uint16_t port, std::function<std::string()> metrics_text,
                       std::function<bool()> ready, std::function<bool()> alive)
    : impl_(std::make_unique<Impl>()) {
  impl_->handlers = Handlers{std::move(metrics_text), std::move(ready), std::move(alive)};
  const tcp::endpoint ep = Resolve(impl_->ioc, host, port);
  beast::error_code ec;
  auto fail = [&](const char* what) {
    throw std::runtime_error(std::string("http: ") + what + " " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  };
  impl_->acceptor.open(ep.protocol(), ec);
  if (ec) fail("cannot open socket for");
  impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail("cannot set SO_REUSEADDR on");
  impl_->acceptor.bind(ep, ec);
  if (ec) fail("cannot bind");
  impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("cannot listen on");
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
  common::LogInfo("http server listening", {{"address", host}, {"port", impl_->port}});
}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  net::dispatch(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;  // closing an acceptor only fails if it is already closed
    impl->acceptor.close(ignored);
    impl->retry_timer.cancel();
    impl->ioc.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace hub::worker
