// The http_request client against a stub server on 127.0.0.1: what it may
// call (allowlist, internal addresses, redirects re-checked), deadlines,
// capped bodies, and the outcomes the step runner retries or not.
#include <gtest/gtest.h>

#include "clients/http_client.hpp"
#include "tests/support/http_stub.hpp"

namespace hub::clients {
namespace {
using testing::HttpStub;

engine::HttpRequestSpec Get(const std::string& url, int64_t timeout_ms = 5000) {
  engine::HttpRequestSpec r;
  r.method = "GET";
  r.url = url;
  r.timeout_ms = timeout_ms;
  return r;
}

HttpClient Client(std::vector<std::string> allowlist, size_t max_body = 1 << 20) {
  HttpClientOptions o;
  o.allowlist = std::move(allowlist);
  o.max_response_bytes = max_body;
  return HttpClient(o);
}

TEST(HttpClientRules, UrlsAllowlistAndInternalAddresses) {
  ParsedUrl u;
  std::string why;
  ASSERT_TRUE(ParseUrl("https://API.example.com:8443/a/b?c=1#frag", u, why)) << why;
  EXPECT_TRUE(u.https);
  EXPECT_EQ(u.host, "api.example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/a/b?c=1");
  ASSERT_TRUE(ParseUrl("http://[::1]/x", u, why));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 80);
  EXPECT_FALSE(ParseUrl("ftp://x/", u, why));
  EXPECT_FALSE(ParseUrl("http://user:pw@x/", u, why));
  EXPECT_FALSE(ParseUrl("http://x:99999/", u, why));
  EXPECT_FALSE(ParseUrl("http://x/a b", u, why));

  bool exact = false;
  EXPECT_TRUE(Allowed({"api.example.com"}, "api.example.com", exact));
  EXPECT_TRUE(exact);
  EXPECT_TRUE(Allowed({"*.example.com"}, "api.example.com", exact));
  EXPECT_FALSE(exact);
  EXPECT_FALSE(Allowed({"*.example.com"}, "example.com", exact));
  EXPECT_FALSE(Allowed({"*.example.com"}, "evilexample.com", exact));
  EXPECT_FALSE(Allowed({}, "api.example.com", exact));

  for (const char* a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                        "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1"})
    EXPECT_TRUE(InternalAddress(a)) << a;
  for (const char* a : {"8.8.8.8", "93.184.216.34", "2606:4700::1111", "172.32.0.1"}) EXPECT_FALSE(InternalAddress(a)) << a;
}

TEST(HttpClient, CallsAListedHostAndReturnsTheAnswer) {
  HttpStub stub([](const HttpStub::Request& r) {
    return HttpStub::Response{201, {{"Content-Type", "application/json"}}, R"({"got":")" + r.body + R"("})"};
  });
  engine::HttpRequestSpec req = Get(stub.url("/things?x=1"));
  req.method = "POST";
  req.body = "hello";
  req.headers = {{"X-Test", "yes"}};
  const HttpOutcome o = Client({"127.0.0.1"}).Send(req, {{"Idempotency-Key", "exec-1:call"}});
  ASSERT_EQ(o.kind, HttpOutcome::Kind::kResponse) << o.error;
  EXPECT_EQ(o.response.status, 201);
  EXPECT_EQ(o.response.body, R"({"got":"hello"})");
  const auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/things?x=1");
  EXPECT_EQ(seen[0].headers.at("x-test"), "yes");
  EXPECT_EQ(seen[0].headers.at("idempotency-key"), "exec-1:call");
}

TEST(HttpClient, RefusesHostsThatAreNotListedOrInternalThroughAWildcard) {
  HttpStub stub([](const HttpStub::Request&) { return HttpStub::Response{}; });
  const HttpOutcome not_listed = Client({"api.example.com"}).Send(Get(stub.url()));
  EXPECT_EQ(not_listed.kind, HttpOutcome::Kind::kRefused);
  EXPECT_NE(not_listed.error.find("host '127.0.0.1' is not in HUB_HTTP_ALLOWLIST"), std::string::npos)
      << not_listed.error;
  // localhost through a wildcard entry is still an internal address.
  const HttpOutcome internal =
      Client({"*.localhost", "*.0.1"}).Send(Get("http://localhost:" + std::to_string(stub.port()) + "/"));
  EXPECT_EQ(internal.kind, HttpOutcome::Kind::kRefused);
  EXPECT_TRUE(stub.requests().empty());
}

TEST(HttpClient, ARedirectToAnUnlistedOrInternalHostIsRefused) {
  HttpStub target([](const HttpStub::Request&) { return HttpStub::Response{200, {}, "secret"}; });
  const std::string to = "http://localhost:" + std::to_string(target.port()) + "/admin";
  HttpStub redirect([&](const HttpStub::Request&) { return HttpStub::Response{302, {{"Location", to}}, ""}; });
  const HttpOutcome o = Client({"127.0.0.1"}).Send(Get(redirect.url()));
  EXPECT_EQ(o.kind, HttpOutcome::Kind::kRefused);
  EXPECT_NE(o.error.find("not in HUB_HTTP_ALLOWLIST (after a redirect)"), std::string::npos) << o.error;
  EXPECT_TRUE(target.requests().empty());
  // Listed, the redirect is followed.
  const HttpOutcome ok = Client({"127.0.0.1", "localhost"}).Send(Get(redirect.url()));
  ASSERT_EQ(ok.kind, HttpOutcome::Kind::kResponse) << ok.error;
  EXPECT_EQ(ok.response.body, "secret");
}

TEST(HttpClient, DeadlinesBodiesAndRetryAfter) {
  HttpStub slow([](const HttpStub::Request&) { return HttpStub::Response{200, {}, "late", 1500}; });
  const HttpOutcome timeout = Client({"127.0.0.1"}).Send(Get(slow.url(), 200));
  EXPECT_EQ(timeout.kind, HttpOutcome::Kind::kRetryable);
  EXPECT_NE(timeout.error.find("timed out"), std::string::npos) << timeout.error;

  HttpStub big([](const HttpStub::Request&) { return HttpStub::Response{200, {}, std::string(5000, 'b')}; });
  const HttpOutcome capped = Client({"127.0.0.1"}, 1024).Send(Get(big.url()));
  EXPECT_EQ(capped.kind, HttpOutcome::Kind::kRefused);
  EXPECT_NE(capped.error.find("over 1024 bytes"), std::string::npos) << capped.error;

  HttpStub busy([](const HttpStub::Request&) { return HttpStub::Response{503, {{"Retry-After", "7"}}, "busy"}; });
  const HttpOutcome b = Client({"127.0.0.1"}).Send(Get(busy.url()));
  ASSERT_EQ(b.kind, HttpOutcome::Kind::kResponse);
  EXPECT_EQ(b.response.status, 503);
  EXPECT_EQ(b.retry_after_ms, 7000);

  // Nothing listens on port 1.
  const HttpOutcome refused = Client({"127.0.0.1"}).Send(Get("http://127.0.0.1:1/"));
  EXPECT_EQ(refused.kind, HttpOutcome::Kind::kRetryable);
}

TEST(HttpClient, HttpsVerifiesThePeerAgainstTrustedCertificates) {
  const std::string dir = ::testing::TempDir();
  const std::string cert = dir + "/hub-stub-cert.pem", key = dir + "/hub-stub-key.pem";
  testing::WriteSelfSignedCertificate(cert, key);
  HttpStub stub([](const HttpStub::Request&) { return HttpStub::Response{200, {}, "over tls"}; }, cert, key);
  ASSERT_EQ(stub.url().rfind("https://", 0), 0u);
  // Not trusted by the system store: the handshake fails, the node would fail.
  const HttpOutcome untrusted = Client({"127.0.0.1"}).Send(Get(stub.url()));
  EXPECT_EQ(untrusted.kind, HttpOutcome::Kind::kRefused);
  EXPECT_NE(untrusted.error.find("TLS handshake failed"), std::string::npos) << untrusted.error;
  // Trusted (HUB_HTTP_CA_FILE), and the name matches the certificate.
  HttpClientOptions o;
  o.allowlist = {"127.0.0.1", "localhost"};
  o.ca_file = cert;
  const HttpOutcome ok = HttpClient(o).Send(Get(stub.url()));
  ASSERT_EQ(ok.kind, HttpOutcome::Kind::kResponse) << ok.error;
  EXPECT_EQ(ok.response.body, "over tls");
  const HttpOutcome by_name = HttpClient(o).Send(Get("https://localhost:" + std::to_string(stub.port()) + "/"));
  ASSERT_EQ(by_name.kind, HttpOutcome::Kind::kResponse) << by_name.error;
}

TEST(HttpClient, KeepsConnectionsAliveBetweenCalls) {
  HttpStub stub([](const HttpStub::Request&) { return HttpStub::Response{200, {}, "hi"}; });
  const HttpClient client = Client({"127.0.0.1"});
  for (int i = 0; i < 3; ++i) {
    const HttpOutcome o = client.Send(Get(stub.url("/" + std::to_string(i))));
    ASSERT_EQ(o.kind, HttpOutcome::Kind::kResponse) << o.error;
  }
  EXPECT_EQ(stub.requests().size(), 3u);
  EXPECT_EQ(stub.connections(), 1);
}

TEST(HttpClient, AConnectionTheServerClosedWhileIdleIsReplacedWithinTheCall) {
  HttpStub stub([](const HttpStub::Request&) {
    HttpStub::Response r{200, {}, "hi"};
    r.close_after = true;
    return r;
  });
  const HttpClient client = Client({"127.0.0.1"});
  const HttpOutcome first = client.Send(Get(stub.url("/a")));
  ASSERT_EQ(first.kind, HttpOutcome::Kind::kResponse) << first.error;
  // The pooled connection is closed by now: the call goes out once, on a new one.
  const HttpOutcome second = client.Send(Get(stub.url("/b")));
  ASSERT_EQ(second.kind, HttpOutcome::Kind::kResponse) << second.error;
  EXPECT_EQ(second.response.body, "hi");
  EXPECT_EQ(stub.requests().size(), 2u);
  EXPECT_EQ(stub.connections(), 2);
}

TEST(HttpClient, KeepsTlsConnectionsAliveToo) {
  const std::string dir = ::testing::TempDir();
  const std::string cert = dir + "/hub-stub-cert-ka.pem", key = dir + "/hub-stub-key-ka.pem";
  testing::WriteSelfSignedCertificate(cert, key);
  HttpStub stub([](const HttpStub::Request&) { return HttpStub::Response{200, {}, "over tls"}; }, cert, key);
  HttpClientOptions o;
  o.allowlist = {"127.0.0.1"};
  o.ca_file = cert;
  const HttpClient client(o);
  for (int i = 0; i < 2; ++i) {
    const HttpOutcome r = client.Send(Get(stub.url()));
    ASSERT_EQ(r.kind, HttpOutcome::Kind::kResponse) << r.error;
  }
  EXPECT_EQ(stub.connections(), 1);
}

}  // namespace
}  // namespace hub::clients
