// Webhook signatures: the providers' published examples verify, and every
// way a signature can be wrong -- missing, malformed, a different body or
// secret, stale or future timestamps, ambiguous headers -- is refused with a
// reason that names no secret.
#include <gtest/gtest.h>

#include <cctype>
#include <deque>
#include <string>
#include <vector>

#include "engine/webhook_signature.hpp"

namespace hub {
namespace {

using engine::HeaderList;
using engine::SignatureScheme;
using engine::VerifySignature;

// Slack's example from "Verifying requests from Slack".
constexpr const char* kSlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr int64_t kSlackTs = 1531420618;
constexpr const char* kSlackBody =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name="
    "foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks."
    "slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015."
    "47445629121.803a0bc887a14d10d2c447fce8b6703c";
constexpr const char* kSlackSig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

// GitHub's example from "Validating webhook deliveries".
constexpr const char* kGithubSecret = "It's a Secret to Everybody";
constexpr const char* kGithubBody = "Hello, World!";
constexpr const char* kGithubSig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

// Header values live as long as the test binary (a HeaderList holds views).
std::string_view Keep(std::string v) {
  static std::deque<std::string> kept;
  return kept.emplace_back(std::move(v));
}

HeaderList Slack(const std::string& sig, const std::string& ts) {
  return {{"X-Slack-Signature", Keep(sig)},
          {"X-Slack-Request-Timestamp", Keep(ts)},
          {"Content-Type", "application/x-www-form-urlencoded"}};
}

TEST(WebhookSignature, SlacksPublishedExampleVerifies) {
  const auto r = VerifySignature(SignatureScheme::kSlack, Slack(kSlackSig, std::to_string(kSlackTs)), kSlackBody,
                                 kSlackSecret, kSlackTs + 10);
  EXPECT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.signed_at_s, kSlackTs);
  EXPECT_EQ(r.replay_key.size(), 64u);
}

TEST(WebhookSignature, HeaderNamesAreCaseInsensitive) {
  const HeaderList lower = {{"x-slack-signature", kSlackSig}, {"X-SLACK-REQUEST-TIMESTAMP", "1531420618"}};
  EXPECT_TRUE(VerifySignature(SignatureScheme::kSlack, lower, kSlackBody, kSlackSecret, kSlackTs).ok);
  const HeaderList gh = {{"x-hub-signature-256", kGithubSig}};
  EXPECT_TRUE(VerifySignature(SignatureScheme::kGithub, gh, kGithubBody, kGithubSecret, 0).ok);
}

TEST(WebhookSignature, WebhookWithStaleTimestampIsRejected) {
  const auto headers = Slack(kSlackSig, std::to_string(kSlackTs));
  EXPECT_TRUE(VerifySignature(SignatureScheme::kSlack, headers, kSlackBody, kSlackSecret, kSlackTs + 300).ok);
  const auto r = VerifySignature(SignatureScheme::kSlack, headers, kSlackBody, kSlackSecret, kSlackTs + 301);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.why.find("301 s old"), std::string::npos) << r.why;
  // A timestamp from the future is as suspect as an old one.
  const auto f = VerifySignature(SignatureScheme::kSlack, headers, kSlackBody, kSlackSecret, kSlackTs - 301);
  EXPECT_FALSE(f.ok);
  EXPECT_NE(f.why.find("future"), std::string::npos) << f.why;
}

TEST(WebhookSignature, AChangedBodyTimestampOrSecretIsRefused) {
  const auto headers = Slack(kSlackSig, std::to_string(kSlackTs));
  EXPECT_FALSE(VerifySignature(SignatureScheme::kSlack, headers, std::string(kSlackBody) + "x", kSlackSecret, kSlackTs).ok);
  EXPECT_FALSE(VerifySignature(SignatureScheme::kSlack, headers, kSlackBody, "another secret", kSlackTs).ok);
  // The timestamp is signed: moving it (to pass the age check) breaks the signature.
  const auto moved = Slack(kSlackSig, std::to_string(kSlackTs + 1));
  const auto r = VerifySignature(SignatureScheme::kSlack, moved, kSlackBody, kSlackSecret, kSlackTs);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.why.find("does not match"), std::string::npos) << r.why;
  EXPECT_EQ(r.why.find(kSlackSecret), std::string::npos);
}

TEST(WebhookSignature, MissingAndMalformedSlackHeadersAreRefusedWithTheReason) {
  struct Case {
    HeaderList headers;
    const char* why;
  } cases[] = {
      {{{"X-Slack-Request-Timestamp", "1531420618"}}, "X-Slack-Signature is missing"},
      {{{"X-Slack-Signature", kSlackSig}}, "X-Slack-Request-Timestamp is missing"},
      {Slack("v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "1531420618"), "v0="},
      {Slack("v0=a2114d57", "1531420618"), "64 hex digits"},
      {Slack("v0=z2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "1531420618"), "64 hex digits"},
      {Slack(kSlackSig, "1531420618.5"), "not a Unix time"},
      {Slack(kSlackSig, "-1"), "not a Unix time"},
      {Slack(kSlackSig, "99999999999999999999"), "not a Unix time"},
      {Slack(kSlackSig, ""), "not a Unix time"},
  };
  for (const auto& c : cases) {
    const auto r = VerifySignature(SignatureScheme::kSlack, c.headers, kSlackBody, kSlackSecret, kSlackTs);
    EXPECT_FALSE(r.ok) << c.why;
    EXPECT_NE(r.why.find(c.why), std::string::npos) << r.why;
  }
}

TEST(WebhookSignature, AHeaderGivenTwiceInAnyCaseIsRefused) {
  const HeaderList twice = {{"X-Hub-Signature-256", kGithubSig}, {"x-hub-signature-256", "sha256=00"}};
  const auto r = VerifySignature(SignatureScheme::kGithub, twice, kGithubBody, kGithubSecret, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.why.find("more than once"), std::string::npos) << r.why;
}

TEST(WebhookSignature, GithubsPublishedExampleVerifiesAndUppercaseHexToo) {
  EXPECT_TRUE(VerifySignature(SignatureScheme::kGithub, {{"X-Hub-Signature-256", kGithubSig}}, kGithubBody,
                              kGithubSecret, 0).ok);
  std::string upper = kGithubSig;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(VerifySignature(SignatureScheme::kGithub, {{"X-Hub-Signature-256", Keep(upper)}}, kGithubBody, kGithubSecret,
                              0).ok);
  EXPECT_FALSE(VerifySignature(SignatureScheme::kGithub, {{"X-Hub-Signature-256", kGithubSig}}, "Hello, World?",
                               kGithubSecret, 0).ok);
  for (const char* bad : {"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha1=757107ea",
                          "sha256=", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
                          "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e177"})
    EXPECT_FALSE(VerifySignature(SignatureScheme::kGithub, {{"X-Hub-Signature-256", bad}}, kGithubBody,
                                 kGithubSecret, 0).ok)
        << bad;
  EXPECT_FALSE(VerifySignature(SignatureScheme::kGithub, {}, kGithubBody, kGithubSecret, 0).ok);
}

TEST(WebhookSignature, StripeHeadersVerifyWithAnyMatchingV1AndAStaleOneIsRefused) {
  const std::string body = R"({"id":"evt_1"})";
  const std::string good = engine::HmacSha256Hex("whsec_test", "1700000000." + body);
  EXPECT_EQ(good, "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925");  // computed independently
  const std::string other(64, '0');
  for (const std::string& h : {"t=1700000000,v1=" + good, "t=1700000000,v1=" + other + ",v1=" + good,
                               "v0=" + other + ",t=1700000000,v1=" + good}) {
    const auto r =
        VerifySignature(SignatureScheme::kStripe, {{"Stripe-Signature", Keep(h)}}, body, "whsec_test", 1700000100);
    EXPECT_TRUE(r.ok) << h << ": " << r.why;
    EXPECT_EQ(r.signed_at_s, 1700000000);
  }
  EXPECT_FALSE(VerifySignature(SignatureScheme::kStripe, {{"Stripe-Signature", Keep("t=1700000000,v1=" + good)}}, body,
                               "whsec_test", 1700000301).ok);
  EXPECT_FALSE(VerifySignature(SignatureScheme::kStripe, {{"Stripe-Signature", Keep("t=1700000000,v1=" + other)}}, body,
                               "whsec_test", 1700000000).ok);
}

TEST(WebhookSignature, MalformedStripeHeadersAreRefused) {
  const std::string d(64, 'a');
  for (const std::string& h : std::vector<std::string>{std::string(), "v1=" + d, "t=1700000000", "t=1700000000,v1=abc",
                                                    "t=x,v1=" + d, "t=1,t=2,v1=" + d, "t=1700000000,v1" + d, ",,,"}) {
    engine::StripeSignatureHeader out;
    std::string why;
    EXPECT_FALSE(engine::ParseStripeSignature(h, out, why)) << h;
    EXPECT_FALSE(why.empty()) << h;
  }
  std::string many = "t=1";
  for (int i = 0; i < 20; ++i) many += ",v1=" + d;
  engine::StripeSignatureHeader out;
  std::string why;
  EXPECT_FALSE(engine::ParseStripeSignature(many, out, why));
}

TEST(WebhookSignature, SameSignatureSameReplayKeyAndSchemesDoNotShareKeys) {
  const auto a = VerifySignature(SignatureScheme::kGithub, {{"X-Hub-Signature-256", kGithubSig}}, kGithubBody,
                                 kGithubSecret, 0);
  const auto b = VerifySignature(SignatureScheme::kGithub, {{"x-hub-signature-256", kGithubSig}}, kGithubBody,
                                 kGithubSecret, 99);
  ASSERT_TRUE(a.ok && b.ok);
  EXPECT_EQ(a.replay_key, b.replay_key);
  const auto s = VerifySignature(SignatureScheme::kSlack, Slack(kSlackSig, std::to_string(kSlackTs)), kSlackBody,
                                 kSlackSecret, kSlackTs);
  EXPECT_NE(a.replay_key, s.replay_key);
}

TEST(WebhookSignature, TheSchemeIsPinnedThenByProviderThenByHeader) {
  const HeaderList stripe = {{"stripe-signature", "t=1,v1=00"}};
  const HeaderList github = {{"X-Hub-Signature-256", kGithubSig}};
  EXPECT_EQ(engine::ChooseScheme("github", "slack", stripe), SignatureScheme::kGithub);
  EXPECT_EQ(engine::ChooseScheme("", "slack", github), SignatureScheme::kSlack);
  EXPECT_EQ(engine::ChooseScheme("", "webhook", stripe), SignatureScheme::kStripe);
  EXPECT_EQ(engine::ChooseScheme("", "webhook", github), SignatureScheme::kGithub);
  EXPECT_EQ(engine::ChooseScheme("", "gmail", {}), SignatureScheme::kNone);
  EXPECT_EQ(engine::ChooseScheme("md5", "webhook", github), SignatureScheme::kNone);
  const auto r = VerifySignature(SignatureScheme::kNone, {}, "", "secret", 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.why.find("no signature header"), std::string::npos);
}

TEST(WebhookSignature, AnEmptySecretVerifiesNothing) {
  EXPECT_FALSE(VerifySignature(SignatureScheme::kGithub,
                               {{"X-Hub-Signature-256", Keep("sha256=" + engine::HmacSha256Hex("", kGithubBody))}},
                               kGithubBody, "", 0).ok);
}

}  // namespace
}  // namespace hub
