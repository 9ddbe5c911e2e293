#include "engine/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/ids.hpp"

namespace hub::engine {
namespace {

constexpr size_t kDigestBytes = 32;

// One-shot HMAC (the HMAC_CTX calls are deprecated in OpenSSL 3); the
// signed text of a timestamped scheme is assembled first.
std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len) ||
      len != kDigestBytes)
    return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Hmac(std::string_view key, std::string_view a, std::string_view b, std::string_view c) {
  std::string text;
  text.reserve(a.size() + b.size() + c.size());
  text.append(a).append(b).append(c);
  return Hmac(key, text);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeHexDigest(std::string_view hex, std::string& out) {
  if (hex.size() != kDigestBytes * 2) return false;
  out.assign(kDigestBytes, '\0');
  for (size_t i = 0; i < kDigestBytes; ++i) {
    const int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = char(hi << 4 | lo);
  }
  return true;
}

bool SameDigest(std::string_view a, std::string_view b) {
  return a.size() == kDigestBytes && b.size() == kDigestBytes && CRYPTO_memcmp(a.data(), b.data(), kDigestBytes) == 0;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool HasHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (EqualsIgnoreCase(k, name)) return true;
  return false;
}

std::string ReplayKey(SignatureScheme s, std::string_view digest) {
  std::string in = ToString(s);
  in.push_back('\0');
  in.append(digest);
  return common::Sha256Hex(in);
}

bool Fresh(int64_t signed_at_s, int64_t now_s, int64_t tolerance_s, std::string& why) {
  const int64_t age = now_s - signed_at_s;
  if (age > tolerance_s) {
    why = "the signature's timestamp is " + std::to_string(age) + " s old (at most " + std::to_string(tolerance_s) +
          " s are accepted)";
    return false;
  }
  if (-age > tolerance_s) {
    why = "the signature's timestamp is " + std::to_string(-age) + " s in the future (at most " +
          std::to_string(tolerance_s) + " s are accepted)";
    return false;
  }
  return true;
}

}  // namespace

const char* ToString(SignatureScheme s) {
  switch (s) {
    case SignatureScheme::kSlack: return "slack";
    case SignatureScheme::kGithub: return "github";
    case SignatureScheme::kStripe: return "stripe";
    case SignatureScheme::kNone: break;
  }
  return "none";
}

SignatureScheme SchemeNamed(std::string_view name) {
  if (name == "slack") return SignatureScheme::kSlack;
  if (name == "github") return SignatureScheme::kGithub;
  if (name == "stripe") return SignatureScheme::kStripe;
  return SignatureScheme::kNone;
}

SignatureScheme ChooseScheme(std::string_view pinned, std::string_view provider, const HeaderList& headers) {
  if (!pinned.empty()) return SchemeNamed(pinned);
  if (SchemeNamed(provider) != SignatureScheme::kNone) return SchemeNamed(provider);
  if (HasHeader(headers, "Stripe-Signature")) return SignatureScheme::kStripe;
  if (HasHeader(headers, "X-Hub-Signature-256")) return SignatureScheme::kGithub;
  if (HasHeader(headers, "X-Slack-Signature")) return SignatureScheme::kSlack;
  return SignatureScheme::kNone;
}

bool FindHeader(const HeaderList& headers, std::string_view name, std::string_view& value, std::string& why) {
  int found = 0;
  for (const auto& [k, v] : headers) {
    if (!EqualsIgnoreCase(k, name)) continue;
    if (++found > 1) {
      why = "header " + std::string(name) + " is given more than once";
      return false;
    }
    value = v;
  }
  if (found == 0) {
    why = "header " + std::string(name) + " is missing";
    return false;
  }
  return true;
}

bool ParseUnixSeconds(std::string_view value, int64_t& out) {
  if (value.empty() || value.size() > 12) return false;
  int64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  out = n;
  return true;
}

bool ParsePrefixedHexDigest(std::string_view value, std::string_view prefix, std::string& digest, std::string& why) {
  if (value.substr(0, prefix.size()) != prefix) {
    why = "does not start with " + std::string(prefix);
    return false;
  }
  if (!DecodeHexDigest(value.substr(prefix.size()), digest)) {
    why = "expected " + std::string(prefix) + " and 64 hex digits";
    return false;
  }
  return true;
}

bool ParseStripeSignature(std::string_view value, StripeSignatureHeader& out, std::string& why) {
  out = {};
  bool have_t = false;
  size_t fields = 0;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (++fields > 16) {
      why = "more than 16 fields";
      return false;
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      why = "a field without '='";
      return false;
    }
    const std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "t") {
      if (have_t || !ParseUnixSeconds(v, out.t)) {
        why = have_t ? "t= is given more than once" : "t= is not a Unix time in seconds";
        return false;
      }
      have_t = true;
    } else if (k == "v1") {
      std::string d;
      if (!DecodeHexDigest(v, d)) {
        why = "a v1= value is not 64 hex digits";
        return false;
      }
      out.v1.push_back(std::move(d));
    }  // other schemes (v0: Stripe's test signatures) are ignored, as Stripe's libraries do
  }
  if (!have_t) {
    why = "no t= timestamp";
    return false;
  }
  if (out.v1.empty()) {
    why = "no v1= signature";
    return false;
  }
  return true;
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  static const char kHex[] = "0123456789abcdef";
  const std::string d = Hmac(key, data);
  std::string out;
  for (unsigned char c : d) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

SignatureResult VerifySignature(SignatureScheme scheme, const HeaderList& headers, std::string_view body,
                                std::string_view secret, int64_t now_unix_s, int64_t tolerance_s) {
  SignatureResult r;
  r.scheme = scheme;
  auto fail = [&](std::string why) {
    r.ok = false;
    r.why = std::move(why);
    return r;
  };
  if (secret.empty()) return fail("the integration's signing secret is empty");
  std::string why;
  switch (scheme) {
    case SignatureScheme::kNone:
      return fail("no signature header (X-Slack-Signature, X-Hub-Signature-256 or Stripe-Signature)");
    case SignatureScheme::kSlack: {
      std::string_view sig, ts;
      if (!FindHeader(headers, "X-Slack-Signature", sig, why)) return fail(why);
      if (!FindHeader(headers, "X-Slack-Request-Timestamp", ts, why)) return fail(why);
      std::string given;
      if (!ParsePrefixedHexDigest(sig, "v0=", given, why)) return fail("X-Slack-Signature " + why);
      int64_t t = 0;
      if (!ParseUnixSeconds(ts, t)) return fail("X-Slack-Request-Timestamp is not a Unix time in seconds");
      if (!Fresh(t, now_unix_s, tolerance_s, why)) return fail(why);
      const std::string expected = Hmac(secret, std::string("v0:").append(ts).append(":"), body, {});
      if (!SameDigest(expected, given)) return fail("X-Slack-Signature does not match the body");
      r.signed_at_s = t;
      r.replay_key = ReplayKey(scheme, given);
      break;
    }
    case SignatureScheme::kGithub: {
      std::string_view sig;
      if (!FindHeader(headers, "X-Hub-Signature-256", sig, why)) return fail(why);
      std::string given;
      if (!ParsePrefixedHexDigest(sig, "sha256=", given, why)) return fail("X-Hub-Signature-256 " + why);
      if (!SameDigest(Hmac(secret, body), given)) return fail("X-Hub-Signature-256 does not match the body");
      r.replay_key = ReplayKey(scheme, given);
      break;
    }
    case SignatureScheme::kStripe: {
      std::string_view value;
      if (!FindHeader(headers, "Stripe-Signature", value, why)) return fail(why);
      StripeSignatureHeader h;
      if (!ParseStripeSignature(value, h, why)) return fail("Stripe-Signature: " + why);
      if (!Fresh(h.t, now_unix_s, tolerance_s, why)) return fail(why);
      const std::string expected = Hmac(secret, std::to_string(h.t), ".", body);
      const std::string* match = nullptr;
      for (const auto& d : h.v1)
        if (SameDigest(expected, d)) match = &d;
      if (!match) return fail("Stripe-Signature has no v1 signature that matches the body");
      r.signed_at_s = h.t;
      r.replay_key = ReplayKey(scheme, *match);
      break;
    }
  }
  r.ok = true;
  return r;
}

}  // namespace hub::engine
