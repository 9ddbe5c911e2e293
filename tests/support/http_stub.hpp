#pragma once
// A local HTTP/1.1 server for tests of outside calls: listens on 127.0.0.1
// (a free port), answers each request with what the test's handler returns
// (after an optional delay, to play a slow service), and records every
// request it received.  One thread per connection (detached; the destructor
// waits for them); keeps a connection open for further requests when the
// client asks to (HTTP/1.1 keep-alive).
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hub::testing {

class HttpStub {
 public:
  struct Request {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // names lower case
  };
  struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int delay_ms = 0;
    // Answer as if the connection stayed open, then close it: what a server
    // does when its idle timer fires right after an answer.
    bool close_after = false;
  };
  using Handler = std::function<Response(const Request&)>;

  explicit HttpStub(Handler handler);
  // `record` false: requests() stays empty (a benchmark's long run).
  HttpStub(Handler handler, bool record);
  // HTTPS with this certificate and key (PEM files).
  HttpStub(Handler handler, const std::string& cert_file, const std::string& key_file);
  ~HttpStub();
  HttpStub(const HttpStub&) = delete;
  HttpStub& operator=(const HttpStub&) = delete;

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> requests() const;
  // Connections accepted so far (keep-alive reuse shows as fewer than requests).
  int connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
};

// A self-signed certificate for "localhost" and 127.0.0.1 (both as subject
// alternative names), written as PEM to `cert_file` and `key_file`.  Throws
// std::runtime_error when OpenSSL fails.
void WriteSelfSignedCertificate(const std::string& cert_file, const std::string& key_file);

}  // namespace hub::testing
