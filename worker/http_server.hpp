#pragma once
// The operations endpoint: GET /metrics, /healthz, /readyz.
//
//   /metrics  200, text/plain; version=0.0.4, body = metrics_text()
//   /healthz  200 "ok" while the server's thread runs and alive() (if given)
//             returns true; 503 otherwise
//   /readyz   200 "ready" when ready() returns true, else 503 "not ready"
//   other     404; a known path with a method other than GET/HEAD gets 405
//
// Every response carries `Connection: close`.  A client that does not send its
// request within the read timeout (2 s) is dropped; because connections are
// served asynchronously, a stuck client never delays other scrapes.
//
// Threading: the server owns one thread that runs its io_context; the
// callbacks are called on that thread, one at a time, so they must be
// thread-safe with respect to the rest of the program (reading atomics is the
// intended use) and should return quickly.  Construct, port() and Stop() from
// any one thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace hub::worker {

class HttpServer {
 public:
  // Binds host:port at once (port 0 = an ephemeral port, see port()) and starts
  // serving.  `host` is an IP address ("127.0.0.1", "0.0.0.0", "::") or a name
  // that resolves to one.  Throws std::runtime_error naming the address if it
  // cannot be bound.
  HttpServer(const std::string& host, uint16_t port, std::function<std::string()> metrics_text,
             std::function<bool()> ready, std::function<bool()> alive = nullptr);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound.
  uint16_t port() const;

  // Stops accepting, drops open connections and joins the thread.  Idempotent.
  // Must not be called from one of the callbacks (it would join its own thread).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hub::worker
