#pragma once
// One HTTP/1.1 request and its response over an already connected stream
// (plain TCP or TLS): the part of the HTTP client that reads what a server
// sends back, in a header of its own so that the HTTP response fuzz target
// (tests/fuzz/http_response_fuzz.cpp) runs exactly this code.
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "clients/http_client.hpp"

namespace hub::clients::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

// Runs one asynchronous operation to its end on `ioc`.
inline beast::error_code Await(asio::io_context& ioc,
                               const std::function<void(std::function<void(beast::error_code)>)>& op) {
  beast::error_code result = asio::error::would_block;
  op([&](beast::error_code ec) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

inline HttpOutcome Fail(HttpOutcome::Kind kind, std::string why) {
  HttpOutcome o;
  o.kind = kind;
  o.error = std::move(why);
  return o;
}

inline int64_t RetryAfterMs(const http::response<http::string_body>& res) {
  auto it = res.find(http::field::retry_after);
  if (it == res.end()) return -1;
  const std::string v(it->value());
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) return -1;  // HTTP dates not taken
  return std::stoll(v) * 1000;
}

// How an exchange left its connection.
struct AfterExchange {
  bool reusable = false;       // the whole answer was read and the server keeps the connection open
  bool nothing_back = false;   // failed before a byte of an answer came (a connection the server had closed)
};

// One request to one already-checked address.
// `Stream` is a beast::basic_stream or an SSL stream over one.
template <class Stream>
HttpOutcome Exchange(asio::io_context& ioc, Stream& stream, const http::request<http::string_body>& req,
                     size_t max_body, Clock::time_point deadline, const std::string& what, AfterExchange& after) {
  after = AfterExchange{};
  beast::get_lowest_layer(stream).expires_at(deadline);
  beast::error_code ec = Await(ioc, [&](auto done) {
    http::async_write(stream, req, [done](beast::error_code e, size_t) { done(e); });
  });
  if (ec) {
    after.nothing_back = ec != beast::error::timeout;
    return Fail(HttpOutcome::Kind::kRetryable, what + ": sending the request failed: " + ec.message());
  }
  // The cap is checked here, as the body arrives: Boost 1.74's parser does
  // not enforce its own body_limit (a numeric limit lets larger bodies pass,
  // boost::none refuses every body).
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  const std::string too_large = what + ": the response body is over " + std::to_string(max_body) + " bytes";
  ec = Await(ioc, [&](auto done) {
    http::async_read_header(stream, buffer, parser, [done](beast::error_code e, size_t) { done(e); });
  });
  if (ec && ec != beast::error::timeout && !parser.got_some() && buffer.size() == 0) after.nothing_back = true;
  if (!ec && parser.content_length() && *parser.content_length() > max_body)
    return Fail(HttpOutcome::Kind::kRefused, too_large);
  while (!ec && !parser.is_done()) {
    ec = Await(ioc, [&](auto done) {
      http::async_read_some(stream, buffer, parser, [done](beast::error_code e, size_t) { done(e); });
    });
    if (parser.get().body().size() > max_body) return Fail(HttpOutcome::Kind::kRefused, too_large);
  }
  if (ec == beast::error::timeout) return Fail(HttpOutcome::Kind::kRetryable, what + ": timed out");
  if (ec) return Fail(HttpOutcome::Kind::kRetryable, what + ": reading the response failed: " + ec.message());
  const auto& res = parser.get();
  HttpOutcome o;
  o.kind = HttpOutcome::Kind::kResponse;
  o.response.status = static_cast<int>(res.result_int());
  for (const auto& f : res) o.response.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  o.response.body = res.body();
  o.retry_after_ms = RetryAfterMs(res);
  after.reusable = res.keep_alive() && buffer.size() == 0;
  beast::get_lowest_layer(stream).expires_never();
  return o;
}

}  // namespace hub::clients::detail
