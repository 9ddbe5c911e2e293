// libFuzzer target: the webhook signature header parsers and the verifier.
// The input is lines: the first chooses the scheme (slack, github, stripe,
// anything else: by header), the next ones are headers "Name: value" up to a
// line "----", the rest is the body.  The contract: parsing and verifying
// never crash, parsers keep their bounds (at most 16 Stripe fields, 32-byte
// digests, non-negative times), and a refusal always says why.  The seed
// corpus holds correctly signed inputs (secret "fuzz-secret", time
// 1700000000), so mutations start from the accepting paths too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/webhook_signature.hpp"

using namespace hub::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto next_line = [&]() {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    return line;
  };
  const std::string_view scheme_name = next_line();
  HeaderList headers;
  while (!text.empty()) {
    const std::string_view line = next_line();
    if (line == "----") break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(line.substr(0, colon), value);
  }
  const std::string_view body = text;

  // The parsers alone, on every header value.
  for (const auto& [name, value] : headers) {
    StripeSignatureHeader s;
    std::string why, digest;
    if (!ParseStripeSignature(value, s, why) && why.empty()) std::abort();
    if (ParseStripeSignature(value, s, why) && (s.v1.empty() || s.v1.size() > 16)) std::abort();
    if (ParsePrefixedHexDigest(value, "sha256=", digest, why) && digest.size() != 32) std::abort();
    int64_t t = 0;
    if (ParseUnixSeconds(value, t) && t < 0) std::abort();
  }

  SignatureScheme scheme = ChooseScheme(scheme_name, "webhook", headers);
  if (scheme_name != "slack" && scheme_name != "github" && scheme_name != "stripe")
    scheme = ChooseScheme("", "webhook", headers);
  const auto r = VerifySignature(scheme, headers, body, "fuzz-secret", 1'700'000'000);
  if (!r.ok && r.why.empty()) std::abort();
  if (r.ok && (r.replay_key.size() != 64 || r.scheme == SignatureScheme::kNone)) std::abort();
  return 0;
}
