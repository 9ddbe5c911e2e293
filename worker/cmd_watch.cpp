// `hubworker watch [--org ID] [--last N]`: executions of an organisation as
// they finish, one line each, until Ctrl-C.  Reads the database (it follows
// what was committed, whichever worker ran it); polls twice a second.
#include <iostream>

#include <pqxx/pqxx>

#include "common/error.hpp"
#include "store/connection.hpp"
#include "worker/command_args.hpp"
#include "worker/commands.hpp"
#include "worker/execution_view.hpp"
#include "worker/signals.hpp"

namespace hub::worker {
namespace {

constexpr const char* kColumns =
    "SELECT completed_at::text, id, workflow_id, status::text, coalesce(duration, 0), coalesce(nodes_executed, 0), "
    "coalesce(error, '') FROM workflow_executions WHERE organization_id = $1 AND completed_at IS NOT NULL "
    "AND status IN ('COMPLETED', 'FAILED', 'CANCELLED') ";

ExecutionRow RowOf(const pqxx::row& r) {
  return {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
          r[4].as<int64_t>(),     r[5].as<int>(),         r[6].as<std::string>()};
}

}  // namespace

int WatchCommand(const Settings& s, const std::vector<std::string>& args) {
  const CommandArgs a = ParseCommandArgs("watch", args, {"--org", "--last"}, {});
  if (!a.positional.empty()) throw common::ConfigError("watch: unexpected argument '" + a.positional[0] + "'");
  const std::string org = a.Get("--org", "org_demo");
  const int last = IntArg("watch", "--last", a.Get("--last", "5"), 0, 1000);
  RequireSetting(s.database_url, "HUB_DATABASE_URL", "watch");
  BlockStopSignals();

  pqxx::connection conn(s.database_url);
  std::string after_time = "-infinity", after_id;
  {
    pqxx::work txn(conn);
    store::SetTenant(txn, org);
    const auto r = txn.exec_params(std::string("SELECT * FROM (") + kColumns +
                                       "ORDER BY completed_at DESC, id DESC LIMIT $2) x ORDER BY 1, 2",
                                   org, last);
    const auto newest = txn.exec_params(
        "SELECT coalesce(max(completed_at)::text, '-infinity') FROM workflow_executions WHERE organization_id = $1",
        org);
    txn.commit();
    std::cout << "executions of organisation '" << org << "' as they finish (Ctrl-C stops)\n"
              << "FINISHED            WORKFLOW                 STATUS     DURATION  NODES   EXECUTION\n";
    for (const auto& row : r) std::cout << ExecutionLine(RowOf(row)) << "\n";
    std::cout << std::flush;
    after_time = newest[0][0].as<std::string>();
    after_id = r.empty() ? "" : r[r.size() - 1][1].as<std::string>();
    if (!r.empty() && r[r.size() - 1][0].as<std::string>() != after_time) after_id = "";
  }
  while (WaitForStopSignal(std::chrono::milliseconds(500)) == 0) {
    pqxx::work txn(conn);
    store::SetTenant(txn, org);
    const auto r = txn.exec_params(std::string(kColumns) +
                                       "AND (completed_at, id) > ($2::timestamptz, $3) ORDER BY completed_at, id "
                                       "LIMIT 1000",
                                   org, after_time, after_id);
    txn.commit();
    for (const auto& row : r) {
      std::cout << ExecutionLine(RowOf(row)) << "\n";
      after_time = row[0].as<std::string>();
      after_id = row[1].as<std::string>();
    }
    std::cout << std::flush;
  }
  return 0;
}

}  // namespace hub::worker
