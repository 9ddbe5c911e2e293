// Integration secrets at rest: AES-256-GCM under HUB_SECRET_KEY, a stored
// form naming the key, older keys accepted for decryption, and any change to
// a stored form detected.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/error.hpp"
#include "common/secret_box.hpp"

namespace hub {
namespace {

using common::SecretKeyring;

const std::string kKeyA = common::EncodeBase64(std::string(32, 'a'));
const std::string kKeyB = common::EncodeBase64(std::string(32, 'b'));

TEST(SecretBox, Base64RoundTripsEveryLengthAndRefusesWhatIsNotBase64) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(common::DecodeBase64(common::EncodeBase64(bytes)), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(common::EncodeBase64("hello"), "aGVsbG8=");
  for (const char* bad : {"aGVsbG8", "aGVs bG8=", "aGVsbG8==", "a=Vs", "aGVsbG8=aGVs", "****"})
    EXPECT_FALSE(common::DecodeBase64(bad).has_value()) << bad;
}

TEST(SecretBox, AKeyThatIsNotBase64Of32BytesIsAConfigErrorNamingTheSetting) {
  try {
    SecretKeyring::FromBase64(common::EncodeBase64(std::string(16, 'x')), {});
    FAIL() << "a 16-byte key was accepted";
  } catch (const common::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("HUB_SECRET_KEY"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("16 bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SecretKeyring::FromBase64("not base64!", {}), common::ConfigError);
  EXPECT_THROW(SecretKeyring::FromBase64(kKeyA, {"short"}), common::ConfigError);
  EXPECT_THROW(SecretKeyring::FromBase64("", {kKeyA}), common::ConfigError);  // old keys without a current one
  EXPECT_TRUE(SecretKeyring::FromBase64("", {}).empty());
}

TEST(SecretBox, EncryptThenDecryptGivesTheSecretBackAndTheStoredFormNamesTheKey) {
  const auto ring = SecretKeyring::FromBase64(kKeyA, {});
  for (const std::string secret : {std::string("s3cr3t"), std::string(1, '\0'), std::string(5000, 'z'), std::string()}) {
    const std::string stored = ring.Encrypt(secret);
    EXPECT_EQ(stored.rfind("hubsec:v1:" + ring.current_key_id() + ":", 0), 0u) << stored;
    EXPECT_TRUE(SecretKeyring::IsStoredForm(stored));
    EXPECT_EQ(stored.find(secret.empty() ? "\x01" : secret), std::string::npos);
    std::string why;
    const auto back = ring.Decrypt(stored, why);
    ASSERT_TRUE(back.has_value()) << why;
    EXPECT_EQ(*back, secret);
  }
  EXPECT_EQ(ring.current_key_id().size(), 8u);
}

TEST(SecretBox, EachEncryptionUsesAFreshNonce) {
  const auto ring = SecretKeyring::FromBase64(kKeyA, {});
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(ring.Encrypt("same secret"));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(SecretBox, AnyAlteredByteOfTheStoredFormIsDetected) {
  const auto ring = SecretKeyring::FromBase64(kKeyA, {});
  const std::string stored = ring.Encrypt("signing-secret");
  const size_t body = stored.rfind(':') + 1;
  for (size_t i = body; i < stored.size(); ++i) {
    std::string bad = stored;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    std::string why;
    EXPECT_FALSE(ring.Decrypt(bad, why).has_value()) << "byte " << i;
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(why.find("signing-secret"), std::string::npos);
  }
  std::string why;
  EXPECT_FALSE(ring.Decrypt(stored.substr(0, stored.size() - 4), why).has_value());  // cut short
  EXPECT_FALSE(ring.Decrypt("plain-text-secret", why).has_value());
  EXPECT_NE(why.find("secret encrypt"), std::string::npos) << why;
}

TEST(SecretBox, AStoredFormMovedToAnotherKeyIdIsRefused) {
  // The key id is authenticated: relabelling a secret does not make another key decrypt it.
  const auto a = SecretKeyring::FromBase64(kKeyA, {});
  const auto ab = SecretKeyring::FromBase64(kKeyB, {kKeyA});
  std::string stored = a.Encrypt("x");
  stored.replace(10, 8, ab.current_key_id());
  std::string why;
  EXPECT_FALSE(ab.Decrypt(stored, why).has_value());
}

TEST(SecretBox, OlderKeysStillDecryptAndNewSecretsUseTheCurrentKey) {
  const auto old_ring = SecretKeyring::FromBase64(kKeyA, {});
  const std::string old_stored = old_ring.Encrypt("kept");
  const auto rotated = SecretKeyring::FromBase64(kKeyB, {kKeyA});
  std::string why;
  ASSERT_TRUE(rotated.Decrypt(old_stored, why).has_value()) << why;
  EXPECT_EQ(*rotated.Decrypt(old_stored, why), "kept");
  const std::string fresh = rotated.Encrypt("kept");
  EXPECT_EQ(SecretKeyring::KeyIdOf(fresh), rotated.current_key_id());
  EXPECT_NE(SecretKeyring::KeyIdOf(fresh), SecretKeyring::KeyIdOf(old_stored));
  // Without the old key it cannot be read, and the reason names the key id.
  const auto only_new = SecretKeyring::FromBase64(kKeyB, {});
  EXPECT_FALSE(only_new.Decrypt(old_stored, why).has_value());
  EXPECT_NE(why.find(SecretKeyring::KeyIdOf(old_stored)), std::string::npos) << why;
}

}  // namespace
}  // namespace hub
