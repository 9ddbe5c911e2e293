// `hubworker migrate [--dir DIR]`: applies schemas/sql migrations.  Safe to run
// from many pods at once (see store/migrator.hpp).  Exit 0 on success, 1 when
// a migration or the connection fails; a bad setting is a ConfigError (exit 2).
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"
#include "store/migrator.hpp"
#include "worker/commands.hpp"

namespace hub::worker {
int MigrateCommand(const Settings& s, const std::vector<std::string>& args) {
  std::string dir;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--dir") {
      if (i + 1 >= args.size()) throw common::ConfigError("--dir: needs a folder (migrate --dir DIR)");
      dir = args[++i];
    } else if (a.rfind("--dir=", 0) == 0) {
      dir = a.substr(6);
    } else {
      throw common::ConfigError("unknown argument '" + a + "' for migrate (see hubworker migrate --help)");
    }
    if (dir.empty()) throw common::ConfigError("--dir: needs a folder (migrate --dir DIR)");
  }
  RequireSetting(s.database_url, "HUB_DATABASE_URL", "migrate");
  if (dir.empty()) dir = store::DefaultMigrationsDir();

  const std::string where = common::RedactUrl(s.database_url);
  common::LogInfo("migrating", {{"database", where}, {"dir", dir}});
  try {
    store::MigrationReport r = store::ApplyMigrations(s.database_url, dir);
    common::LogInfo("migrations done", {{"applied", r.applied}, {"already_applied", r.already}, {"dir", dir}});
    return 0;
  } catch (const std::exception& e) {
    common::LogError("migration failed", {{"database", where}, {"dir", dir}, {"error", e.what()}});
    return 1;
  }
}

}  // namespace hub::worker
