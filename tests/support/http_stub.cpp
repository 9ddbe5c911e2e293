#include "tests/support/http_stub.hpp"

#include <chrono>

#include <cstdio>
#include <set>

#include <sys/socket.h>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

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
  bool record = true;
  int active = 0;  // connections being served (under mu)
  int accepted = 0;  // connections accepted so far (under mu)
  std::set<int> open_fds;  // sockets of connections being served (under mu)
  std::condition_variable idle;
  std::atomic<bool> stopping{false};
  std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP

  // Unlists a connection's socket before it is closed (declared after the
  // stream, so destroyed first): the destructor never shuts down a number
  // that was closed and reused meanwhile.
  struct Unlist {
    Impl* impl;
    int fd;
    ~Unlist() {
      std::lock_guard<std::mutex> l(impl->mu);
      impl->open_fds.erase(fd);
    }
  };

  void Serve(tcp::socket socket) {
    const int fd = socket.native_handle();
    if (!tls) {
      Unlist unlist{this, fd};
      while (Exchange(socket)) {
      }
      beast::error_code ec;
      socket.shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    beast::ssl_stream<tcp::socket> stream(std::move(socket), *tls);
    Unlist unlist{this, fd};
    beast::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;  // e.g. the client refused our certificate
    while (Exchange(stream)) {
    }
    stream.shutdown(ec);
  }

  // One request and its answer; true when the connection stays open for
  // another (the client asked to keep it alive).
  template <class Stream>
  bool Exchange(Stream& socket) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec || stopping) return false;
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    if (record) {
      std::lock_guard<std::mutex> l(mu);
      requests.push_back(r);
    }
    Response out = handler(r);
    if (out.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(out.delay_ms));
    http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.body() = out.body;
    const bool again = req.keep_alive() && !stopping;
    res.keep_alive(again);
    res.prepare_payload();
    http::write(socket, res, ec);
    return again && !ec && !out.close_after;
  }
};

HttpStub::HttpStub(Handler handler, const std::string& cert_file, const std::string& key_file)
    : HttpStub(std::move(handler)) {
  impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  impl_->tls->use_certificate_chain_file(cert_file);
  impl_->tls->use_private_key_file(key_file, asio::ssl::context::pem);
  tls_ = true;
}

void WriteSelfSignedCertificate(const std::string& cert_file, const std::string& key_file) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  if (!key || !cert) throw std::runtime_error("openssl: cannot make a key or certificate");
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const char* ext : {"subjectAltName", "basicConstraints"}) {
    const char* value = std::string(ext) == "subjectAltName" ? "DNS:localhost,IP:127.0.0.1" : "critical,CA:TRUE";
    X509_EXTENSION* e = X509V3_EXT_conf(nullptr, &ctx, ext, value);
    if (!e) throw std::runtime_error(std::string("openssl: extension ") + ext);
    X509_add_ext(cert, e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(cert, key, EVP_sha256());
  std::FILE* c = std::fopen(cert_file.c_str(), "w");
  std::FILE* k = std::fopen(key_file.c_str(), "w");
  if (!c || !k) throw std::runtime_error("cannot write " + cert_file + " or " + key_file);
  PEM_write_X509(c, cert);
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(c);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

HttpStub::HttpStub(Handler handler, bool record) : HttpStub(std::move(handler)) { impl_->record = record; }

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
      const int fd = socket.native_handle();
      {
        std::lock_guard<std::mutex> l(impl->mu);
        ++impl->active;
        ++impl->accepted;
        impl->open_fds.insert(fd);
      }
      std::thread([impl, s = std::move(socket)]() mutable {
        impl->Serve(std::move(s));
        std::lock_guard<std::mutex> l(impl->mu);
        if (--impl->active == 0) impl->idle.notify_all();
      }).detach();
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
  std::unique_lock<std::mutex> l(impl_->mu);
  // Connections kept alive wait for a next request that will not come: their
  // reads are woken by shutting the sockets down.
  for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  impl_->idle.wait(l, [&] { return impl_->active == 0; });
}

int HttpStub::connections() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->accepted;
}

std::vector<HttpStub::Request> HttpStub::requests() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->requests;
}

}  // namespace hub::testing
