// `hubworker secret encrypt` and `secret rotate` as an operator runs them:
// the stored form decrypts to what was piped in, and rotation re-encrypts
// the secrets an older key made under the current one, per organisation,
// leaving other credentials alone and printing no secret.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include "common/secret_box.hpp"
#include "store/connection.hpp"
#include "tests/support/pg_fixture.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {

using ::testing::HasSubstr;

const std::string kOld = common::EncodeBase64(std::string(32, 'o'));
const std::string kNew = common::EncodeBase64(std::string(32, 'n'));

// Runs `hubworker <args>` through the shell with `stdin_text` on stdin;
// returns stdout and sets `rc`.
std::string RunHubworker(const std::string& env, const std::string& args, const std::string& stdin_text, int& rc) {
  const std::string file = ::testing::TempDir() + "/secret_stdin";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fwrite(stdin_text.data(), 1, stdin_text.size(), f);
    std::fclose(f);
  }
  const std::string cmd = env + " " HUB_BINARY " " + args + " < '" + file + "' 2>&1";
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  rc = WEXITSTATUS(pclose(p));
  return out;
}

TEST(SecretCommand, EncryptPrintsAStoredFormThatDecryptsToStdin) {
  int rc = -1;
  const std::string out = RunHubworker("HUB_SECRET_KEY=" + kNew, "secret encrypt", "xoxb-signing-secret\n", rc);
  ASSERT_EQ(rc, 0) << out;
  ASSERT_FALSE(out.empty());
  const std::string stored = out.substr(0, out.find('\n'));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("xoxb")));
  std::string why;
  const auto ring = common::SecretKeyring::FromBase64(kNew, {});
  const auto plain = ring.Decrypt(stored, why);
  ASSERT_TRUE(plain.has_value()) << why << " in " << out;
  EXPECT_EQ(*plain, "xoxb-signing-secret");  // the terminal's newline is not part of it
  EXPECT_NE(RunHubworker("HUB_SECRET_KEY=" + kNew, "secret encrypt", "", rc).find("nothing on stdin"), std::string::npos);
  EXPECT_EQ(rc, 2);
}

// Rotation rewrites credentials, which hub_worker may not: it runs as the schema owner.
TEST(SecretCommand, RotateReEncryptsOldKeysSecretsOfTheNamedOrganisations) {
  testing::PgDatabase db;
  const auto old_ring = common::SecretKeyring::FromBase64(kOld, {});
  const auto new_ring = common::SecretKeyring::FromBase64(kNew, {kOld});
  for (const char* org : {"org_r1", "org_r2"}) {
    worker::SeedOptions so;
    so.organization_id = org;
    so.user_id = std::string("u_") + org;
    so.workflows = 0;
    so.with_inactive = false;
    worker::SeedOrganization(db.owner_url(), so);
    pqxx::connection c(db.owner_url());
    pqxx::work t(c);
    store::SetTenant(t, org);
    t.exec_params("INSERT INTO integrations (id, organization_id, name, provider, credentials) VALUES ($1, $2, 'x', "
                  "'slack', $3::jsonb)",
                  std::string("int_") + org, org,
                  R"({"signingSecret":")" + old_ring.Encrypt("secret-of-" + std::string(org)) +
                      R"(","botToken":")" + new_ring.Encrypt("already-new") + R"(","teamId":"T1"})");
    t.commit();
  }
  int rc = -1;
  const std::string env = "HUB_DATABASE_URL='" + db.owner_url() + "' HUB_SECRET_KEY=" + kNew + " HUB_SECRET_KEYS_OLD=" + kOld;
  const std::string out = RunHubworker(env, "secret rotate --org org_r1", "", rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("organization org_r1: 1 secret(s) re-encrypted under key " + new_ring.current_key_id()));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("secret-of")));

  pqxx::connection admin(db.admin_url());
  pqxx::nontransaction q(admin);
  auto creds = [&](const char* id) {
    rapidjson::Document d;
    d.Parse(q.exec_params("SELECT credentials::text FROM integrations WHERE id = $1", std::string(id))[0][0].c_str());
    return d;
  };
  const auto r1 = creds("int_org_r1");
  EXPECT_EQ(common::SecretKeyring::KeyIdOf(r1["signingSecret"].GetString()), new_ring.current_key_id());
  std::string why;
  EXPECT_EQ(*common::SecretKeyring::FromBase64(kNew, {}).Decrypt(r1["signingSecret"].GetString(), why),
            "secret-of-org_r1");
  EXPECT_STREQ(r1["teamId"].GetString(), "T1");
  // The organisation not named keeps its old-key secret.
  const auto r2 = creds("int_org_r2");
  EXPECT_EQ(common::SecretKeyring::KeyIdOf(r2["signingSecret"].GetString()), old_ring.current_key_id());
}

}  // namespace
}  // namespace hub
