#include "store/migrator.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <pqxx/pqxx>

#include "common/ids.hpp"
#include "common/log.hpp"

namespace hub::store {
namespace {

namespace fs = std::filesystem;

// Key of the session advisory lock that serialises migration runs ("hubmigr").
constexpr long long kMigrationLockKey = 0x6875626d696772LL;

struct MigrationFile {
  std::string version;  // file name without ".sql"
  std::string name;     // file name
  std::string sql;
  std::string checksum;  // sha256 hex of the contents
};

std::vector<MigrationFile> ReadMigrations(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("migrations folder '" + dir + "' does not exist or is not a folder");
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".sql" || !entry.is_regular_file()) continue;
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read migration " + p.string());
    std::ostringstream body;
    body << in.rdbuf();
    MigrationFile f;
    f.name = p.filename().string();
    f.version = p.stem().string();
    f.sql = body.str();
    f.checksum = common::Sha256Hex(f.sql);
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.name < b.name; });
  return files;
}

// "ERROR:  relation \"x\" does not exist\nLINE 3: ..." -> one line per part, trimmed.
std::string PgMessage(const pqxx::sql_error& e) {
  std::string m = e.what();
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  std::string state = e.sqlstate();
  if (!state.empty()) m += " (SQLSTATE " + state + ")";
  return m;
}

}  // namespace

std::string DefaultMigrationsDirFrom(const std::string& source_dir) {
  std::error_code ec;
  std::string in_tree = source_dir + "/schemas/sql";
  if (!source_dir.empty() && fs::is_directory(in_tree, ec)) return in_tree;
  return "/usr/share/hubworker/schemas/sql";
}

MigrationReport ApplyMigrations(const std::string& database_url, const std::string& dir) {
  std::vector<MigrationFile> files = ReadMigrations(dir);
  if (files.empty()) common::LogWarn("no migration files found", {{"dir", dir}});

  pqxx::connection conn(database_url);
  {
    pqxx::nontransaction q(conn);
    // Wait for any other migrating process; the lock is released when this
    // session ends, whatever happens below.
    if (!q.exec1("SELECT pg_try_advisory_lock(" + std::to_string(kMigrationLockKey) + ")")[0].as<bool>()) {
      common::LogInfo("another process is migrating; waiting for its lock");
      q.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
    }
    q.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
  }

  std::map<std::string, std::string> applied;  // version -> checksum
  {
    pqxx::nontransaction q(conn);
    for (const auto& row : q.exec("SELECT version, checksum FROM schema_migrations"))
      applied[row[0].as<std::string>()] = row[1].as<std::string>();
  }

  MigrationReport report;
  for (const auto& f : files) {
    auto it = applied.find(f.version);
    if (it != applied.end()) {
      if (it->second != f.checksum)
        throw std::runtime_error("migration " + f.name + " was changed after it was applied (checksum " +
                                 it->second.substr(0, 12) + " in schema_migrations, " + f.checksum.substr(0, 12) +
                                 " on disk); add a new migration file instead of editing an applied one");
      ++report.already;
      applied.erase(it);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
      pqxx::work txn(conn);
      txn.exec("SET LOCAL statement_timeout = 0");
      txn.exec(f.sql);
      txn.exec_params("INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", f.version,
                      f.checksum);
      txn.commit();
    } catch (const pqxx::sql_error& e) {
      throw std::runtime_error("migration " + f.name + " failed and was rolled back: " + PgMessage(e));
    } catch (const pqxx::in_doubt_error& e) {
      throw std::runtime_error("migration " + f.name +
                               ": the connection was lost during COMMIT, so whether it was applied is unknown; "
                               "run migrate again to find out (" + std::string(e.what()) + ")");
    } catch (const pqxx::broken_connection& e) {
      throw std::runtime_error("migration " + f.name + " failed: connection lost (" + std::string(e.what()) + ")");
    } catch (const pqxx::failure& e) {
      // libpqxx 6 reports e.g. serialization failures and deadlocks as
      // pqxx::failure subclasses that are not sql_errors.
      throw std::runtime_error("migration " + f.name + " failed and was rolled back: " + std::string(e.what()));
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    common::LogInfo("applied migration", {{"version", f.version}, {"ms", static_cast<long long>(ms)}});
    ++report.applied;
  }
  for (const auto& [version, checksum] : applied)
    common::LogWarn("schema_migrations lists a version that is not in the migrations folder "
                    "(applied by a newer release?)",
                    {{"version", version}, {"dir", dir}});

  pqxx::nontransaction q(conn);
  q.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
  return report;
}

}  // namespace hub::store
