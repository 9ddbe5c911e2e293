#include "consumers/integrations/webhook_handler.hpp"

#include <map>
#include <set>
#include <stdexcept>

#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "consumers/integrations/statements.hpp"
#include "engine/webhook_signature.hpp"
#include "engine/webhook_triggers.hpp"
#include "store/pg_array.hpp"

namespace hub::integrations {

using consumers::WorkItem;
namespace {

std::string_view StringField(const rapidjson::Value& obj, const char* key) {
  auto m = obj.FindMember(key);
  if (m == obj.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

engine::HeaderList HeadersOf(const rapidjson::Value& data) {
  engine::HeaderList out;
  auto m = data.FindMember("headers");
  if (m == data.MemberEnd() || !m->value.IsObject()) return out;
  for (const auto& h : m->value.GetObject())
    if (h.value.IsString())
      out.emplace_back(std::string_view(h.name.GetString(), h.name.GetStringLength()),
                       std::string_view(h.value.GetString(), h.value.GetStringLength()));
  return out;
}

struct Integration {
  std::string provider;
  bool active = false;
  std::string stored_secret;  // the encrypted form, as stored
  std::string pinned_scheme;  // config.signatureScheme
};

// What Load found for a webhook, carried to Apply in WorkItem::loaded.
struct Loaded {
  std::string operation_id;
  std::string provider;
  bool active = false;
  bool applied_before = false;  // its operation is recorded: a redelivery
  engine::SignatureScheme scheme = engine::SignatureScheme::kNone;
  std::string replay_key;       // hex
  int64_t remember_until_us = 0;
};

// Decrypted signing secrets of one Load call, wiped when it ends.
class SecretCache {
 public:
  ~SecretCache() {
    for (auto& [id, s] : plain_) OPENSSL_cleanse(s.data(), s.size());
  }
  std::map<std::string, std::string, std::less<>> plain_;
  std::map<std::string, std::string, std::less<>> refused_;  // integration -> why
};

}  // namespace

std::string OperationIdOf(const WorkItem& item, std::string_view org) {
  return common::TimeOrderedUuid(item.env.time_unix_us / 1000, org, item.env.source, item.env.id);
}

WebhookHandler::WebhookHandler(std::string topic_prefix, size_t max_event_bytes,
                               std::shared_ptr<const common::SecretKeyring> secrets, const common::Clock& clock)
    : triggered_topic_(topic_prefix + "workflow.triggered"),
      processed_topic_(topic_prefix + "integration.processed"),
      max_event_bytes_(max_event_bytes),
      secrets_(std::move(secrets)),
      clock_(clock) {}

void WebhookHandler::Prepare(pqxx::connection& conn) { PrepareStatements(conn); }

void WebhookHandler::Load(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& items) {
  using store::PgArray;
  using store::PgElement;
  std::set<std::string_view> wanted;
  PgArray ids(PgElement::kText), op_ids(PgElement::kText);
  std::vector<std::string> ops;
  ops.reserve(items.size());
  for (auto* it : items) {
    const std::string_view iid = StringField(it->env.data(), "integrationId");
    if (wanted.insert(iid).second) ids.Add(iid);
    ops.push_back(OperationIdOf(*it, org));
    op_ids.Add(ops.back());
  }
  std::map<std::string, Integration, std::less<>> integrations;
  for (const auto& r : txn.exec_prepared(sql::kLoadIntegrations, ids.param())) {
    Integration& i = integrations[r[0].c_str()];
    i.provider = r[1].c_str();
    i.active = r[2].as<bool>();
    i.stored_secret = r[3].c_str();
    i.pinned_scheme = r[4].c_str();
  }
  std::set<std::string, std::less<>> applied;
  for (const auto& r : txn.exec_prepared(sql::kExistingOperations, op_ids.param())) applied.insert(r[0].c_str());

  const int64_t now_us = clock_.NowUnixMicros();
  SecretCache secrets;
  std::vector<std::pair<WorkItem*, std::shared_ptr<Loaded>>> verified;
  for (size_t n = 0; n < items.size(); ++n) {
    WorkItem* it = items[n];
    const rapidjson::Value& data = it->env.data();
    const std::string_view iid = StringField(data, "integrationId");
    auto found = integrations.find(iid);
    if (found == integrations.end()) {
      it->Fail(common::ErrorClass::kNotFound,
               "integration '" + std::string(iid) + "' not found in organization '" + org +
                   "' (it does not exist, or belongs to another organization)");
      continue;
    }
    const Integration& in = found->second;
    auto l = std::make_shared<Loaded>();
    l->operation_id = ops[n];
    l->provider = in.provider;
    l->active = in.active;
    if (applied.count(l->operation_id)) {
      l->applied_before = true;
      it->loaded = l;
      continue;
    }
    if (!secrets_ || secrets_->empty()) {
      it->Fail(common::ErrorClass::kSignature,
               "HUB_SECRET_KEY is not set on this worker, so webhook signatures cannot be verified; set it and "
               "redrive (hubworker dlq redrive --class signature)");
      continue;
    }
    if (in.stored_secret.empty()) {
      it->Fail(common::ErrorClass::kSignature,
               "integration '" + std::string(iid) +
                   "' has no signing secret (credentials.signingSecret; store the output of `hubworker secret "
                   "encrypt` there)");
      continue;
    }
    auto plain = secrets.plain_.find(iid);
    if (plain == secrets.plain_.end() && !secrets.refused_.count(iid)) {
      std::string why;
      if (auto p = secrets_->Decrypt(in.stored_secret, why)) plain = secrets.plain_.emplace(iid, std::move(*p)).first;
      else secrets.refused_.emplace(iid, why);
    }
    if (plain == secrets.plain_.end()) {
      it->Fail(common::ErrorClass::kSignature, "integration '" + std::string(iid) +
                                                   "': credentials.signingSecret cannot be used: " +
                                                   secrets.refused_.find(iid)->second);
      continue;
    }
    const engine::HeaderList headers = HeadersOf(data);
    l->scheme = engine::ChooseScheme(in.pinned_scheme, in.provider, headers);
    if (!in.pinned_scheme.empty() && l->scheme == engine::SignatureScheme::kNone) {
      it->Fail(common::ErrorClass::kSignature, "integration '" + std::string(iid) + "': config.signatureScheme '" +
                                                   in.pinned_scheme + "' is not one of slack, github, stripe");
      continue;
    }
    const auto check = engine::VerifySignature(l->scheme, headers, StringField(data, "body"), plain->second,
                                               now_us / 1000000);
    if (!check.ok) {
      it->Fail(common::ErrorClass::kSignature, std::string("webhook signature refused (") +
                                                   engine::ToString(l->scheme) + "): " + check.why);
      continue;
    }
    l->replay_key = check.replay_key;
    l->remember_until_us = check.signed_at_s != 0
                               ? (check.signed_at_s + engine::kSignatureToleranceS) * 1000000
                               : now_us + kUntimestampedReplayMemoryS * 1000000;
    verified.emplace_back(it, std::move(l));
  }

  // Replays: the same signature accepted before (or earlier in this batch)
  // for another event.  The same event again is a redelivery, not a replay.
  auto refuse_replay = [](WorkItem* it, std::string_view first_id) {
    it->Fail(common::ErrorClass::kSignature,
             "replayed webhook signature: the same signature was accepted for event '" + std::string(first_id) +
                 "' of this integration within its replay window");
  };
  std::map<std::pair<std::string_view, std::string_view>, WorkItem*> first;
  PgArray k_int(PgElement::kText), k_key(PgElement::kText);
  std::vector<std::pair<WorkItem*, std::shared_ptr<Loaded>>> candidates;
  for (auto& [it, l] : verified) {
    const std::string_view iid = StringField(it->env.data(), "integrationId");
    auto [at, fresh] = first.emplace(std::make_pair(iid, std::string_view(l->replay_key)), it);
    if (!fresh && (at->second->env.source != it->env.source || at->second->env.id != it->env.id)) {
      refuse_replay(it, at->second->env.id);
      continue;
    }
    if (fresh) {
      k_int.Add(iid);
      k_key.Add(l->replay_key);
    }
    candidates.emplace_back(it, l);
  }
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> seen;
  if (k_int.size() > 0)
    for (const auto& r : txn.exec_prepared(sql::kSeenSignatures, k_int.param(), k_key.param(),
                                           common::FormatRfc3339(now_us)))
      seen[{r[0].c_str(), r[1].c_str()}] = {r[2].c_str(), r[3].c_str()};
  for (auto& [it, l] : candidates) {
    if (it->state == consumers::ItemState::kFailed) continue;
    auto s = seen.find({std::string(StringField(it->env.data(), "integrationId")), l->replay_key});
    if (s != seen.end() && (s->second.first != it->env.source || s->second.second != it->env.id)) {
      refuse_replay(it, s->second.second);
      continue;
    }
    it->loaded = l;
  }
}

void WebhookHandler::Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& fresh,
                           outbox::OutboxBatch& outbox) {
  using store::PgArray;
  using store::PgElement;
  if (fresh.empty()) return;
  PgArray o_id(PgElement::kText), o_int(PgElement::kText), o_type(PgElement::kText), o_params(PgElement::kJsonb),
      o_status(PgElement::kText), o_result(PgElement::kJsonb), o_ms(PgElement::kInt4), o_trigger(PgElement::kText),
      o_trace(PgElement::kText), o_created(PgElement::kTimestamptz), o_completed(PgElement::kTimestamptz);
  PgArray s_int(PgElement::kText), s_key(PgElement::kText), s_src(PgElement::kText), s_id(PgElement::kText),
      s_until(PgElement::kTimestamptz), f_int(PgElement::kText);
  std::set<std::string_view> integrations;

  // The workflows listening to each integration, read once per batch.
  struct Listener {
    std::string id;
    rapidjson::Document nodes;
  };
  std::map<std::string, std::vector<Listener>, std::less<>> listeners;
  auto listening = [&](std::string_view iid) -> const std::vector<Listener>& {
    auto at = listeners.find(iid);
    if (at != listeners.end()) return at->second;
    auto& v = listeners[std::string(iid)];
    for (const auto& r : txn.exec_prepared(sql::kListeningWorkflows, std::string(iid))) {
      const std::string_view nodes(r[1].c_str(), r[1].size());
      if (common::JsonNestsDeeperThan(nodes, 64)) continue;  // the workflow compiler refuses it anyway
      Listener l;
      l.id = r[0].c_str();
      l.nodes.Parse(nodes.data(), nodes.size());
      if (!l.nodes.HasParseError()) v.push_back(std::move(l));
    }
    return v;
  };

  for (auto* it : fresh) {
    const auto& l = *static_cast<const Loaded*>(it->loaded.get());
    if (l.applied_before) continue;  // defensive: the batch skips redeliveries as duplicates
    const rapidjson::Value& data = it->env.data();
    const int64_t start_us = clock_.NowUnixMicros();
    engine::WebhookContext c;
    c.organization_id = org;
    c.integration_id = StringField(data, "integrationId");
    c.provider = l.provider;
    c.event_type = StringField(data, "eventType");
    c.operation_id = l.operation_id;
    c.body = StringField(data, "body");
    c.webhook_event_id = it->env.id;
    c.traceparent = it->env.traceparent;
    c.now_unix_us = start_us;

    std::string status = "completed", error;
    std::vector<std::string> triggered, events;
    size_t skipped = 0;
    if (!l.active) {
      status = "cancelled";
      error = "integration '" + std::string(c.integration_id) + "' is inactive";
    } else {
      for (const auto& w : listening(c.integration_id)) {
        if (!engine::TriggerListens(w.nodes, c.integration_id, c.event_type)) continue;
        if (triggered.size() == engine::kMaxTriggeredWorkflows) {
          ++skipped;
          continue;
        }
        events.push_back(engine::BuildWebhookTriggered(c, w.id));
        triggered.push_back(w.id);
        if (events.back().size() > max_event_bytes_) {
          status = "failed";
          error = "the webhook's workflow.triggered event would be " + std::to_string(events.back().size()) +
                  " bytes; the producer takes at most " + std::to_string(max_event_bytes_);
          triggered.clear();
          events.clear();
          skipped = 0;
          break;
        }
      }
    }
    for (size_t i = 0; i < events.size(); ++i) outbox.Add(triggered_topic_, triggered[i], events[i]);
    const int64_t end_us = clock_.NowUnixMicros();
    c.now_unix_us = end_us;
    outbox.Add(processed_topic_, c.integration_id, engine::BuildIntegrationProcessed(c, status, triggered, error));
    it->outcome_failed = status == "failed";

    std::string params = "{\"eventType\":";
    common::AppendJsonString(params, c.event_type);
    params += ",\"provider\":";
    common::AppendJsonString(params, c.provider);
    params += ",\"signatureScheme\":";
    common::AppendJsonString(params, engine::ToString(l.scheme));
    params += ",\"bodyBytes\":";
    common::AppendJsonInt(params, static_cast<int64_t>(c.body.size()));
    params += '}';
    std::string result = "{\"triggeredWorkflows\":[";
    for (size_t i = 0; i < triggered.size(); ++i) {
      if (i) result += ',';
      common::AppendJsonString(result, triggered[i]);
    }
    result += ']';
    if (skipped) {
      result += ",\"notTriggered\":";
      common::AppendJsonInt(result, static_cast<int64_t>(skipped));
    }
    if (!error.empty()) {
      result += ",\"error\":";
      common::AppendJsonString(result, error);
    }
    result += '}';

    o_id.Add(l.operation_id);
    o_int.Add(c.integration_id);
    o_type.Add("webhook");
    o_params.Add(params);
    o_status.Add(status);
    o_result.Add(result);
    o_ms.AddInt((end_us - start_us) / 1000);
    o_trigger.Add(it->env.id);
    it->env.traceparent.empty() ? o_trace.AddNull() : o_trace.Add(it->env.traceparent);
    o_created.AddTimestamp(start_us);
    o_completed.AddTimestamp(end_us);

    s_int.Add(c.integration_id);
    s_key.Add(l.replay_key);
    s_src.Add(it->env.source);
    s_id.Add(it->env.id);
    s_until.AddTimestamp(l.remember_until_us);
    if (integrations.insert(c.integration_id).second) f_int.Add(c.integration_id);
  }
  if (o_id.size() == 0) return;
  txn.exec_prepared(sql::kInsertOperations, org, o_id.param(), o_int.param(), o_type.param(), o_params.param(),
                    o_status.param(), o_result.param(), o_ms.param(), o_trigger.param(), o_trace.param(),
                    o_created.param(), o_completed.param());
  const std::string now = common::FormatRfc3339(clock_.NowUnixMicros());
  txn.exec_prepared(sql::kForgetSignatures, f_int.param(), now);
  const auto kept = txn.exec_prepared(sql::kRememberSignatures, org, s_int.param(), s_key.param(), s_src.param(),
                                      s_id.param(), s_until.param(), now);
  // Fewer rows: another worker accepted one of these signatures for another
  // event after Load looked.  Failing the batch makes the lane apply its
  // events one by one, and Load then refuses the replay.
  if (kept.size() != s_int.size())
    throw std::runtime_error("a webhook signature was accepted by another worker meanwhile (a replay)");
}

}  // namespace hub::integrations
