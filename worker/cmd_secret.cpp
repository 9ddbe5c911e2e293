// `hubworker secret encrypt`: reads a secret on stdin and prints its stored
// form (common/secret_box.hpp) under HUB_SECRET_KEY, for an integration's
// credentials (e.g. credentials.signingSecret).  `hubworker secret rotate
// --org ID[,ID...]`: re-encrypts the organisations' stored integration
// secrets that were made with an older key (HUB_SECRET_KEYS_OLD) under
// HUB_SECRET_KEY.  It rewrites integrations, which hub_worker may only read:
// run it with the schema owner's HUB_DATABASE_URL.  Row-level security still
// shows one organisation at a time, so rotation names them.  Neither prints a
// secret.
#include <iostream>
#include <iterator>
#include <sstream>

#include <openssl/crypto.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/error.hpp"
#include "common/secret_box.hpp"
#include "store/connection.hpp"
#include "worker/command_args.hpp"
#include "worker/commands.hpp"
#include "worker/config.hpp"

namespace hub::worker {
namespace {

common::SecretKeyring Keyring(const Settings& s, const char* command) {
  RequireSetting(s.secret_key, "HUB_SECRET_KEY", command);
  return common::SecretKeyring::FromBase64(s.secret_key, s.secret_keys_old);
}

int Encrypt(const Settings& s) {
  const auto ring = Keyring(s, "secret encrypt");
  std::string secret((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  // One trailing newline is the terminal's or echo's, not the secret's.
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) {
    std::cerr << "secret encrypt: nothing on stdin (pipe the secret in: printf %s \"$SECRET\" | hubworker secret "
                 "encrypt)\n";
    return 2;
  }
  const std::string stored = ring.Encrypt(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  std::cout << stored << "\n";
  return 0;
}

// Re-encrypts the top-level string values of `credentials` that are stored
// forms of an older key; returns how many changed.
int RotateCredentials(const common::SecretKeyring& ring, rapidjson::Document& creds, std::string& error) {
  int changed = 0;
  if (!creds.IsObject()) return 0;
  for (auto& m : creds.GetObject()) {
    if (!m.value.IsString()) continue;
    const std::string_view v(m.value.GetString(), m.value.GetStringLength());
    if (!common::SecretKeyring::IsStoredForm(v) || common::SecretKeyring::KeyIdOf(v) == ring.current_key_id())
      continue;
    std::string why;
    auto plain = ring.Decrypt(v, why);
    if (!plain) {
      error = std::string(m.name.GetString()) + ": " + why;
      return -1;
    }
    const std::string again = ring.Encrypt(*plain);
    OPENSSL_cleanse(plain->data(), plain->size());
    m.value.SetString(again.data(), static_cast<rapidjson::SizeType>(again.size()), creds.GetAllocator());
    ++changed;
  }
  return changed;
}

int Rotate(const Settings& s, const CommandArgs& a) {
  const auto ring = Keyring(s, "secret rotate");
  RequireSetting(s.database_url, "HUB_DATABASE_URL", "secret rotate");
  const std::string orgs = a.Get("--org");
  if (orgs.empty()) throw common::ConfigError("secret rotate: --org ID[,ID...] is required");
  pqxx::connection conn(s.database_url);
  store::RequireRowSecurity(conn);
  int total = 0, failed = 0;
  std::stringstream list(orgs);
  for (std::string org; std::getline(list, org, ',');) {
    if (org.empty()) continue;
    pqxx::work txn(conn);
    store::SetTenant(txn, org);
    int changed_here = 0;
    for (const auto& r : txn.exec("SELECT id, credentials::text FROM integrations ORDER BY id FOR UPDATE")) {
      rapidjson::Document creds;
      creds.Parse(r[1].c_str(), r[1].size());
      std::string error;
      const int n = creds.HasParseError() ? 0 : RotateCredentials(ring, creds, error);
      if (n < 0) {
        std::cerr << "organization " << org << ", integration " << r[0].c_str() << ": " << error << "\n";
        ++failed;
        continue;
      }
      if (n == 0) continue;
      rapidjson::StringBuffer b;
      rapidjson::Writer<rapidjson::StringBuffer> w(b);
      creds.Accept(w);
      txn.exec_params("UPDATE integrations SET credentials = $1::jsonb WHERE id = $2", std::string(b.GetString()),
                      r[0].c_str());
      changed_here += n;
    }
    txn.commit();
    std::cout << "organization " << org << ": " << changed_here << " secret(s) re-encrypted under key "
              << ring.current_key_id() << "\n";
    total += changed_here;
  }
  std::cout << total << " secret(s) re-encrypted" << (failed ? ", " + std::to_string(failed) + " integration(s) failed" : "")
            << "\n";
  return failed ? 1 : 0;
}

}  // namespace

int SecretCommand(const Settings& s, const std::vector<std::string>& args) {
  const CommandArgs a = ParseCommandArgs("secret", args, {"--org"}, {});
  const std::string verb = a.positional.empty() ? "" : a.positional[0];
  if (verb == "encrypt") return Encrypt(s);
  if (verb == "rotate") return Rotate(s, a);
  throw common::ConfigError("secret: expected `encrypt` or `rotate`; see hubworker secret --help");
}

}  // namespace hub::worker
