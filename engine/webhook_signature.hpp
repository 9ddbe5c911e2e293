#pragma once
// Verifying the signature of a received webhook, pure (no I/O; the time is a
// parameter, read by the caller from the injected clock).  Three schemes,
// each HMAC-SHA256 keyed with the integration's signing secret:
//
//   slack   X-Slack-Signature: v0=<hex HMAC of "v0:" + X-Slack-Request-Timestamp + ":" + body>
//   github  X-Hub-Signature-256: sha256=<hex HMAC of body>          (no timestamp)
//   stripe  Stripe-Signature: t=<unix s>,v1=<hex HMAC of "<t>." + body>[,v1=...]
//
// Header names are compared case-insensitively; a name given twice (in any
// case) is refused, since two readers could pick different values.  Digests
// are compared in constant time.  A timestamp further than `tolerance_s`
// from now, in either direction, is refused.  Replays of a valid signature
// are the caller's to refuse: SignatureResult::replay_key names the signature.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hub::engine {

enum class SignatureScheme { kNone, kSlack, kGithub, kStripe };

const char* ToString(SignatureScheme s);
// "slack" | "github" | "stripe" -> scheme; kNone otherwise.
SignatureScheme SchemeNamed(std::string_view name);

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

// Slack and Stripe's recommended tolerance.
inline constexpr int64_t kSignatureToleranceS = 300;

struct SignatureResult {
  bool ok = false;
  std::string why;                     // set when !ok; never contains the secret or a digest
  SignatureScheme scheme = SignatureScheme::kNone;
  std::string replay_key;              // when ok: hex SHA-256 of the scheme and the accepted signature
  int64_t signed_at_s = 0;             // when ok and the scheme has a timestamp; 0 otherwise
};

// The scheme an integration uses: `pinned` (its config.signatureScheme) when
// set; else by provider (slack, github, stripe); else by which signature
// header is present (Stripe-Signature, then X-Hub-Signature-256, then
// X-Slack-Signature).  kNone: nothing to verify with (the caller refuses).
SignatureScheme ChooseScheme(std::string_view pinned, std::string_view provider, const HeaderList& headers);

SignatureResult VerifySignature(SignatureScheme scheme, const HeaderList& headers, std::string_view body,
                                std::string_view secret, int64_t now_unix_s,
                                int64_t tolerance_s = kSignatureToleranceS);

// Parsers, exposed for tests and the fuzz target.  Each returns false with
// `why` on a malformed value.
struct StripeSignatureHeader {
  int64_t t = 0;
  std::vector<std::string> v1;  // decoded digests (32 bytes each)
};
bool ParseStripeSignature(std::string_view value, StripeSignatureHeader& out, std::string& why);
// "<prefix><64 hex>" -> the 32 digest bytes.
bool ParsePrefixedHexDigest(std::string_view value, std::string_view prefix, std::string& digest, std::string& why);
// A Unix timestamp in seconds: 1 to 12 decimal digits.
bool ParseUnixSeconds(std::string_view value, int64_t& out);
// The value of header `name` (case-insensitive); false with `why` when it is
// missing or given more than once.
bool FindHeader(const HeaderList& headers, std::string_view name, std::string_view& value, std::string& why);

// Lowercase hex HMAC-SHA256 (for tests, the demo and `hubworker` tools that sign).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace hub::engine
