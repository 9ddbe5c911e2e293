// `hubworker dlq`: list, show and redrive dead letters, and list and release
// quarantined outbox rows.  Reads the dead-letter topic with a reader of its
// own (ops/topic_reader: no group, no commits), so it never disturbs the
// running workers.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "kafka/producer.hpp"
#include "ops/dead_letter_record.hpp"
#include "ops/quarantine_store.hpp"
#include "ops/redrive_marks.hpp"
#include "ops/topic_reader.hpp"
#include "worker/catalogue.hpp"
#include "worker/commands.hpp"

namespace hub::worker {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

struct DlqArgs {
  std::string action;  // list, show, redrive, quarantine
  std::string sub;     // quarantine: list, release
  ops::DeadLetterFilter filter;
  std::vector<std::pair<int16_t, int64_t>> quarantine_rows;
  std::string topic;  // quarantine --topic
  bool json = false;
  bool all = false;
  bool again = false;
  bool dry_run = false;
  int limit = 1000;
};

int64_t ParseTimeArg(const std::string& flag, const std::string& v) {
  int64_t us = 0;
  std::string why;
  if (!common::ParseRfc3339(v, us, &why))
    throw common::ConfigError("dlq " + flag + ": expected an RFC 3339 time (2026-12-04T10:00:00Z), got '" + v +
                              "': " + why);
  return us / 1000;
}

DlqArgs ParseDlqArgs(const std::vector<std::string>& args) {
  DlqArgs a;
  size_t i = 0;
  if (args.empty()) throw common::ConfigError("dlq: expected list, show, redrive or quarantine (see dlq --help)");
  a.action = args[i++];
  if (a.action != "list" && a.action != "show" && a.action != "redrive" && a.action != "quarantine")
    throw common::ConfigError("dlq: unknown action '" + a.action + "' (list, show, redrive, quarantine)");
  if (a.action == "quarantine") {
    if (i >= args.size() || (args[i] != "list" && args[i] != "release"))
      throw common::ConfigError("dlq quarantine: expected list or release");
    a.sub = args[i++];
  }
  auto value = [&](const std::string& flag) -> std::string {
    if (i + 1 >= args.size()) throw common::ConfigError("dlq " + flag + ": needs a value");
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& x = args[i];
    if (x == "--class") a.filter.classes.insert(value(x));
    else if (x == "--type") a.filter.types.insert(value(x));
    else if (x == "--key") a.filter.key = value(x);
    else if (x == "--organization") a.filter.organization = value(x);
    else if (x == "--since") a.filter.since_ms = ParseTimeArg(x, value(x));
    else if (x == "--until") a.filter.until_ms = ParseTimeArg(x, value(x));
    else if (x == "--topic") a.topic = value(x);
    else if (x == "--all") a.all = true;
    else if (x == "--again") a.again = true;
    else if (x == "--dry-run") a.dry_run = true;
    else if (x == "--output") {
      const std::string o = value(x);
      if (o != "json" && o != "table") throw common::ConfigError("dlq --output: json or table, got '" + o + "'");
      a.json = o == "json";
    } else if (x == "--limit") {
      const std::string v = value(x);
      try {
        a.limit = std::stoi(v);
      } catch (const std::exception&) {
        a.limit = -1;
      }
      if (a.limit < 1) throw common::ConfigError("dlq --limit: a positive number, got '" + v + "'");
    } else if (auto pos = ops::ParsePosition(x)) {
      if (a.action == "quarantine") a.quarantine_rows.emplace_back(static_cast<int16_t>(pos->first), pos->second);
      else a.filter.positions.insert(*pos);
    } else {
      throw common::ConfigError("dlq: unexpected argument '" + x + "'");
    }
  }
  if (a.action == "show" && a.filter.positions.size() != 1)
    throw common::ConfigError("dlq show: expected one <partition>:<offset> of the dead-letter topic");
  const bool selects = !a.filter.positions.empty() || !a.filter.classes.empty() || !a.filter.types.empty() ||
                       !a.filter.key.empty() || !a.filter.organization.empty() || a.filter.since_ms >= 0 ||
                       a.filter.until_ms >= 0;
  if (a.action == "redrive" && !selects && !a.all)
    throw common::ConfigError("dlq redrive: select letters (<partition>:<offset>, --class, --type, --key, "
                              "--organization, --since, --until) or say --all");
  if (a.action == "quarantine" && a.sub == "release" && a.quarantine_rows.empty() && !a.all && a.topic.empty())
    throw common::ConfigError("dlq quarantine release: select rows (<shard>:<id>, --topic) or say --all");
  return a;
}

std::string Cut(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t k = n - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  return s.substr(0, k) + "…";
}

std::string Pad(const std::string& s, size_t n) {
  // Characters, not bytes, for UTF-8 text.
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return chars >= n ? s : s + std::string(n - chars, ' ');
}

std::string TimeText(int64_t ms) { return ms < 0 ? "-" : common::FormatRfc3339(ms * 1000); }

void WriteString(JsonWriter& w, const char* name, const std::string& v) {
  w.Key(name);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void WriteLetter(JsonWriter& w, const ops::DeadLetterRecord& r, const ops::RedriveMark* mark, bool full) {
  w.StartObject();
  w.Key("partition");
  w.Int(r.message.partition);
  w.Key("offset");
  w.Int64(r.message.offset);
  WriteString(w, "time", TimeText(r.message.timestamp_ms));
  WriteString(w, "class", r.error_class);
  WriteString(w, "reason", r.reason);
  WriteString(w, "type", r.type);
  WriteString(w, "key", r.message.key);
  WriteString(w, "organization", r.organization);
  WriteString(w, "eventId", r.event_id);
  WriteString(w, "sourceTopic", r.source_topic);
  w.Key("sourcePartition");
  w.Int(r.source_partition);
  w.Key("sourceOffset");
  w.Int64(r.source_offset);
  if (!r.not_redrivable.empty()) WriteString(w, "notRedrivable", r.not_redrivable);
  if (!r.redrive_of.empty()) WriteString(w, "redriveOf", r.redrive_of);
  if (mark) {
    w.Key("redriven");
    w.StartObject();
    WriteString(w, "at", common::FormatRfc3339(mark->redriven_at_us));
    WriteString(w, "to", mark->source_topic + ":" + mark->redriven_to);
    w.EndObject();
  }
  if (full) {
    w.Key("headers");
    w.StartArray();
    for (const auto& [n, v] : r.message.headers) {
      w.StartArray();
      w.String(n.data(), static_cast<rapidjson::SizeType>(n.size()));
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
      w.EndArray();
    }
    w.EndArray();
    WriteString(w, "value", r.message.value);
  }
  w.EndObject();
}

std::vector<ops::DeadLetterRecord> ReadLetters(const Settings& s, const std::string& topic,
                                               const ops::DeadLetterFilter& filter) {
  ops::TopicRange range;
  if (filter.positions.size() == 1) {
    // One letter: read only its offset.
    range.partitions.insert(filter.positions.begin()->first);
    range.from_offset = filter.positions.begin()->second;
    range.to_offset = range.from_offset + 1;
  }
  ops::TopicReader reader(s.kafka_brokers, s.kafka_config, topic, range);
  std::vector<ops::DeadLetterRecord> out;
  const bool complete = reader.ReadAll([&](ops::RawMessage&& m) {
    ops::DeadLetterRecord r = ops::ParseDeadLetter(std::move(m));
    if (ops::Matches(filter, r)) out.push_back(std::move(r));
  });
  if (!complete) throw std::runtime_error("reading " + topic + ": the broker stopped answering");
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.message.partition, a.message.offset) < std::make_pair(b.message.partition, b.message.offset);
  });
  return out;
}

std::map<std::pair<int32_t, int64_t>, ops::RedriveMark> Marks(const Settings& s, const std::string& topic) {
  pqxx::connection conn(s.database_url);
  pqxx::read_transaction t(conn);
  return ops::LoadRedriveMarks(t, topic);
}

int List(const Settings& s, const DlqArgs& a, const std::string& topic) {
  const auto letters = ReadLetters(s, topic, a.filter);
  const auto marks = Marks(s, topic);
  const size_t shown = std::min<size_t>(letters.size(), static_cast<size_t>(a.limit));
  if (a.json) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    WriteString(w, "topic", topic);
    w.Key("matched");
    w.Uint64(letters.size());
    w.Key("letters");
    w.StartArray();
    for (size_t i = 0; i < shown; ++i) {
      auto m = marks.find({letters[i].message.partition, letters[i].message.offset});
      WriteLetter(w, letters[i], m == marks.end() ? nullptr : &m->second, a.action == "show");
    }
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  if (a.action == "show") {
    if (letters.empty()) {
      std::cerr << "hubworker dlq show: no dead letter at " << a.filter.positions.begin()->first << ":"
                << a.filter.positions.begin()->second << " of " << topic << "\n";
      return 1;
    }
    const auto& r = letters[0];
    auto m = marks.find({r.message.partition, r.message.offset});
    std::cout << "letter        " << topic << " " << r.message.partition << ":" << r.message.offset << "\n"
              << "time          " << TimeText(r.message.timestamp_ms) << "\n"
              << "class         " << r.error_class << "\n"
              << "reason        " << r.reason << "\n"
              << "source        " << r.source_topic << " " << r.source_partition << ":" << r.source_offset << "\n"
              << "type          " << r.type << "\n"
              << "key           " << r.message.key << "\n"
              << "organisation  " << r.organization << "\n"
              << "event id      " << r.event_id << "\n";
    if (!r.redrive_of.empty()) std::cout << "redrive of    " << r.redrive_of << "\n";
    if (m != marks.end())
      std::cout << "redriven      " << common::FormatRfc3339(m->second.redriven_at_us) << " to " << m->second.source_topic
                << " " << m->second.redriven_to << "\n";
    if (!r.not_redrivable.empty()) std::cout << "not redrivable: " << r.not_redrivable << "\n";
    std::cout << "headers:\n";
    for (const auto& [n, v] : r.message.headers) std::cout << "  " << n << ": " << v << "\n";
    std::cout << "payload (" << r.message.value.size() << " bytes):\n" << r.message.value << "\n";
    return 0;
  }
  std::cout << Pad("OFFSET", 10) << Pad("TIME", 28) << Pad("CLASS", 11) << Pad("TYPE", 22) << Pad("KEY", 24)
            << Pad("ORGANISATION", 18) << Pad("REDRIVEN", 9) << "REASON\n";
  for (size_t i = 0; i < shown; ++i) {
    const auto& r = letters[i];
    const bool redriven = marks.count({r.message.partition, r.message.offset}) > 0;
    std::cout << Pad(std::to_string(r.message.partition) + ":" + std::to_string(r.message.offset), 10)
              << Pad(TimeText(r.message.timestamp_ms), 28) << Pad(Cut(r.error_class, 10), 11)
              << Pad(Cut(r.type, 21), 22) << Pad(Cut(r.message.key, 23), 24) << Pad(Cut(r.organization, 17), 18)
              << Pad(redriven ? "yes" : "", 9) << Cut(r.reason, 100) << "\n";
  }
  std::cout << shown << " of " << letters.size() << " matching dead letters on " << topic << "\n";
  return 0;
}

int Redrive(const Settings& s, const DlqArgs& a, const std::string& topic) {
  std::set<std::string> inputs;  // only to topics this worker consumes
  for (const auto& f : Catalogue().families()) inputs.insert(s.topic_prefix + f.type);
  auto letters = ReadLetters(s, topic, a.filter);

  pqxx::connection conn(s.database_url);
  pqxx::work txn(conn);
  const auto marked_before = ops::LoadRedriveMarks(txn, topic);
  std::vector<const ops::DeadLetterRecord*> chosen;
  struct Skip {
    const ops::DeadLetterRecord* r;
    std::string why;
  };
  std::vector<Skip> skipped;
  for (const auto& r : letters) {
    const auto pos = std::make_pair(r.message.partition, r.message.offset);
    if (!r.not_redrivable.empty()) skipped.push_back({&r, r.not_redrivable});
    else if (!inputs.count(r.source_topic))
      skipped.push_back({&r, "its source topic " + r.source_topic + " is not an input topic of this worker"});
    else if (marked_before.count(pos) && !a.again)
      skipped.push_back({&r, "already redriven (" + common::FormatRfc3339(marked_before.at(pos).redriven_at_us) +
                                 "); --again to redrive it once more"});
    else chosen.push_back(&r);
  }
  const int64_t now_us = common::NowUnixMicros();
  size_t delivered = 0, failed = 0;
  std::vector<std::string> failures;
  std::vector<ops::RedriveMark> marks;
  if (!a.dry_run && !chosen.empty()) {
    if (a.again) {
      for (const auto* r : chosen)
        txn.exec_params("DELETE FROM dead_letter_redrives WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset = $3",
                        topic, r->message.partition, r->message.offset);
    }
    // Claim the marks first: a concurrent redrive of the same letter waits on
    // them and then skips it; ours are kept only for delivered events.
    std::vector<ops::RedriveMark> claims;
    for (const auto* r : chosen) {
      ops::RedriveMark m;
      m.partition = r->message.partition;
      m.offset = r->message.offset;
      m.source_topic = r->source_topic;
      m.error_class = r->error_class;
      m.redriven_to = "pending";
      m.redriven_at_us = now_us;
      claims.push_back(m);
    }
    const auto claimed = ops::InsertRedriveMarks(txn, topic, claims);
    std::set<std::pair<int32_t, int64_t>> ours(claimed.begin(), claimed.end());
    std::vector<const ops::DeadLetterRecord*> sending;
    for (const auto* r : chosen)
      if (ours.count({r->message.partition, r->message.offset})) sending.push_back(r);
      else skipped.push_back({r, "redriven concurrently by another command"});
    kafka::ProducerOptions po;
    po.brokers = s.kafka_brokers;
    po.extra = s.kafka_config;
    po.client_id = "hubworker-dlq";
    kafka::KafkaProducer producer(po);
    std::vector<ops::Headers> headers;
    headers.reserve(sending.size());
    std::vector<kafka::ProducerMessage> msgs;
    for (const auto* r : sending) {
      headers.push_back(ops::RedriveHeaders(*r, now_us));
      kafka::ProducerMessage m;
      m.topic = r->source_topic;
      m.key = r->message.key;
      m.value = r->message.value;
      for (const auto& [n, v] : headers.back()) m.headers.emplace_back(n, v);
      msgs.push_back(std::move(m));
    }
    const auto results = producer.ProduceBatch(msgs);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto* r = sending[i];
      if (results[i].ok) {
        ++delivered;
        txn.exec_params("UPDATE dead_letter_redrives SET redriven_to = $4 WHERE topic = $1 AND kafka_partition = $2"
                        " AND kafka_offset = $3",
                        topic, r->message.partition, r->message.offset,
                        std::to_string(results[i].partition) + ":" + std::to_string(results[i].offset));
      } else {
        ++failed;
        failures.push_back(std::to_string(r->message.partition) + ":" + std::to_string(r->message.offset) + ": " +
                           results[i].error);
        txn.exec_params("DELETE FROM dead_letter_redrives WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset = $3",
                        topic, r->message.partition, r->message.offset);
      }
    }
    txn.commit();
  }
  if (a.json) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("dryRun");
    w.Bool(a.dry_run);
    w.Key("matched");
    w.Uint64(letters.size());
    w.Key("redriven");
    w.Uint64(a.dry_run ? chosen.size() : delivered);
    w.Key("failed");
    w.Uint64(failed);
    w.Key("skipped");
    w.StartArray();
    for (const auto& k : skipped) {
      w.StartObject();
      w.Key("partition");
      w.Int(k.r->message.partition);
      w.Key("offset");
      w.Int64(k.r->message.offset);
      WriteString(w, "why", k.why);
      w.EndObject();
    }
    w.EndArray();
    w.Key("failures");
    w.StartArray();
    for (const auto& f : failures) w.String(f.data(), static_cast<rapidjson::SizeType>(f.size()));
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
  } else {
    for (const auto& k : skipped)
      std::cout << "skipped " << k.r->message.partition << ":" << k.r->message.offset << ": " << k.why << "\n";
    for (const auto& f : failures) std::cout << "failed " << f << "\n";
    std::cout << (a.dry_run ? "would redrive " : "redriven ") << (a.dry_run ? chosen.size() : delivered) << " of "
              << letters.size() << " matching dead letters (" << skipped.size() << " skipped, " << failed
              << " failed)\n";
  }
  return failed > 0 ? 1 : 0;
}

void WriteQuarantine(JsonWriter& w, const ops::QuarantinedRow& q) {
  w.StartObject();
  w.Key("shard");
  w.Int(q.shard);
  w.Key("id");
  w.Int64(q.id);
  WriteString(w, "topic", q.topic);
  WriteString(w, "key", q.key);
  w.Key("payloadBytes");
  w.Int64(q.payload_bytes);
  WriteString(w, "createdAt", common::FormatRfc3339(q.created_at_us));
  WriteString(w, "quarantinedAt", common::FormatRfc3339(q.quarantined_at_us));
  WriteString(w, "error", q.error);
  w.EndObject();
}

int Quarantine(const Settings& s, const DlqArgs& a) {
  ops::QuarantineFilter f;
  f.topic = a.topic;
  f.rows = a.quarantine_rows;
  pqxx::connection conn(s.database_url);
  pqxx::work txn(conn);
  std::vector<ops::QuarantinedRow> rows;
  if (a.sub == "list" || a.dry_run) rows = ops::ListQuarantine(txn, f, a.limit);
  else rows = ops::ReleaseQuarantine(txn, f);
  txn.commit();
  if (a.json) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key(a.sub == "list" ? "rows" : a.dry_run ? "wouldRelease" : "released");
    w.StartArray();
    for (const auto& q : rows) WriteQuarantine(w, q);
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  std::cout << Pad("SHARD:ID", 16) << Pad("QUARANTINED", 28) << Pad("TOPIC", 26) << Pad("KEY", 24) << Pad("BYTES", 10)
            << "ERROR\n";
  for (const auto& q : rows)
    std::cout << Pad(std::to_string(q.shard) + ":" + std::to_string(q.id), 16)
              << Pad(common::FormatRfc3339(q.quarantined_at_us), 28) << Pad(Cut(q.topic, 25), 26)
              << Pad(Cut(q.key, 23), 24) << Pad(std::to_string(q.payload_bytes), 10) << Cut(q.error, 100) << "\n";
  std::cout << rows.size() << (a.sub == "list" ? " quarantined outbox rows" : a.dry_run ? " rows would be released"
                                                                                       : " rows released to the outbox")
            << "\n";
  return 0;
}

}  // namespace

int DlqCommand(const Settings& s, const std::vector<std::string>& args) {
  const DlqArgs a = ParseDlqArgs(args);
  if (s.database_url.empty()) throw common::ConfigError("HUB_DATABASE_URL: required (a libpq URI)");
  if (a.action == "quarantine") return Quarantine(s, a);
  if (s.kafka_brokers.empty())
    throw common::ConfigError("HUB_KAFKA_BROKERS: required by dlq — the address of the brokers the workers use");
  const std::string topic = s.topic_prefix + "deadletter";
  if (a.action == "redrive") return Redrive(s, a, topic);
  return List(s, a, topic);
}

}  // namespace hub::worker
