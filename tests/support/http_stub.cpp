#include "tests/support/http_stub.hpp"

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace hub::testing {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
}  // namespace

struct HttpStub::Impl {
  Handler handler;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::mutex mu;
  std::vector<Request> requests;
  std::vector<std::thread> connections;
  std::atomic<bool> stopping{false};

  void Serve(tcp::socket socket) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    {
      std::lock_guard<std::mutex> l(mu);
      requests.push_back(r);
    }
    Response out = handler(r);
    if (out.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(out.delay_ms));
    http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.body() = out.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
};

HttpStub::HttpStub(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([impl = impl_.get()] {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket(impl->ioc);
      impl->acceptor.accept(socket, ec);
      if (impl->stopping) return;
      if (ec) continue;
      std::lock_guard<std::mutex> l(impl->mu);
      impl->connections.emplace_back([impl, s = std::move(socket)]() mutable { impl->Serve(std::move(s)); });
    }
  });
}

HttpStub::~HttpStub() {
  impl_->stopping = true;
  beast::error_code ec;
  // Wake the blocking accept with a connection of our own, then close.
  tcp::socket poke(impl_->ioc);
  poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  impl_->accept_thread.join();
  impl_->acceptor.close(ec);
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    connections.swap(impl_->connections);
  }
  for (auto& t : connections) t.join();
}

std::vector<HttpStub::Request> HttpStub::requests() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->requests;
}

}  // namespace hub::testing
