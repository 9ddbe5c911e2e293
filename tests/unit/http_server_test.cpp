// HttpServer: real requests to 127.0.0.1 on an ephemeral port.
#include "worker/http_server.hpp"

#include <gtest/gtest.h>

#include <future>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>

namespace hub::worker {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct Reply {
  unsigned status = 0;
  std::string content_type;
  std::string connection;
  std::string body;
};

Reply Request(uint16_t port, const std::string& target, http::verb method = http::verb::get) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {res.result_int(), std::string(res[http::field::content_type]), std::string(res[http::field::connection]),
          res.body()};
}

class HttpServerTest : public ::testing::Test {
 protected:
  std::atomic<bool> ready{false};
  HttpServer server{"127.0.0.1", 0, [] { return std::string("hub_up 1\n"); }, [this] { return ready.load(); }};
};

TEST_F(HttpServerTest, BindsAnEphemeralPortWhenAskedForPortZero) { EXPECT_NE(server.port(), 0); }

TEST_F(HttpServerTest, MetricsServesTheExpositionAsPrometheusText) {
  const Reply r = Request(server.port(), "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << r.content_type;
  EXPECT_EQ(r.body, "hub_up 1\n");
  EXPECT_EQ(r.connection, "close");
}

TEST_F(HttpServerTest, HealthzIsOkWhileTheServerRuns) {
  const Reply r = Request(server.port(), "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(HttpServerTest, ReadyzFollowsTheReadyCallback) {
  EXPECT_EQ(Request(server.port(), "/readyz").status, 503u);
  ready = true;
  EXPECT_EQ(Request(server.port(), "/readyz").status, 200u);
  ready = false;
  EXPECT_EQ(Request(server.port(), "/readyz").status, 503u);
}

TEST_F(HttpServerTest, UnknownPathIsNotFound) {
  EXPECT_EQ(Request(server.port(), "/").status, 404u);
  EXPECT_EQ(Request(server.port(), "/metricsx").status, 404u);
}

TEST_F(HttpServerTest, QueryStringIsIgnored) { EXPECT_EQ(Request(server.port(), "/healthz?verbose=1").status, 200u); }

TEST_F(HttpServerTest, PostToAKnownPathIsMethodNotAllowed) {
  EXPECT_EQ(Request(server.port(), "/metrics", http::verb::post).status, 405u);
}

TEST_F(HttpServerTest, StuckClientDoesNotDelayOtherRequests) {
  net::io_context ioc;
  tcp::socket idle(ioc);
  idle.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  net::write(idle, net::buffer(std::string("GET /metr")));  // and then nothing
  EXPECT_EQ(Request(server.port(), "/healthz").status, 200u);
  // Served while the stuck connection is still open: it was not waited out.
  idle.non_blocking(true);
  char c;
  boost::system::error_code ec;
  idle.read_some(net::buffer(&c, 1), ec);
  EXPECT_EQ(ec, net::error::would_block);
}

TEST_F(HttpServerTest, StuckClientIsDisconnectedAfterTheReadTimeout) {
  net::io_context ioc;
  tcp::socket idle(ioc);
  idle.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  // The read returns only when the server closes the connection; wait for
  // that with a deadline (far above the 2 s read timeout).
  auto closed = std::async(std::launch::async, [&] {
    char c;
    boost::system::error_code ec;
    net::read(idle, net::buffer(&c, 1), ec);
    return ec;
  });
  if (closed.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    idle.close();  // unblock the reader so the test can end
    FAIL() << "the server never closed the idle connection";
  }
  EXPECT_EQ(closed.get(), net::error::eof);
}

TEST_F(HttpServerTest, StopClosesThePortAndIsIdempotent) {
  const uint16_t port = server.port();
  server.Stop();
  server.Stop();
  net::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec) << "still accepting after Stop()";
}

TEST(HttpServer, HealthzIsUnavailableWhenTheAliveCallbackSaysNo) {
  std::atomic<bool> alive{false};
  HttpServer s("127.0.0.1", 0, [] { return std::string(); }, [] { return true; }, [&] { return alive.load(); });
  EXPECT_EQ(Request(s.port(), "/healthz").status, 503u);
  alive = true;
  EXPECT_EQ(Request(s.port(), "/healthz").status, 200u);
}

TEST(HttpServer, FailingMetricsCallbackGivesServerErrorAndKeepsServing) {
  HttpServer s("127.0.0.1", 0, []() -> std::string { throw std::runtime_error("boom"); }, [] { return true; });
  EXPECT_EQ(Request(s.port(), "/metrics").status, 500u);
  EXPECT_EQ(Request(s.port(), "/healthz").status, 200u);
}

TEST(HttpServer, BindingAPortInUseThrowsNamingTheAddress) {
  HttpServer first("127.0.0.1", 0, [] { return std::string(); }, [] { return true; });
  try {
    HttpServer second("127.0.0.1", first.port(), [] { return std::string(); }, [] { return true; });
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hub::worker
