#pragma once
// Secrets at rest (integration credentials): AES-256-GCM under a key of
// HUB_SECRET_KEY, a random 96-bit nonce per encryption.  The stored form
//
//   hubsec:v1:<key id>:<base64(nonce || ciphertext || tag)>
//
// names the key it was made with (8 hex digits derived from the key, never
// the key itself), so that a keyring holding the current key and older ones
// decrypts secrets stored before a rotation, and `hubworker secret rotate`
// can tell which secrets still need re-encrypting.  The version and key id
// are authenticated (additional data): an edited prefix fails decryption.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::common {

// Strict standard base64 (padding required, no whitespace); nullopt when
// `text` is not that.
std::optional<std::string> DecodeBase64(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

class SecretKeyring {
 public:
  static constexpr size_t kKeyBytes = 32;

  SecretKeyring() = default;
  // `current`: base64 of the 32-byte key new secrets are encrypted with;
  // `older`: keys still accepted for decryption.  Throws ConfigError naming
  // `setting` (or `older_setting`) on a value that is not base64 of 32 bytes.
  static SecretKeyring FromBase64(std::string_view current, const std::vector<std::string>& older,
                                  const char* setting = "HUB_SECRET_KEY",
                                  const char* older_setting = "HUB_SECRET_KEYS_OLD");

  bool empty() const { return keys_.empty(); }
  // The key id new secrets get ("" when empty).
  const std::string& current_key_id() const;

  // The stored form of `plaintext`.  Throws std::logic_error when empty().
  std::string Encrypt(std::string_view plaintext) const;
  // The plaintext of a stored form; nullopt with `why` set (which never
  // contains the secret) when it is malformed, made with a key this keyring
  // does not hold, or was altered.
  std::optional<std::string> Decrypt(std::string_view stored, std::string& why) const;

  // Whether `s` looks like a stored form (does not check it decrypts).
  static bool IsStoredForm(std::string_view s);
  // The key id of a stored form ("" when it is not one).
  static std::string KeyIdOf(std::string_view stored);

 private:
  struct Key {
    std::string id;
    std::string bytes;
  };
  std::vector<Key> keys_;  // keys_[0] is the current one
};

}  // namespace hub::common
