#include "engine/workflow.hpp"

#include <algorithm>
#include <map>
#include <queue>
#include <tuple>
#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/ids.hpp"
#include "common/json_text.hpp"

namespace hub::engine {
namespace {

// Definitions are parsed and walked by recursive code (RapidJSON's parser,
// writer and CopyFrom): the same bound as events (consumers/envelope.cpp).
constexpr int kMaxDefinitionDepth = 128;

// The separator before a step log entry.
void Sep(std::string& logs) {
  if (!logs.empty() && logs.back() != '[') logs += ',';
}

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string_view NodeType(const rapidjson::Value& node) {
  auto t = node.FindMember("type");
  if (t != node.MemberEnd() && t->value.IsString()) {
    std::string_view v(t->value.GetString(), t->value.GetStringLength());
    if (v != "default" && v != "custom") return v;
  }
  auto d = node.FindMember("data");
  if (d != node.MemberEnd() && d->value.IsObject()) {
    for (const char* k : {"type", "kind", "nodeType"}) {
      auto m = d->value.FindMember(k);
      if (m != d->value.MemberEnd() && m->value.IsString())
        return {m->value.GetString(), m->value.GetStringLength()};
    }
  }
  return {};
}

std::string StringMember(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return {};
  auto m = obj.FindMember(key);
  if (m == obj.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

void CompileStep(const rapidjson::Value& node, std::string_view type, CompiledStep& step) {
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  auto dm = node.FindMember("data");
  const rapidjson::Value& data = (dm != node.MemberEnd() && dm->value.IsObject()) ? dm->value : kEmpty;
  if (type == "trigger") {
    step.kind = StepKind::kTrigger;
  } else if (type == "transform") {
    step.kind = StepKind::kTransform;
    auto f = data.FindMember("fields");
    if (f == data.MemberEnd() || !f->value.IsObject())
      throw std::invalid_argument("transform node '" + step.node_id + "' has no data.fields object");
    for (auto& m : f->value.GetObject()) {
      std::string name(m.name.GetString(), m.name.GetStringLength());
      if (!m.value.IsString())
        throw std::invalid_argument("transform node '" + step.node_id + "': field '" + name +
                                    "' must be a template string");
      step.fields.emplace_back(name, Template::Compile({m.value.GetString(), m.value.GetStringLength()}));
    }
  } else if (type == "notification") {
    step.kind = StepKind::kNotification;
    std::string user = StringMember(data, "userId");
    if (user.empty()) throw std::invalid_argument("notification node '" + step.node_id + "' has no data.userId");
    step.user_id = Template::Compile(user);
    std::string title = StringMember(data, "title");
    step.title = Template::Compile(title.empty() ? "Workflow notification" : title);
    step.message = Template::Compile(StringMember(data, "message"));
    std::string t = StringMember(data, "notificationType");
    if (!t.empty()) step.notification_type = t;
    if (Utf8Chars(step.notification_type) > kMaxNotificationTypeChars)
      throw std::invalid_argument("notification node '" + step.node_id + "': notificationType has more than " +
                                  std::to_string(kMaxNotificationTypeChars) + " characters");
  } else if (type == "condition") {
    step.kind = StepKind::kCondition;
    step.condition = CompileCondition(step.node_id, data);
  } else if (type == "http_request") {
    step.kind = StepKind::kHttpRequest;
    step.http = CompileHttpNode(step.node_id, data);
  } else if (type == "ai_agent") {
    step.kind = StepKind::kAiAgent;
    step.agent = CompileAgentNode(step.node_id, data);
  } else if (type == "delay") {
    step.kind = StepKind::kDelay;
    auto ms = data.FindMember("ms");
    auto until = data.FindMember("until");
    if (ms != data.MemberEnd()) {
      if (!ms->value.IsInt64() || ms->value.GetInt64() < 0 || ms->value.GetInt64() > kMaxDelayMs)
        throw std::invalid_argument("delay node '" + step.node_id + "': data.ms must be an integer from 0 to " +
                                    std::to_string(kMaxDelayMs));
      step.delay_ms = ms->value.GetInt64();
    } else if (until != data.MemberEnd() && until->value.IsString()) {
      step.until = Template::Compile({until->value.GetString(), until->value.GetStringLength()});
    } else {
      throw std::invalid_argument("delay node '" + step.node_id +
                                  "' needs data.ms (milliseconds) or data.until (an RFC 3339 time or template)");
    }
  } else {
    throw std::invalid_argument("node '" + step.node_id + "' has type '" + std::string(type) +
                                "', which this worker does not run");
  }
}

// Orders the nodes reachable from the trigger(s) topologically (Kahn).
void CompileGraph(const rapidjson::Value& nodes, const rapidjson::Value& edges, CompiledWorkflow& wf) {
  if (!nodes.IsArray()) throw std::invalid_argument("nodes is not an array");
  if (!edges.IsArray()) throw std::invalid_argument("edges is not an array");
  std::map<std::string, const rapidjson::Value*> by_id;
  std::vector<std::string> order_ids;
  for (const auto& n : nodes.GetArray()) {
    std::string id = StringMember(n, "id");
    if (id.empty()) throw std::invalid_argument("a node has no id");
    if (!by_id.emplace(id, &n).second) throw std::invalid_argument("duplicate node id '" + id + "'");
    order_ids.push_back(id);
  }
  std::map<std::string, std::vector<std::string>> out_edges;
  std::vector<std::tuple<std::string, std::string, std::string>> handled_edges;  // source, target, handle
  std::map<std::string, int> indegree;
  for (const auto& id : order_ids) indegree[id] = 0;
  for (const auto& e : edges.GetArray()) {
    std::string s = StringMember(e, "source"), t = StringMember(e, "target");
    if (!by_id.count(s) || !by_id.count(t))
      throw std::invalid_argument("edge '" + StringMember(e, "id") + "' connects unknown nodes '" + s + "' -> '" + t + "'");
    out_edges[s].push_back(t);
    handled_edges.emplace_back(s, t, StringMember(e, "sourceHandle"));
    ++indegree[t];
  }
  std::vector<std::string> starts;
  for (const auto& id : order_ids)
    if (NodeType(*by_id[id]) == "trigger") starts.push_back(id);
  if (starts.empty())
    for (const auto& id : order_ids)
      if (indegree[id] == 0) starts.push_back(id);
  if (starts.empty()) throw std::invalid_argument("the workflow has no trigger node");

  // Reachable set, then Kahn restricted to it.
  std::map<std::string, bool> reachable;
  std::vector<std::string> stack = starts;
  while (!stack.empty()) {
    std::string id = stack.back();
    stack.pop_back();
    if (reachable[id]) continue;
    reachable[id] = true;
    for (const auto& t : out_edges[id]) stack.push_back(t);
  }
  std::map<std::string, int> indeg;
  for (const auto& [id, r] : reachable)
    if (r) indeg[id] = 0;
  for (const auto& [s, ts] : out_edges)
    if (reachable[s])
      for (const auto& t : ts) ++indeg[t];
  std::queue<std::string> ready;
  for (const auto& id : order_ids)
    if (reachable[id] && indeg[id] == 0) ready.push(id);
  size_t emitted = 0;
  while (!ready.empty()) {
    std::string id = ready.front();
    ready.pop();
    ++emitted;
    CompiledStep step;
    step.node_id = id;
    CompileStep(*by_id[id], NodeType(*by_id[id]), step);
    wf.steps.push_back(std::move(step));
    for (const auto& t : out_edges[id])
      if (--indeg[t] == 0) ready.push(t);
  }
  if (emitted != indeg.size()) throw std::invalid_argument("the workflow graph has a cycle");
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < wf.steps.size(); ++i) index_of[wf.steps[i].node_id] = i;
  for (const auto& [s, t, handle] : handled_edges) {
    auto from = index_of.find(s), to = index_of.find(t);
    if (from == index_of.end() || to == index_of.end()) continue;  // not reachable from the trigger
    const bool from_condition = wf.steps[from->second].kind == StepKind::kCondition;
    if (from_condition && !handle.empty() && handle != "true" && handle != "false")
      throw std::invalid_argument("edge from condition '" + s + "' has sourceHandle '" + handle +
                                  "'; it must be \"true\" or \"false\"");
    wf.steps[to->second].incoming.push_back({from->second, from_condition ? handle : std::string()});
  }
}

void AppendValue(const rapidjson::Value& v, std::string& out) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  out.append(buf.GetString(), buf.GetSize());
}

const char* StepTypeName(StepKind k) {
  switch (k) {
    case StepKind::kTrigger: return "trigger";
    case StepKind::kTransform: return "transform";
    case StepKind::kNotification: return "notification";
    case StepKind::kDelay: return "delay";
    case StepKind::kHttpRequest: return "http_request";
    case StepKind::kCondition: return "condition";
    case StepKind::kAiAgent: return "ai_agent";
  }
  return "unknown";
}

}  // namespace

const char* ToString(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::kCompleted: return "COMPLETED";
    case ExecutionStatus::kFailed: return "FAILED";
    case ExecutionStatus::kCancelled: return "CANCELLED";
    case ExecutionStatus::kRunning: return "RUNNING";
  }
  return "FAILED";
}

std::shared_ptr<const CompiledWorkflow> CompileWorkflow(std::string id, std::string name, std::string organization_id,
                                                        bool active, std::string updated_at,
                                                        std::string_view nodes_json, std::string_view edges_json,
                                                        std::string_view variables_json) {
  auto wf = std::make_shared<CompiledWorkflow>();
  wf->id = std::move(id);
  wf->name = std::move(name);
  wf->organization_id = std::move(organization_id);
  wf->active = active;
  wf->updated_at = std::move(updated_at);
  wf->meta.SetObject();
  auto& a = wf->meta.GetAllocator();
  wf->meta.AddMember("id", rapidjson::Value(wf->id.c_str(), a), a);
  wf->meta.AddMember("name", rapidjson::Value(wf->name.c_str(), a), a);
  try {
    for (std::string_view json : {nodes_json, edges_json, variables_json})
      if (common::JsonNestsDeeperThan(json, kMaxDefinitionDepth))
        throw std::invalid_argument("JSON nested deeper than " + std::to_string(kMaxDefinitionDepth) +
                                    " levels is refused");
    if (!variables_json.empty()) {
      wf->variables.Parse(variables_json.data(), variables_json.size());
      if (wf->variables.HasParseError()) wf->variables.SetNull();
    }
    rapidjson::Document nodes, edges;
    nodes.Parse(nodes_json.data(), nodes_json.size());
    edges.Parse(edges_json.data(), edges_json.size());
    if (nodes.HasParseError()) throw std::invalid_argument("nodes is not valid JSON");
    if (edges.HasParseError()) throw std::invalid_argument("edges is not valid JSON");
    CompileGraph(nodes, edges, *wf);
    for (const auto& step : wf->steps) {
      bool reads = step.kind == StepKind::kDelay || step.kind == StepKind::kHttpRequest ||
                   step.kind == StepKind::kAiAgent;
      for (const auto& f : step.fields) reads = reads || f.second.RefersTo("nodes");
      reads = reads || step.user_id.RefersTo("nodes") || step.title.RefersTo("nodes") ||
              step.message.RefersTo("nodes") || step.until.RefersTo("nodes") ||
              (step.condition && step.condition->RefersTo("nodes"));
      wf->keeps_node_outputs = wf->keeps_node_outputs || reads;
    }
  } catch (const std::invalid_argument& e) {
    wf->steps.clear();
    wf->compile_error = std::string("invalid workflow definition: ") + e.what();
  } catch (const std::exception& e) {
    // Out of memory or a library limit on a hostile definition: still the
    // definition's problem, never the worker's.
    wf->steps.clear();
    wf->compile_error = std::string("invalid workflow definition: cannot be compiled: ") + e.what();
  }
  return wf;
}

namespace {

// nodes[id] = {"output": value} (value is moved; same allocator).
void SetNodeOutput(rapidjson::Document& nodes, const std::string& id, rapidjson::Value& value) {
  auto& alloc = nodes.GetAllocator();
  rapidjson::Value entry(rapidjson::kObjectType);
  entry.AddMember("output", value, alloc);
  auto existing = nodes.FindMember(rapidjson::StringRef(id.data(), id.size()));
  if (existing != nodes.MemberEnd()) existing->value = entry;
  else nodes.AddMember(rapidjson::Value(id.data(), static_cast<rapidjson::SizeType>(id.size()), alloc), entry, alloc);
}

void RunTransform(const CompiledStep& step, const TemplateContext& ctx, rapidjson::Document& output,
                  rapidjson::Document* nodes, std::string& logs) {
  auto& alloc = output.GetAllocator();
  logs += ",\"output\":{";
  bool first = true;
  rapidjson::Value node_output(rapidjson::kObjectType);  // {{nodes.<id>.output.<field>}}
  for (const auto& [name, tmpl] : step.fields) {
    rapidjson::Value v;
    tmpl.RenderValue(ctx, v, alloc);
    if (!first) logs += ',';
    first = false;
    common::AppendJsonString(logs, name);
    logs += ':';
    AppendValue(v, logs);
    if (nodes)
      node_output.AddMember(rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc),
                            rapidjson::Value(v, alloc), alloc);
    auto existing = output.FindMember(rapidjson::StringRef(name.data(), name.size()));
    if (existing != output.MemberEnd()) existing->value = v;
    else output.AddMember(rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc), v, alloc);
  }
  logs += '}';
  if (nodes) SetNodeOutput(*nodes, step.node_id, node_output);
}

void RunNotification(const CompiledWorkflow& wf, const CompiledStep& step, const TriggerInput& trigger,
                     const TemplateContext& ctx, ExecutionResult& out, std::string& logs) {
  NotificationWrite n;
  n.id = std::string(trigger.execution_id) + ":" + step.node_id;
  step.user_id.RenderText(ctx, n.user_id);
  step.title.RenderText(ctx, n.title);
  step.message.RenderText(ctx, n.message);
  if (n.user_id.empty()) throw ExecutionError("userId rendered empty");
  if (const size_t chars = Utf8Chars(n.title); chars > kMaxNotificationTitleChars)
    throw ExecutionError("title rendered " + std::to_string(chars) + " characters; a notification title has at most " +
                         std::to_string(kMaxNotificationTitleChars));
  n.type = step.notification_type;
  n.metadata_json = "{\"executionId\":";
  common::AppendJsonString(n.metadata_json, trigger.execution_id);
  n.metadata_json += ",\"workflowId\":";
  common::AppendJsonString(n.metadata_json, wf.id);
  n.metadata_json += ",\"nodeId\":";
  common::AppendJsonString(n.metadata_json, step.node_id);
  n.metadata_json += '}';
  logs += ",\"notificationId\":";
  common::AppendJsonString(logs, n.id);
  logs += ",\"userId\":";
  common::AppendJsonString(logs, n.user_id);
  out.notifications.push_back(std::move(n));
}

// When the delay of `step` is over.
int64_t DelayUntil(const CompiledStep& step, const TemplateContext& ctx, int64_t now_us) {
  if (step.delay_ms >= 0) return now_us + step.delay_ms * 1000;
  std::string text;
  step.until.RenderText(ctx, text);
  int64_t until = 0;
  std::string why;
  if (!common::ParseRfc3339(text, until, &why))
    throw ExecutionError("until rendered \"" + Excerpt(text) + "\", which is not an RFC 3339 time: " + why);
  if (until - now_us > kMaxDelayMs * 1000)
    throw ExecutionError("until " + Excerpt(text) + " is more than " + std::to_string(kMaxDelayMs / 86400000) +
                         " days away");
  return until;
}

void AppendDelayLog(int64_t until_us, std::string& logs) {
  logs += ",\"until\":";
  common::AppendJsonString(logs, common::FormatRfc3339(until_us));
}

// Opens a step log entry: {"nodeId":..,"type":..,"status":..  (the caller
// adds its fields and the closing brace).
void BeginLogEntry(std::string& logs, const CompiledStep& step, const char* status) {
  Sep(logs);
  logs += "{\"nodeId\":";
  common::AppendJsonString(logs, step.node_id);
  logs += ",\"type\":\"";
  logs += StepTypeName(step.kind);
  logs += "\",\"status\":\"";
  logs += status;
  logs += '"';
}

// `step` waits as a durable step of `kind`, due at `due_us`: its log entry
// (begun at `node_start`) is taken back; the caller makes the step durable.
void Park(const CompiledStep& step, const char* kind, int64_t due_us, std::string request, size_t node_start,
          ExecutionResult& out) {
  out.logs_json.resize(node_start);
  out.parked.push_back(ParkedStep{step.node_id, kind, due_us, std::move(request)});
}

// The execution ends FAILED at `step` (null: before any node ran); `logs`
// ends with the failed node's entry.
void FailExecution(const CompiledStep* step, size_t node_start, std::string_view why, ExecutionResult& out) {
  std::string& logs = out.logs_json;
  logs.resize(node_start);
  std::string error = step ? "node '" + Excerpt(step->node_id) + "' (" + StepTypeName(step->kind) + "): " : "";
  error += why;
  error = Excerpt(error, kMaxErrorBytes);
  if (step) {
    BeginLogEntry(logs, *step, "FAILED");
    logs += ",\"error\":";
    common::AppendJsonString(logs, error);
    logs += '}';
    ++out.nodes_executed;
  }
  logs += ']';
  out.status = ExecutionStatus::kFailed;
  out.error = std::move(error);
  out.output_json = "{}";
  out.notifications.clear();
  out.parked.clear();  // nodes parked earlier in this run wait for nothing now
  out.waiting_at.clear();
}

}  // namespace

namespace {

// kPending: parked, waiting for its durable step.
enum : uint8_t { kNotReached, kRan, kSkipped, kPending };

bool Decided(uint8_t f) { return f == kRan || f == kSkipped; }

bool Waits(StepKind k) { return k == StepKind::kDelay || k == StepKind::kHttpRequest || k == StepKind::kAiAgent; }

// What became of each step before the execution parked, read back from its
// step log: which ran, which were skipped, and each condition's result.
void RestoreFates(const CompiledWorkflow& wf, std::string_view logs_json, uint8_t* fate, int8_t* verdict) {
  rapidjson::Document logs;
  logs.Parse(logs_json.data(), logs_json.size());
  if (!logs.IsArray()) return;
  for (const auto& entry : logs.GetArray()) {
    if (!entry.IsObject() || !entry.HasMember("nodeId") || !entry["nodeId"].IsString()) continue;
    const std::string_view id(entry["nodeId"].GetString(), entry["nodeId"].GetStringLength());
    for (size_t i = 0; i < wf.steps.size(); ++i) {
      if (wf.steps[i].node_id != id) continue;
      const auto status = entry.FindMember("status");
      const bool skipped = status != entry.MemberEnd() && status->value.IsString() &&
                           std::string_view(status->value.GetString()) == "SKIPPED";
      fate[i] = skipped ? kSkipped : kRan;
      const auto result = entry.FindMember("result");
      if (result != entry.MemberEnd() && result->value.IsBool()) verdict[i] = result->value.GetBool() ? 1 : 0;
    }
  }
  // Every run decides each node whose predecessors are all decided: it runs,
  // is skipped, or parks.  So a node that could run and is not in the log is
  // parked; the others wait behind one.
  for (size_t i = 0; i < wf.steps.size(); ++i) {
    if (fate[i] != kNotReached) continue;
    bool ready = true;
    for (const auto& in : wf.steps[i].incoming) ready = ready && Decided(fate[in.from]);
    if (ready && Waits(wf.steps[i].kind)) fate[i] = kPending;
  }
}

// Whether one of the edges into `step` is taken.
bool Reached(const CompiledStep& step, const uint8_t* fate, const int8_t* verdict) {
  if (step.incoming.empty()) return true;  // an entry point
  for (const auto& in : step.incoming)
    if (fate[in.from] == kRan && (in.handle.empty() || verdict[in.from] == (in.handle == "true" ? 1 : 0)))
      return true;
  return false;
}

// Whether every node before `step` has finished or been skipped.
bool Ready(const CompiledStep& step, const uint8_t* fate) {
  for (const auto& in : step.incoming)
    if (!Decided(fate[in.from])) return false;
  return true;
}

}  // namespace

void RunWorkflow(const CompiledWorkflow& wf, const TriggerInput& trigger, const ExecutionLimits& limits,
                 ExecutionResult& out, const ResumePoint* resume) {
  out = ExecutionResult{};
  if (!wf.active) {
    out.status = ExecutionStatus::kCancelled;
    out.error = Excerpt("workflow " + wf.id + " is inactive (is_active = false); nothing " +
                            (resume ? "more was run" : "was run"),
                        kMaxErrorBytes);
    if (resume) {
      out.output_json = std::string(resume->output_json);
      out.logs_json = std::string(resume->logs_json);
      out.nodes_executed = resume->nodes_executed;
      out.tokens_used = resume->tokens_used;
      out.cost = resume->cost;
    }
    return;
  }
  if (!wf.compile_error.empty()) {
    out.status = ExecutionStatus::kFailed;
    out.error = Excerpt(wf.compile_error, kMaxErrorBytes);
    return;
  }
  if (wf.steps.size() > static_cast<size_t>(limits.max_nodes)) {
    out.logs_json = "[";
    FailExecution(nullptr, 1,
                  "the workflow has " + std::to_string(wf.steps.size()) + " nodes to run; an execution runs at most " +
                      std::to_string(limits.max_nodes) + " (HUB_MAX_NODES_EXECUTED)",
                  out);
    return;
  }
  // The output document lives in a stack buffer: no heap allocation for
  // typical outputs (larger ones spill into heap chunks).
  char buffer[2048];
  rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
  rapidjson::Document output(rapidjson::kObjectType, &pool);
  rapidjson::Document nodes(rapidjson::kObjectType, &pool);  // same allocator: values move between them
  RenderBudget budget(limits);
  TemplateContext ctx;
  ctx.input = trigger.input;
  ctx.output = &output;
  ctx.variables = wf.variables.IsNull() ? nullptr : &wf.variables;
  ctx.trigger = trigger.event;
  ctx.workflow = &wf.meta;
  ctx.nodes = &nodes;
  ctx.budget = &budget;

  std::string& logs = out.logs_json;
  logs.assign("[");
  // On the stack for workflows of up to 64 nodes (the hot path allocates
  // nothing for them).
  constexpr size_t kInline = 64;
  uint8_t fate_inline[kInline];
  int8_t verdict_inline[kInline];
  std::vector<uint8_t> fate_heap;
  std::vector<int8_t> verdict_heap;
  uint8_t* fate = fate_inline;
  int8_t* verdict = verdict_inline;
  if (wf.steps.size() > kInline) {
    fate_heap.resize(wf.steps.size());
    verdict_heap.resize(wf.steps.size());
    fate = fate_heap.data();
    verdict = verdict_heap.data();
  }
  std::fill(fate, fate + wf.steps.size(), static_cast<uint8_t>(kNotReached));
  std::fill(verdict, verdict + wf.steps.size(), static_cast<int8_t>(-1));
  // Whether a node is parked: nodes after it may then have to wait (on the
  // hot path, nothing parks and no node waits for another).
  bool any_pending = false;
  if (resume) {
    RestoreFates(wf, resume->logs_json, fate, verdict);
    // The parked node's result has come: it completes (or fails) now, and
    // the execution goes on from what it had produced.
    size_t at = wf.steps.size();
    for (size_t i = 0; i < wf.steps.size(); ++i)
      if (wf.steps[i].node_id == resume->node_id && fate[i] == kPending) at = i;
    out.nodes_executed = resume->nodes_executed;
    out.tokens_used = resume->tokens_used;
    out.cost = resume->cost;
    logs.assign(resume->logs_json.substr(0, resume->logs_json.rfind(']')));
    output.Parse(resume->output_json.data(), resume->output_json.size());
    nodes.Parse(resume->nodes_json.data(), resume->nodes_json.size());
    const bool state_ok = !output.HasParseError() && output.IsObject() && !nodes.HasParseError() && nodes.IsObject();
    if (!state_ok) {
      output.SetObject();
      nodes.SetObject();
    }
    if (at == wf.steps.size() || !state_ok) {
      FailExecution(nullptr, logs.size(),
                    "the workflow changed while the execution waited: '" + Excerpt(resume->node_id) +
                        "' is no longer a node it can resume at",
                    out);
      return;
    }
    const CompiledStep& waited = wf.steps[at];
    const size_t node_start = logs.size();
    if (waited.kind != StepKind::kDelay && !resume->node_error.empty()) {
      FailExecution(&waited, node_start, resume->node_error, out);
      return;
    }
    BeginLogEntry(logs, waited, "COMPLETED");
    if (waited.kind == StepKind::kDelay) {
      AppendDelayLog(resume->waited_until_us, logs);
    } else {
      // The response is the node's output: {{nodes.<id>.output.body...}}.
      rapidjson::Value response;
      rapidjson::Document parsed(&pool);
      parsed.Parse(resume->node_output_json.data(), resume->node_output_json.size());
      if (parsed.HasParseError()) parsed.SetNull();
      try {
        budget.Charge(resume->node_output_json.size(), resume->node_output_json.size());
      } catch (const ExecutionError& e) {
        FailExecution(&waited, node_start, std::string("response: ") + e.what(), out);
        return;
      }
      logs += ",\"attempts\":" + std::to_string(resume->attempts);
      if (waited.kind == StepKind::kAiAgent) {
        // The model's reported usage is the execution's (tokensUsed, cost).
        int64_t tokens = 0;
        double cost = 0;
        AgentUsage(parsed, tokens, cost);
        out.tokens_used = std::min(kMaxTokensUsed, out.tokens_used + std::min(tokens, kMaxTokensUsed));
        out.cost = std::min(kMaxCostCents, out.cost + std::min(cost, kMaxCostCents));
        logs += ",\"tokensUsed\":" + std::to_string(tokens);
      } else if (parsed.IsObject() && parsed.HasMember("status") && parsed["status"].IsInt()) {
        logs += ",\"httpStatus\":" + std::to_string(parsed["status"].GetInt());
      }
      response.Swap(parsed);
      SetNodeOutput(nodes, waited.node_id, response);
    }
    logs += '}';
    ++out.nodes_executed;
    fate[at] = kRan;
    for (size_t i = 0; i < wf.steps.size(); ++i) any_pending = any_pending || fate[i] == kPending;
  }
  for (size_t k = 0; k < wf.steps.size(); ++k) {
    const CompiledStep& step = wf.steps[k];
    if (fate[k] != kNotReached) continue;            // ran, skipped or parked before
    if (any_pending && !Ready(step, fate)) continue;  // behind a parked node
    const size_t node_start = logs.size();
    if (!Reached(step, fate, verdict)) {
      // On a branch not taken (or behind one): recorded, not run.
      BeginLogEntry(logs, step, "SKIPPED");
      logs += '}';
      fate[k] = kSkipped;
      continue;
    }
    // Every failure is this execution's own: the definition and the event
    // are the same on every retry.  Out of memory included: the budget keeps
    // an execution far below what the process has.
    try {
      BeginLogEntry(logs, step, "COMPLETED");
      bool parked = false;
      switch (step.kind) {
        case StepKind::kTrigger:
          break;
        case StepKind::kTransform:
          RunTransform(step, ctx, output, wf.keeps_node_outputs ? &nodes : nullptr, logs);
          break;
        case StepKind::kNotification:
          RunNotification(wf, step, trigger, ctx, out, logs);
          break;
        case StepKind::kDelay: {
          const int64_t until = DelayUntil(step, ctx, trigger.now_unix_us);
          if (until > trigger.now_unix_us) {
            Park(step, "delay", until, {}, node_start, out);
            parked = true;
            break;
          }
          AppendDelayLog(until, logs);
          break;
        }
        case StepKind::kCondition: {
          const bool holds = EvaluateCondition(*step.condition, ctx);
          verdict[k] = holds ? 1 : 0;
          logs += holds ? ",\"result\":true" : ",\"result\":false";
          if (wf.keeps_node_outputs) {
            rapidjson::Value result(rapidjson::kObjectType);
            result.AddMember("result", holds, nodes.GetAllocator());
            SetNodeOutput(nodes, step.node_id, result);
          }
          break;
        }
        case StepKind::kHttpRequest:
          // The call is made by a step runner, outside any transaction; the
          // request is rendered now, from the state it depends on.
          Park(step, "http_request", trigger.now_unix_us, ToJson(RenderHttpRequest(*step.http, ctx)), node_start,
               out);
          parked = true;
          break;
        case StepKind::kAiAgent:
          // The model is called by a step runner, as an http_request is; the
          // prompt is rendered now, from the state it depends on.
          Park(step, "ai_agent", trigger.now_unix_us, ToJson(RenderAgentRequest(*step.agent, ctx)), node_start, out);
          parked = true;
          break;
      }
      if (parked) {
        fate[k] = kPending;
        any_pending = true;
        continue;
      }
      logs += '}';
      ++out.nodes_executed;
      fate[k] = kRan;
    } catch (const ExecutionError& e) {
      FailExecution(&step, node_start, e.what(), out);
      return;
    } catch (const std::bad_alloc&) {
      FailExecution(&step, node_start, "out of memory while running the node", out);
      return;
    } catch (const std::exception& e) {
      FailExecution(&step, node_start, std::string("internal error: ") + e.what(), out);
      return;
    }
  }
  if (any_pending) {
    // RUNNING: what it produced so far is stored with it until a parked
    // node's result comes.
    logs += ']';
    out.status = ExecutionStatus::kRunning;
    for (size_t i = 0; i < wf.steps.size() && out.waiting_at.empty(); ++i)
      if (fate[i] == kPending) out.waiting_at = wf.steps[i].node_id;
    out.output_json.clear();
    AppendValue(output, out.output_json);
    out.nodes_json.clear();
    AppendValue(nodes, out.nodes_json);
    return;
  }
  logs += ']';
  out.output_json.clear();
  AppendValue(output, out.output_json);
  if (out.output_json.size() > limits.max_output_bytes) {
    const size_t size = out.output_json.size();
    logs.pop_back();
    FailExecution(nullptr, logs.size(),
                  "the output is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(limits.max_output_bytes) + " bytes (HUB_MAX_OUTPUT_BYTES)",
                  out);
  }
}

}  // namespace hub::engine
