#include "common/secret_box.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace hub::common {
namespace {

constexpr std::string_view kPrefix = "hubsec:v1:";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kKeyIdChars = 8;
constexpr const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Derived from the key, so that one key always has one id; a hash, so that
// the id tells nothing about the key.
std::string KeyId(std::string_view key) {
  return Sha256Hex(std::string("hubsec-key-id") + '\0' + std::string(key)).substr(0, kKeyIdChars);
}

struct CipherCtx {
  EVP_CIPHER_CTX* p = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(p); }
};

}  // namespace

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[j] = Sextet(c);
      if (v[j] < 0) return std::nullopt;
    }
    const uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out.push_back(char((n >> 16) & 0xff));
    if (pad < 2) out.push_back(char((n >> 8) & 0xff));
    if (pad < 1) out.push_back(char(n & 0xff));
  }
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 2]));
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

SecretKeyring SecretKeyring::FromBase64(std::string_view current, const std::vector<std::string>& older,
                                        const char* setting, const char* older_setting) {
  SecretKeyring ring;
  auto add = [&](std::string_view b64, const char* name) {
    auto key = DecodeBase64(b64);
    if (!key || key->size() != kKeyBytes)
      throw ConfigError(std::string(name) + ": expected the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)" +
                        (key ? ", got " + std::to_string(key->size()) + " bytes" : ", got text that is not base64"));
    const std::string id = KeyId(*key);
    for (const auto& k : ring.keys_)
      if (k.id == id) return;  // the same key listed twice
    ring.keys_.push_back({id, std::move(*key)});
  };
  if (current.empty()) {
    if (!older.empty())
      throw ConfigError(std::string(older_setting) + ": older keys are given but " + setting +
                        " (the current key) is not set");
    return ring;
  }
  add(current, setting);
  for (const auto& o : older) add(o, older_setting);
  return ring;
}

const std::string& SecretKeyring::current_key_id() const {
  static const std::string kNone;
  return keys_.empty() ? kNone : keys_.front().id;
}

std::string SecretKeyring::Encrypt(std::string_view plaintext) const {
  if (keys_.empty()) throw std::logic_error("SecretKeyring::Encrypt without a key");
  const Key& key = keys_.front();
  const std::string aad = std::string(kPrefix) + key.id;
  std::string blob(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(blob.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) throw std::runtime_error("secret encryption: no random bytes");
  CipherCtx ctx;
  int len = 0;
  auto* ct = nonce + kNonceBytes;
  if (!ctx.p || EVP_EncryptInit_ex(ctx.p, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.p, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.bytes.data()), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.p, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.p, ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        int(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.p, ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size()) != 1)
    throw std::runtime_error("secret encryption failed (OpenSSL)");
  return aad + ":" + EncodeBase64(blob);
}

bool SecretKeyring::IsStoredForm(std::string_view s) { return !KeyIdOf(s).empty(); }

std::string SecretKeyring::KeyIdOf(std::string_view s) {
  if (s.substr(0, kPrefix.size()) != kPrefix) return {};
  s.remove_prefix(kPrefix.size());
  if (s.size() < kKeyIdChars + 1 || s[kKeyIdChars] != ':') return {};
  for (size_t i = 0; i < kKeyIdChars; ++i)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return {};
  return std::string(s.substr(0, kKeyIdChars));
}

std::optional<std::string> SecretKeyring::Decrypt(std::string_view stored, std::string& why) const {
  const std::string id = KeyIdOf(stored);
  if (id.empty()) {
    why = "not an encrypted secret (expected the output of `hubworker secret encrypt`, hubsec:v1:...)";
    return std::nullopt;
  }
  const Key* key = nullptr;
  for (const auto& k : keys_)
    if (k.id == id) key = &k;
  if (!key) {
    why = "encrypted with key " + id + ", which is neither HUB_SECRET_KEY nor one of HUB_SECRET_KEYS_OLD" +
          (keys_.empty() ? " (no key is set)" : "");
    return std::nullopt;
  }
  const size_t head = kPrefix.size() + kKeyIdChars;
  auto blob = DecodeBase64(stored.substr(head + 1));
  if (!blob || blob->size() < kNonceBytes + kTagBytes) {
    why = "the encrypted secret is malformed";
    return std::nullopt;
  }
  const std::string aad(stored.substr(0, head));
  const size_t n = blob->size() - kNonceBytes - kTagBytes;
  auto* nonce = reinterpret_cast<unsigned char*>(blob->data());
  auto* ct = nonce + kNonceBytes;
  std::string plain(n, '\0');
  CipherCtx ctx;
  int len = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  const bool ok =
      ctx.p && EVP_DecryptInit_ex(ctx.p, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.p, nullptr, nullptr, reinterpret_cast<const unsigned char*>(key->bytes.data()), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.p, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.p, out, &len, ct, int(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_GCM_SET_TAG, kTagBytes, ct + n) == 1 &&
      EVP_DecryptFinal_ex(ctx.p, out + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    why = "the encrypted secret does not decrypt with key " + id + " (altered, or made for another key)";
    return std::nullopt;
  }
  return plain;
}

}  // namespace hub::common
