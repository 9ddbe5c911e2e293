// libFuzzer target: what the HTTP client reads back from a server, on any
// bytes.  The input is what the "server" sends (then it closes); the client's
// own exchange code (clients/http_exchange.hpp, the code every http_request
// step and model call runs) reads it over a socket pair with a small body
// cap.  The contract: an outcome of one of the three kinds, never a crash, a
// hang or a sanitizer report; a response's body never over the cap; and the
// node output made from a response is valid JSON.
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <rapidjson/document.h>

#include "clients/http_exchange.hpp"
#include "engine/http_step.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using hub::clients::HttpOutcome;
using Local = asio::local::stream_protocol;

constexpr size_t kMaxBody = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The kernel's socket buffer must hold the whole answer before the client
  // reads (one thread); libFuzzer's inputs stay far below it.
  if (size > 64 * 1024) return 0;
  asio::io_context ioc;
  Local::socket server(ioc), client(ioc);
  asio::local::connect_pair(server, client);
  asio::write(server, asio::buffer(data, size));
  server.shutdown(Local::socket::shutdown_send);

  beast::basic_stream<Local> stream(std::move(client));
  http::request<http::string_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, "fuzz.example");
  req.prepare_payload();
  hub::clients::detail::AfterExchange after;
  const HttpOutcome o = hub::clients::detail::Exchange(ioc, stream, req, kMaxBody,
                                                       std::chrono::steady_clock::now() + std::chrono::seconds(5),
                                                       "fuzz", after);
  switch (o.kind) {
    case HttpOutcome::Kind::kResponse: {
      if (o.response.body.size() > kMaxBody) std::abort();
      const std::string output = hub::engine::HttpNodeOutput(o.response);
      rapidjson::Document d;
      d.Parse(output.c_str(), output.size());
      if (d.HasParseError() || !d.IsObject()) std::abort();
      break;
    }
    case HttpOutcome::Kind::kRetryable:
    case HttpOutcome::Kind::kRefused:
      if (o.error.empty()) std::abort();
      break;
  }
  return 0;
}
