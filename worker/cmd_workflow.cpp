// `hubworker workflow apply FILE [--org ID]` and `hubworker workflow list`:
// workflows as files.  apply checks a React-Flow workflow with the compiler the
// worker runs (errors name the node) before it saves anything.
#include <fstream>
#include <iostream>
#include <sstream>

#include <pqxx/pqxx>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/error.hpp"
#include "engine/workflow.hpp"
#include "store/connection.hpp"
#include "worker/command_args.hpp"
#include "worker/commands.hpp"

namespace hub::worker {
namespace {

// A workflow file: {"id", "name", "description"?, "active"?, "nodes", "edges", "variables"?}.
struct WorkflowFile {
  std::string id, name, description, nodes, edges, variables;
  bool active = true;
};

std::string Json(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

// Throws std::invalid_argument with what is wrong with the file.
WorkflowFile ReadWorkflowFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::invalid_argument("cannot read the file");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError() || !d.IsObject())
    throw std::invalid_argument("not a JSON object (expected {\"id\", \"name\", \"nodes\", \"edges\"})");
  WorkflowFile w;
  auto text_of = [&](const char* k, bool required, size_t max) {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd()) {
      if (required) throw std::invalid_argument(std::string("\"") + k + "\" is missing");
      return std::string();
    }
    if (!it->value.IsString() || (required && it->value.GetStringLength() == 0) ||
        it->value.GetStringLength() > max)
      throw std::invalid_argument(std::string("\"") + k + "\" must be a string of 1 to " + std::to_string(max) +
                                  " characters");
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  w.id = text_of("id", true, 256);
  w.name = text_of("name", true, 100);
  w.description = text_of("description", false, 10000);
  for (const char* k : {"nodes", "edges"}) {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd() || !it->value.IsArray())
      throw std::invalid_argument(std::string("\"") + k + "\" must be an array (React-Flow " + k + ")");
    (std::string(k) == "nodes" ? w.nodes : w.edges) = Json(it->value);
  }
  if (auto it = d.FindMember("variables"); it != d.MemberEnd()) {
    if (!it->value.IsObject()) throw std::invalid_argument("\"variables\" must be an object");
    w.variables = Json(it->value);
  }
  if (auto it = d.FindMember("active"); it != d.MemberEnd()) {
    if (!it->value.IsBool()) throw std::invalid_argument("\"active\" must be true or false");
    w.active = it->value.GetBool();
  }
  return w;
}

int Apply(const Settings& s, const std::string& path, const std::string& org) {
  WorkflowFile w;
  try {
    w = ReadWorkflowFile(path);
  } catch (const std::invalid_argument& e) {
    std::cerr << "hubworker workflow apply: " << path << ": " << e.what() << "\n";
    return 1;
  }
  const auto compiled = engine::CompileWorkflow(w.id, w.name, org, w.active, "", w.nodes, w.edges, w.variables);
  if (!compiled->compile_error.empty()) {
    std::cerr << "hubworker workflow apply: " << path << ": workflow '" << w.id
              << "' is not valid: " << compiled->compile_error << "\n";
    return 1;
  }
  pqxx::connection conn(s.database_url);
  pqxx::work txn(conn);
  store::SetTenant(txn, org);
  const auto created_org = txn.exec_params(
      "INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id", org,
      org, "slug-" + org);
  const auto r = txn.exec_params(
      "INSERT INTO automation_workflows (id, organization_id, name, description, nodes, edges, variables, is_active) "
      "VALUES ($1, $2, $3, nullif($4, ''), $5::jsonb, $6::jsonb, nullif($7, '')::jsonb, $8) "
      "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, "
      "nodes = EXCLUDED.nodes, edges = EXCLUDED.edges, variables = EXCLUDED.variables, "
      "is_active = EXCLUDED.is_active, updated_at = now() "
      "WHERE automation_workflows.organization_id = EXCLUDED.organization_id "
      "RETURNING (xmax = 0)",
      w.id, org, w.name, w.description, w.nodes, w.edges, w.variables, w.active);
  if (r.empty()) {
    std::cerr << "hubworker workflow apply: " << path << ": the id '" << w.id
              << "' belongs to another organisation's workflow; choose another id\n";
    return 1;
  }
  txn.commit();
  if (!created_org.empty()) std::cout << "created organisation '" << org << "'\n";
  std::cout << (r[0][0].as<bool>() ? "created" : "updated") << " workflow '" << w.id << "' (" << w.name << ", "
            << compiled->steps.size() << " nodes" << (w.active ? "" : ", inactive") << ") in organisation '" << org
            << "'\n";
  return 0;
}

int List(const Settings& s, const std::string& org) {
  pqxx::connection conn(s.database_url);
  pqxx::work txn(conn);
  store::SetTenant(txn, org);
  const auto r = txn.exec(
      "SELECT id, name, is_active, jsonb_array_length(nodes), execution_count, "
      "coalesce(to_char(last_executed, 'YYYY-MM-DD HH24:MI:SS'), '-') FROM automation_workflows ORDER BY id");
  txn.commit();
  if (r.empty()) {
    std::cout << "no workflows in organisation '" << org << "' (add one: hubworker workflow apply FILE --org " << org
              << ")\n";
    return 0;
  }
  std::printf("%-28s %-28s %-8s %5s %10s  %s\n", "ID", "NAME", "ACTIVE", "NODES", "EXECUTIONS", "LAST RUN");
  for (const auto& row : r)
    std::printf("%-28s %-28s %-8s %5d %10d  %s\n", row[0].c_str(), row[1].c_str(), row[2].as<bool>() ? "yes" : "no",
                row[3].as<int>(), row[4].as<int>(), row[5].c_str());
  return 0;
}

}  // namespace

int WorkflowCommand(const Settings& s, const std::vector<std::string>& args) {
  const CommandArgs a = ParseCommandArgs("workflow", args, {"--org"}, {});
  const std::string org = a.Get("--org", "org_demo");
  const std::string verb = a.positional.empty() ? "" : a.positional[0];
  if (verb == "apply") {
    if (a.positional.size() != 2) throw common::ConfigError("workflow apply: expected one file (workflow apply FILE)");
    RequireSetting(s.database_url, "HUB_DATABASE_URL", "workflow");
    return Apply(s, a.positional[1], org);
  }
  if (verb == "list") {
    if (a.positional.size() != 1) throw common::ConfigError("workflow list: unexpected argument '" + a.positional[1] + "'");
    RequireSetting(s.database_url, "HUB_DATABASE_URL", "workflow");
    return List(s, org);
  }
  throw common::ConfigError(verb.empty() ? "workflow: expected apply FILE or list"
                                         : "workflow: unknown action '" + verb + "' (expected apply FILE or list)");
}

}  // namespace hub::worker
