// hub_bench_w1 — load generator and meter for the reference workload W1
// (100 greeting workflows of one organisation; `workflow.triggered` in,
// executions + step logs + notification + counters + `workflow.completed` out).
// tests/bench/run.sh drives it; PERFORMANCE.md has the results.
//
// Subcommands (every flag is `--name value` or `--name=value`):
//   seed            --database-url URL [--org org_bench] [--workflows 100]
//   load            --brokers B --events N [--rate R] [--max-lead L] [--linger-ms MS (1 if R <= 2000, else 5)]
//                   [--compression none|lz4] [--database-url URL] [--worker-pids p,p]
//                   [--pg-pid P] [--broker-pid P] [--label TEXT] [--stall-s S] [--dump CSV]
//                   Produces N events (R/s, 0 = full speed) while reading the
//                   completion topic; keeps produced - completed <= L.
//   produce         --brokers B --events N [...]      (backlog: produce only, then
//                   check that the broker kept every event; prints the run id)
//   await           --brokers B --run-id ID --events N [...]   (backlog: wait for
//                   the completions of a `produce` run while workers drain it)
//   pgbench-script  --batch B [--with-delete 1] [--org org_bench] [--workflows 100]   (stdout: a
//                   pgbench script doing W1's writes for B events per transaction,
//                   with the worker's statements and row contents; run it with
//                   pgbench -M prepared -D nclients=<clients>)
//   summary         FILE   (FILE = the JSON lines of the runs; prints a table)
//
// Output: progress on stderr; one JSON object per measured run on stdout.
//
// Measurements:
//   - throughput: N / (last completion received - first produce);
//   - latency per event: completion received - the trigger's `time` (taken from
//     the completion's `triggerTime`), split into "worker" (trigger time ->
//     the completion's own `time`, i.e. consume + process, before COMMIT) and
//     "relay" (completion time -> received: COMMIT, outbox relay, Kafka hop);
//   - CPU seconds of the worker processes, of PostgreSQL (postmaster and its
//     children), of the broker and of this process, from /proc/<pid>/stat
//     between the first produce and the last completion; machine busy/iowait
//     from /proc/stat over the same window;
//   - peak RSS (VmHWM) of each worker at the end;
//   - the database afterwards: exactly N executions for this run's events.
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "engine/cloud_event.hpp"
#include "engine/workflow.hpp"
#include "store/connection.hpp"
#include "tests/support/http_stub.hpp"
#include "worker/seed.hpp"

namespace {

using hub::common::NowUnixMicros;

// ---------------------------------------------------------------- arguments

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;

  bool has(const std::string& k) const { return flags.count(k) > 0; }
  std::string str(const std::string& k, const std::string& def = "") const {
    auto it = flags.find(k);
    return it == flags.end() ? def : it->second;
  }
  int64_t num(const std::string& k, int64_t def) const {
    auto it = flags.find(k);
    if (it == flags.end()) return def;
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size())
      throw std::invalid_argument("--" + k + ": expected an integer, got '" + it->second + "'");
    return v;
  }
  std::string need(const std::string& k) const {
    if (!has(k) || str(k).empty()) throw std::invalid_argument("--" + k + " is required");
    return str(k);
  }
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  if (argc < 2) throw std::invalid_argument("usage: hub_bench_w1 seed|load|produce|await|pgbench-script|summary ...");
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      s = s.substr(2);
      auto eq = s.find('=');
      if (eq != std::string::npos) {
        a.flags[s.substr(0, eq)] = s.substr(eq + 1);
      } else if (i + 1 < argc) {
        a.flags[s] = argv[++i];
      } else {
        throw std::invalid_argument("--" + s + ": expected a value");
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::vector<int> ParsePids(const std::string& csv) {
  std::vector<int> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::stoi(item));
  return out;
}

// ---------------------------------------------------------------- time

// "2024-05-01T12:00:00.123456Z" (or +00:00) -> unix microseconds; -1 if not parseable.
int64_t ParseTimeUs(std::string_view s) {
  if (s.size() < 20) return -1;
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  const int64_t y0 = num(0, 4), m = num(5, 2), dd = num(8, 2);
  if (y0 < 0 || m < 1 || m > 12 || dd < 1 || dd > 31) return -1;
  const int64_t y = m <= 2 ? y0 - 1 : y0;
  const int64_t era = y / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  const int64_t secs = days * 86400 + num(11, 2) * 3600 + num(14, 2) * 60 + num(17, 2);
  int64_t us = 0;
  size_t p = 19;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int64_t scale = 100000;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      us += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
  }
  int64_t offset_s = 0;
  if (p < s.size() && (s[p] == '+' || s[p] == '-') && p + 6 <= s.size()) {
    offset_s = (num(p + 1, 2) * 3600 + num(p + 4, 2) * 60) * (s[p] == '+' ? 1 : -1);
  }
  return (secs - offset_s) * 1000000 + us;
}

std::string IsoNow() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void Log(const std::string& msg) { std::cerr << "[bench " << IsoNow() << "] " << msg << std::endl; }

// ---------------------------------------------------------------- /proc

const double kTick = static_cast<double>(sysconf(_SC_CLK_TCK));

struct ProcStat {
  bool ok = false;
  int ppid = 0;
  int64_t ticks = 0;           // utime + stime, all threads
  int64_t sys_ticks = 0;       // stime alone: the kernel's share (syscalls, wakeups)
  int64_t children_ticks = 0;  // cutime + cstime: reaped children (a postmaster's exited backends)
};

ProcStat ReadProcStat(int pid) {
  ProcStat st;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return st;
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return st;
  std::istringstream rest(line.substr(rp + 2));
  std::vector<std::string> fields;
  std::string x;
  while (rest >> x) fields.push_back(x);
  if (fields.size() < 13) return st;
  st.ppid = std::stoi(fields[1]);
  st.ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
  st.sys_ticks = std::stoll(fields[12]);
  st.children_ticks = std::stoll(fields[13]) + std::stoll(fields[14]);
  st.ok = true;
  return st;
}

int64_t ReadStatusKb(int pid, const char* key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const size_t klen = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, klen, key) == 0) return std::stoll(line.substr(klen));
  }
  return -1;
}

std::vector<int> ChildrenOf(int ppid) {
  std::vector<int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int pid = std::atoi(e->d_name);
    ProcStat st = ReadProcStat(pid);
    if (st.ok && st.ppid == ppid) out.push_back(pid);
  }
  closedir(d);
  return out;
}

struct MachineStat {
  int64_t busy = 0, idle = 0, iowait = 0, total = 0;
};

MachineStat ReadMachine() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  int64_t v[10] = {0};
  f >> cpu;
  for (auto& x : v) f >> x;
  MachineStat m;
  m.idle = v[3];
  m.iowait = v[4];
  for (auto x : v) m.total += x;
  m.total -= v[8] + v[9];  // guest time is already in user
  m.busy = m.total - m.idle - m.iowait;
  return m;
}

// CPU used by groups of processes between Start() and Stop().
class CpuMeter {
 public:
  CpuMeter(std::vector<int> workers, int pg_pid, int broker_pid)
      : workers_(std::move(workers)), pg_pid_(pg_pid), broker_pid_(broker_pid) {}

  void Start() {
    start_ = Snapshot();
    machine0_ = ReadMachine();
    self0_ = SelfSeconds();
  }
  void Stop() {
    auto end = Snapshot();
    machine1_ = ReadMachine();
    self1_ = SelfSeconds();
    for (const auto& [pid, t] : end.workers) worker_s += (t - Get(start_.workers, pid)) / kTick;
    for (const auto& [pid, t] : end.workers_sys) worker_sys_s += (t - Get(start_.workers_sys, pid)) / kTick;
    for (const auto& [pid, t] : end.pg) pg_s += (t - Get(start_.pg, pid)) / kTick;
    for (const auto& [pid, t] : end.broker) broker_s += (t - Get(start_.broker, pid)) / kTick;
    self_s = self1_ - self0_;
    const double total = static_cast<double>(machine1_.total - machine0_.total);
    if (total > 0) {
      busy_pct = 100.0 * static_cast<double>(machine1_.busy - machine0_.busy) / total;
      iowait_pct = 100.0 * static_cast<double>(machine1_.iowait - machine0_.iowait) / total;
    }
  }

  double worker_s = 0, worker_sys_s = 0, pg_s = 0, broker_s = 0, self_s = 0, busy_pct = 0, iowait_pct = 0;

 private:
  struct Snap {
    std::map<int, int64_t> workers, workers_sys, pg, broker;
  };
  static int64_t Get(const std::map<int, int64_t>& m, int pid) {
    auto it = m.find(pid);
    return it == m.end() ? 0 : it->second;
  }
  Snap Snapshot() const {
    Snap s;
    for (int pid : workers_) {
      auto st = ReadProcStat(pid);
      if (st.ok) {
        s.workers[pid] = st.ticks;
        s.workers_sys[pid] = st.sys_ticks;
      }
    }
    if (pg_pid_ > 0) {
      std::vector<int> pids = ChildrenOf(pg_pid_);
      pids.push_back(pg_pid_);
      for (int pid : pids) {
        auto st = ReadProcStat(pid);
        // The postmaster's reaped children count too: backends that ended meanwhile.
        if (st.ok) s.pg[pid] = st.ticks + (pid == pg_pid_ ? st.children_ticks : 0);
      }
    }
    if (broker_pid_ > 0) {
      auto st = ReadProcStat(broker_pid_);
      if (st.ok) s.broker[broker_pid_] = st.ticks;
    }
    return s;
  }
  static double SelfSeconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }

  std::vector<int> workers_;
  int pg_pid_, broker_pid_;
  Snap start_;
  MachineStat machine0_, machine1_;
  double self0_ = 0, self1_ = 0;
};

// ---------------------------------------------------------------- Kafka

void Set(RdKafka::Conf& c, const std::string& k, const std::string& v) {
  std::string err;
  if (c.set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error("kafka property " + k + ": " + err);
}

class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
    } else {
      if (failed.fetch_add(1) < 5) Log("delivery failed: " + m.errstr());
    }
  }
  std::atomic<int64_t> delivered{0}, failed{0};
};

class Producer {
 public:
  Producer(const std::string& brokers, int linger_ms, const std::string& compression) {
    std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    Set(*c, "bootstrap.servers", brokers);
    Set(*c, "client.id", "hub-bench-w1");
    Set(*c, "enable.idempotence", "true");
    Set(*c, "linger.ms", std::to_string(linger_ms));
    Set(*c, "batch.num.messages", "10000");
    Set(*c, "queue.buffering.max.messages", "1000000");
    Set(*c, "queue.buffering.max.kbytes", "1048576");
    Set(*c, "compression.type", compression);
    Set(*c, "partitioner", "murmur2_random");  // as the worker and the Java client
    Set(*c, "message.timeout.ms", "120000");
    std::string err;
    if (c->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&dr_), err) != RdKafka::Conf::CONF_OK)
      throw std::runtime_error(err);
    p_.reset(RdKafka::Producer::create(c.get(), err));
    if (!p_) throw std::runtime_error("producer: " + err);
  }
  ~Producer() {
    if (p_) p_->flush(10000);
  }

  void Produce(const std::string& topic, const std::string& key, const std::string& value) {
    for (;;) {
      RdKafka::Headers* hs = RdKafka::Headers::create();
      hs->add("content-type", "application/cloudevents+json");
      RdKafka::ErrorCode rc =
          p_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                      const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, hs, nullptr);
      if (rc == RdKafka::ERR_NO_ERROR) return;
      delete hs;
      if (rc != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce: " + RdKafka::err2str(rc));
      p_->poll(5);
    }
  }
  void Poll(int ms = 0) { p_->poll(ms); }
  bool Flush(int ms) { return p_->flush(ms) == RdKafka::ERR_NO_ERROR; }

  // Number of partitions of `topic` (0 when unknown).
  int Partitions(const std::string& topic) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(p_.get(), topic, nullptr, err));
    for (int attempt = 0; attempt < 50; ++attempt) {
      RdKafka::Metadata* md = nullptr;
      int n = 0;
      if (p_->metadata(false, t.get(), &md, 2000) == RdKafka::ERR_NO_ERROR) {
        for (const auto* tm : *md->topics())
          if (tm->topic() == topic) n = static_cast<int>(tm->partitions()->size());
      }
      delete md;
      if (n > 0) return n;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  // Sum over partitions of (high - low): what the broker still holds.
  int64_t Retained(const std::string& topic, int partitions, int64_t* low_sum) {
    int64_t held = 0;
    *low_sum = 0;
    for (int p = 0; p < partitions; ++p) {
      int64_t lo = 0, hi = 0;
      if (p_->query_watermark_offsets(topic, p, &lo, &hi, 5000) != RdKafka::ERR_NO_ERROR)
        throw std::runtime_error("watermarks of " + topic + " unavailable");
      held += hi - lo;
      *low_sum += lo;
    }
    return held;
  }

  DeliveryCounter dr_;

 private:
  std::unique_ptr<RdKafka::Producer> p_;
};

// Reads `hub.workflow.completed` from the current end of every partition (no
// group) and keeps what belongs to this run.
class CompletionReader {
 public:
  CompletionReader(const std::string& brokers, const std::string& topic, const std::string& run_id, int64_t n,
                   bool dump, int fetch_wait_ms)
      : dump_(dump), prefix_("w1-" + run_id + "-"), seen_(static_cast<size_t>(n), false) {
    std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    Set(*c, "bootstrap.servers", brokers);
    Set(*c, "group.id", "hub-bench-reader");  // required by the API; assign() only, no join
    Set(*c, "enable.auto.commit", "false");
    // The mock broker answers an empty fetch only after this.
    Set(*c, "fetch.wait.max.ms", std::to_string(fetch_wait_ms));
    Set(*c, "fetch.error.backoff.ms", std::to_string(fetch_wait_ms));
    Set(*c, "enable.partition.eof", "false");
    std::string err;
    consumer_.reset(RdKafka::KafkaConsumer::create(c.get(), err));
    if (!consumer_) throw std::runtime_error("consumer: " + err);
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer_.get(), topic, nullptr, err));
    int partitions = 0;
    for (int attempt = 0; attempt < 50 && partitions == 0; ++attempt) {
      RdKafka::Metadata* md = nullptr;
      if (consumer_->metadata(false, t.get(), &md, 2000) == RdKafka::ERR_NO_ERROR)
        for (const auto* tm : *md->topics())
          if (tm->topic() == topic) partitions = static_cast<int>(tm->partitions()->size());
      delete md;
      if (partitions == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (partitions == 0) throw std::runtime_error("topic has no partitions: " + topic);
    // Start at the partitions' current ends: this run's completions all come
    // later (the reader exists before the first event is produced), and
    // reading the earlier runs' completions first would delay the first
    // ones received (measured: ~0.3 s at the start of the second phase).
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p = 0; p < partitions; ++p) {
      int64_t low = 0, high = RdKafka::Topic::OFFSET_BEGINNING;
      if (consumer_->query_watermark_offsets(topic, p, &low, &high, 5000) != RdKafka::ERR_NO_ERROR)
        high = RdKafka::Topic::OFFSET_BEGINNING;
      tps.push_back(RdKafka::TopicPartition::create(topic, p, high));
    }
    consumer_->assign(tps);
    RdKafka::TopicPartition::destroy(tps);
    lat_total_.reserve(seen_.size());
    lat_worker_.reserve(seen_.size());
    lat_relay_.reserve(seen_.size());
    thread_ = std::thread([this] { Run(); });
  }
  ~CompletionReader() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    consumer_->close();
  }

  int64_t distinct() const { return distinct_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  int64_t not_completed() const { return not_completed_.load(); }
  int64_t first_recv_us() const { return first_recv_us_.load(); }
  int64_t last_recv_us() const { return last_recv_us_.load(); }
  int64_t payload_bytes() const { return payload_bytes_.load(); }
  int64_t last_progress_us() const { return last_progress_us_.load(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Valid after Stop().
  std::vector<int32_t> lat_total_, lat_worker_, lat_relay_;  // microseconds
  // Per event (with --dump): index, trigger time, completion time, received.
  struct Row {
    int64_t idx, trigger_us, done_us, recv_us;
  };
  const bool dump_;
  std::vector<Row> dump_rows_;

 private:
  void Run() {
    rapidjson::Document d;
    while (!stop_) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(20));
      if (!m || m->err() == RdKafka::ERR__TIMED_OUT) continue;
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        Log("completion reader: " + m->errstr());
        continue;
      }
      const int64_t recv = NowUnixMicros();
      Fields f;
      if (!Extract(std::string_view(static_cast<const char*>(m->payload()), m->len()), d, f)) continue;
      std::string_view tid = f.trigger_id;
      if (tid.compare(0, prefix_.size(), prefix_) != 0) continue;  // another run's
      int64_t idx = -1;
      const std::string_view digits = tid.substr(prefix_.size());
      if (std::from_chars(digits.data(), digits.data() + digits.size(), idx).ec != std::errc()) continue;
      if (idx < 0 || idx >= static_cast<int64_t>(seen_.size())) continue;
      if (seen_[static_cast<size_t>(idx)]) {
        ++duplicates_;
        continue;
      }
      seen_[static_cast<size_t>(idx)] = true;
      if (f.status != "COMPLETED") ++not_completed_;
      const int64_t trig = f.trigger_time.empty() ? -1 : ParseTimeUs(f.trigger_time);
      const int64_t done = f.time.empty() ? -1 : ParseTimeUs(f.time);
      if (dump_) dump_rows_.push_back({idx, trig, done, recv});
      if (trig > 0) lat_total_.push_back(static_cast<int32_t>(std::min<int64_t>(recv - trig, INT32_MAX)));
      if (trig > 0 && done > 0) lat_worker_.push_back(static_cast<int32_t>(std::min<int64_t>(done - trig, INT32_MAX)));
      if (done > 0) lat_relay_.push_back(static_cast<int32_t>(std::min<int64_t>(recv - done, INT32_MAX)));
      payload_bytes_ += static_cast<int64_t>(m->len());
      if (first_recv_us_ == 0) first_recv_us_ = recv;
      last_recv_us_ = recv;
      last_progress_us_ = recv;
      ++distinct_;
    }
  }

  // What the reader needs of a completion event.
  struct Fields {
    std::string_view trigger_id, status, trigger_time, time;
  };
  // The events come from engine::BuildWorkflowCompleted: flat string values
  // without escapes for the fields needed here, the envelope's "time" before
  // "data".  One pass over the quotes finds them, several times cheaper than a
  // DOM (the reader shares the machine with what it measures); anything
  // unusual goes through the DOM.
  static bool Extract(std::string_view json, rapidjson::Document& d, Fields& f) {
    const char* p = json.data();
    const char* const end = p + json.size();
    bool in_data = false;
    if (std::memchr(p, '\\', json.size())) p = end;  // escapes: the DOM reads it
    while (p < end && (p = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)))) != nullptr) {
      const char* key = ++p;  // a key or a string value starts here
      const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
      if (!q) break;
      const std::string_view k(key, static_cast<size_t>(q - key));
      p = q + 1;
      if (p + 1 >= end || p[0] != ':') continue;  // a value, not a key
      if (k == "data") in_data = true;
      if (p[1] != '"') continue;                  // not a string value
      const char* v = p + 2;
      const char* ve = static_cast<const char*>(std::memchr(v, '"', static_cast<size_t>(end - v)));
      if (!ve) break;
      const std::string_view val(v, static_cast<size_t>(ve - v));
      auto first = [&](std::string_view& field) {
        if (field.empty()) field = val;
      };
      if (!in_data && k == "time") first(f.time);
      else if (in_data && k == "status") first(f.status);
      else if (in_data && k == "triggerEventId") first(f.trigger_id);
      else if (in_data && k == "triggerTime") first(f.trigger_time);
      p = ve + 1;
    }
    if (!f.trigger_id.empty() && !f.status.empty() && !f.trigger_time.empty() && !f.time.empty()) return true;
    f = Fields{};
    d.Parse(json.data(), json.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("data") || !d["data"].IsObject()) return false;
    auto str = [](const rapidjson::Value& o, const char* k, std::string_view& out) {
      auto it = o.FindMember(k);
      if (it != o.MemberEnd() && it->value.IsString()) out = {it->value.GetString(), it->value.GetStringLength()};
    };
    const auto& data = d["data"];
    str(data, "triggerEventId", f.trigger_id);
    str(data, "status", f.status);
    str(data, "triggerTime", f.trigger_time);
    str(d, "time", f.time);
    return !f.trigger_id.empty();
  }

  std::string prefix_;
  std::vector<bool> seen_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> distinct_{0}, duplicates_{0}, not_completed_{0}, first_recv_us_{0}, last_recv_us_{0},
      payload_bytes_{0}, last_progress_us_{0};
};

// ---------------------------------------------------------------- results

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

Percentiles Compute(std::vector<int32_t>& v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return static_cast<double>(v[std::min(i, v.size() - 1)]) / 1000.0;
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.max = static_cast<double>(v.back()) / 1000.0;
  return p;
}

class JsonOut {
 public:
  JsonOut& Str(const std::string& k, const std::string& v) {
    Key(k);
    hub::common::AppendJsonString(s_, v);
    return *this;
  }
  JsonOut& Int(const std::string& k, int64_t v) {
    Key(k);
    s_ += std::to_string(v);
    return *this;
  }
  JsonOut& Num(const std::string& k, double v, int prec = 3) {
    Key(k);
    if (!std::isfinite(v)) {
      s_ += "null";
      return *this;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    s_ += buf;
    return *this;
  }
  JsonOut& Bool(const std::string& k, bool v) {
    Key(k);
    s_ += v ? "true" : "false";
    return *this;
  }
  JsonOut& Lat(const std::string& prefix, const Percentiles& p) {
    return Num(prefix + "_p50_ms", p.p50).Num(prefix + "_p95_ms", p.p95).Num(prefix + "_p99_ms", p.p99).Num(
        prefix + "_max_ms", p.max);
  }
  std::string Done() const { return s_ + "}"; }

 private:
  void Key(const std::string& k) {
    s_ += s_.size() > 1 ? "," : "";
    hub::common::AppendJsonString(s_, k);
    s_ += ':';
  }
  std::string s_ = "{";
};

// ---------------------------------------------------------------- database

const char* kOrg = "org_bench";

struct DbCounts {
  bool ok = false;
  std::string error;
  int64_t run_executions = -1, run_distinct = -1, run_completed = -1, executions = -1, notifications = -1,
          counter_sum = -1, processed = -1, outbox = -1;
};

DbCounts CountDb(const std::string& url, const std::string& org, const std::string& run_id, int64_t n) {
  DbCounts c;
  try {
    pqxx::connection conn(url);
    // The outbox empties a moment after the last delivery report: wait a little.
    for (int attempt = 0; attempt < 100; ++attempt) {
      pqxx::work tx(conn);
      tx.exec_params("SELECT set_config('app.organization_id', $1, true)", org);
      auto r = tx.exec_params(
          "SELECT count(*), count(DISTINCT trigger_event_id), count(*) FILTER (WHERE status = 'COMPLETED') "
          "FROM workflow_executions WHERE trigger_event_id LIKE $1",
          "w1-" + run_id + "-%");
      c.run_executions = r[0][0].as<int64_t>();
      c.run_distinct = r[0][1].as<int64_t>();
      c.run_completed = r[0][2].as<int64_t>();
      auto r2 = tx.exec(
          "SELECT (SELECT count(*) FROM workflow_executions), (SELECT count(*) FROM notifications), "
          "(SELECT coalesce(sum(execution_count), 0) FROM automation_workflows), "
          "(SELECT count(*) FROM processed_events), (SELECT count(*) FROM outbox)");
      c.executions = r2[0][0].as<int64_t>();
      c.notifications = r2[0][1].as<int64_t>();
      c.counter_sum = r2[0][2].as<int64_t>();
      c.processed = r2[0][3].as<int64_t>();
      c.outbox = r2[0][4].as<int64_t>();
      tx.commit();
      if (c.outbox == 0 && c.run_executions >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    c.ok = true;
  } catch (const std::exception& e) {
    c.error = e.what();
  }
  return c;
}

// Cumulative server counters (pg_stat_wal, pg_stat_database, pg_stat_bgwriter):
// WAL volume, WAL flushes (each a wait for the disk with fsync on) and commits
// per event tell where a durable database spends its time.
struct PgCounters {
  bool ok = false;
  double wal_records = 0, wal_fpi = 0, wal_bytes = 0, wal_write = 0, wal_sync = 0, commits = 0, checkpoints = 0;
};

PgCounters ReadPgCounters(const std::string& url) {
  PgCounters c;
  if (url.empty()) return c;
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction q(conn);
    auto r = q.exec(
        "SELECT w.wal_records, w.wal_fpi, w.wal_bytes, w.wal_write, w.wal_sync, "
        "(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), "
        "(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter) FROM pg_stat_wal w");
    c.wal_records = r[0][0].as<double>();
    c.wal_fpi = r[0][1].as<double>();
    c.wal_bytes = r[0][2].as<double>();
    c.wal_write = r[0][3].as<double>();
    c.wal_sync = r[0][4].as<double>();
    c.commits = r[0][5].as<double>();
    c.checkpoints = r[0][6].as<double>();
    c.ok = true;
  } catch (const std::exception& e) {
    Log(std::string("pg counters unavailable: ") + e.what());
  }
  return c;
}

// ---------------------------------------------------------------- commands

struct LoadConfig {
  std::string brokers, topic_prefix, database_url, label, run_id, compression, dump;
  int64_t events = 0, rate = 0, max_lead = 50000, stall_s = 60;
  int linger_ms = 5, workflows = 100, fetch_wait_ms = 5;
  std::vector<int> worker_pids;
  int pg_pid = 0, broker_pid = 0;
};

LoadConfig ReadLoadConfig(const Args& a) {
  LoadConfig c;
  c.brokers = a.need("brokers");
  c.topic_prefix = a.str("topic-prefix", "hub.");
  c.database_url = a.str("database-url");
  c.label = a.str("label", a.command);
  c.run_id = a.str("run-id", std::to_string(NowUnixMicros()));
  c.compression = a.str("compression", "none");
  c.dump = a.str("dump");
  c.events = a.num("events", 20000);
  c.rate = a.num("rate", 0);
  c.max_lead = a.num("max-lead", 50000);
  c.stall_s = a.num("stall-s", 60);
  // linger.ms of the load generator: 1 ms where latency is measured at low
  // rates; 5 ms otherwise, as a producer in production would use.  (At
  // ~7,000/s with 1 ms the generator and the single-threaded mock broker spend
  // ~0.9 core on tiny produce requests: measured, see PERFORMANCE.md.)  An
  // event's `time` is taken before it is produced, so the linger is part of
  // the latency measured.
  c.linger_ms = static_cast<int>(a.num("linger-ms", c.rate > 0 && c.rate <= 2000 ? 1 : 5));
  c.fetch_wait_ms = static_cast<int>(a.num("fetch-wait-ms", 5));
  c.workflows = static_cast<int>(a.num("workflows", 100));
  c.worker_pids = ParsePids(a.str("worker-pids"));
  c.pg_pid = static_cast<int>(a.num("pg-pid", 0));
  c.broker_pid = static_cast<int>(a.num("broker-pid", 0));
  if (c.events < 1) throw std::invalid_argument("--events must be >= 1");
  if (c.max_lead < 1) throw std::invalid_argument("--max-lead must be >= 1");
  return c;
}

std::vector<std::string> WorkflowIds(const std::string& org, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("wf_" + org + "_" + std::to_string(i));  // as SeedOrganization
  return ids;
}

int Seed(const Args& a) {
  hub::worker::SeedOptions o;
  o.organization_id = a.str("org", kOrg);
  o.organization_name = "W1 benchmark";
  o.user_id = "user_bench";
  o.workflows = static_cast<int>(a.num("workflows", 100));
  o.with_inactive = false;
  auto ids = hub::worker::SeedOrganization(a.need("database-url"), o);
  const std::string w2_url = a.str("w2-url", "");
  if (!w2_url.empty()) {
    // W2: trigger -> http_request (the stub) -> notification; every execution
    // parks, is claimed, calls out and is resumed.
    pqxx::connection conn(a.need("database-url"));
    pqxx::work t(conn);
    hub::store::SetTenant(t, o.organization_id);
    t.exec_params(
        "UPDATE automation_workflows SET nodes = $1::jsonb, edges = $2::jsonb",
        R"([{"id":"trigger","type":"trigger"},{"id":"call","type":"http_request","data":{"url":")" + w2_url +
            R"(","timeoutMs":5000}},{"id":"notify","type":"notification","data":{"userId":"user_bench",)"
            R"("title":"W2","message":"{{nodes.call.output.body.ok}} {{input.name}}"}}])",
        R"([{"source":"trigger","target":"call"},{"source":"call","target":"notify"}])");
    t.commit();
  }
  Log("seeded organisation " + o.organization_id + " with " + std::to_string(ids.size()) +
      (w2_url.empty() ? " W1 workflows" : " W2 workflows calling " + w2_url));
  return 0;
}

// An HTTP service on 127.0.0.1 for W2: answers {"ok":true} after --delay-ms;
// prints its URL on the first line, runs until SIGTERM/SIGINT.
int Stub(const Args& a) {
  const int delay_ms = static_cast<int>(a.num("delay-ms", 1));
  hub::testing::HttpStub stub(
      [delay_ms](const hub::testing::HttpStub::Request&) {
        return hub::testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"ok":true})", delay_ms};
      },
      /*record=*/false);
  std::cout << stub.url("/w2") << std::endl;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}

// Produces events [0, n) of run `c.run_id`; `completed` (may be null) bounds the lead.
struct ProduceStats {
  int64_t first_us = 0, last_us = 0, input_bytes = 0;
};

ProduceStats ProduceEvents(Producer& p, const LoadConfig& c, const CompletionReader* completed, CpuMeter* meter) {
  const std::string topic = c.topic_prefix + "workflow.triggered";
  const auto wfs = WorkflowIds(kOrg, c.workflows);
  ProduceStats s;
  s.first_us = NowUnixMicros();
  if (meter) meter->Start();
  const int64_t t0 = s.first_us;
  int64_t lead_waits = 0;
  for (int64_t i = 0; i < c.events; ++i) {
    if (c.rate > 0) {
      // Wake up at most once a millisecond and produce every event due by
      // then back to back; never spin.  This process shares the machine with
      // what it measures: one sleep per event costs ~0.3 core at 7,000/s in
      // this VM (measured).  Each event's `time` is taken when it is
      // produced, so a late wake-up is not counted as the worker's latency.
      const int64_t due = t0 + i * 1000000 / c.rate;
      int64_t now = NowUnixMicros();
      if (due > now) {
        p.Poll(0);
        std::this_thread::sleep_for(std::chrono::microseconds(std::max<int64_t>(due - now, 1000)));
      }
    }
    if (completed) {
      while (i - completed->distinct() >= c.max_lead) {
        ++lead_waits;
        p.Poll(0);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    }
    const std::string& wf = wfs[static_cast<size_t>(i) % wfs.size()];
    const std::string v = hub::worker::MakeWorkflowTriggered("w1-" + c.run_id + "-" + std::to_string(i), kOrg, wf,
                                                             "bench-" + std::to_string(i));
    s.input_bytes += static_cast<int64_t>(v.size());
    p.Produce(topic, wf, v);
    if ((i & 1023) == 0) p.Poll(0);
  }
  s.last_us = NowUnixMicros();
  if (lead_waits > 0) Log("producer waited for the lead bound " + std::to_string(lead_waits) + " times");
  return s;
}

// Waits until `n` completions arrived or nothing arrived for stall_s seconds.
bool AwaitCompletions(const CompletionReader& r, int64_t n, int64_t stall_s, Producer* p) {
  int64_t last_report = NowUnixMicros();
  const int64_t started = last_report;
  while (r.distinct() < n) {
    if (p) p->Poll(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const int64_t now = NowUnixMicros();
    const int64_t progress = std::max(r.last_progress_us(), started);
    if (now - progress > stall_s * 1000000) {
      Log("no completion for " + std::to_string(stall_s) + " s: giving up at " + std::to_string(r.distinct()) + "/" +
          std::to_string(n));
      return false;
    }
    if (now - last_report > 5000000) {
      last_report = now;
      Log("completions " + std::to_string(r.distinct()) + "/" + std::to_string(n));
    }
  }
  return true;
}

int64_t MaxHwmKb(const std::vector<int>& pids, std::string* each) {
  int64_t mx = 0;
  for (int pid : pids) {
    int64_t kb = ReadStatusKb(pid, "VmHWM:");
    if (!each->empty()) *each += ",";
    *each += std::to_string(kb / 1024);
    mx = std::max(mx, kb);
  }
  return mx;
}

std::string Report(const LoadConfig& c, CompletionReader& r, const CpuMeter& cpu, int64_t first_us,
                   const ProduceStats* ps, bool complete, const PgCounters& pg0) {
  r.Stop();
  if (!c.dump.empty()) {
    std::ofstream f(c.dump);
    f << "index,trigger_us,completion_us,received_us\n";
    for (const auto& row : r.dump_rows_)
      f << row.idx << ',' << row.trigger_us << ',' << row.done_us << ',' << row.recv_us << '\n';
  }
  const int64_t n = r.distinct();
  const double elapsed = static_cast<double>(r.last_recv_us() - first_us) / 1e6;
  Percentiles lt = Compute(r.lat_total_), lw = Compute(r.lat_worker_), lr = Compute(r.lat_relay_);
  std::string hwm_each;
  const int64_t hwm = MaxHwmKb(c.worker_pids, &hwm_each);
  DbCounts db;
  if (!c.database_url.empty()) db = CountDb(c.database_url, kOrg, c.run_id, c.events);
  const bool exact = db.ok && db.run_executions == c.events && db.run_distinct == c.events;
  // Statistics reach the shared counters within ~1 s of a backend going idle.
  if (pg0.ok) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const PgCounters pg1 = ReadPgCounters(c.database_url);
  JsonOut j;
  j.Str("label", c.label)
      .Str("run_id", c.run_id)
      .Str("date", IsoNow())
      .Int("workers", static_cast<int64_t>(c.worker_pids.size()))
      .Int("events", c.events)
      .Str("mode", c.rate > 0 ? "rate" : (ps ? "full" : "backlog"))
      .Int("rate_target", c.rate)
      .Int("max_lead", c.max_lead)
      .Bool("complete", complete)
      .Int("completions", n)
      .Int("completion_duplicates", r.duplicates())
      .Int("completions_not_completed", r.not_completed())
      .Num("elapsed_s", elapsed)
      .Num("events_per_s", elapsed > 0 ? static_cast<double>(n) / elapsed : 0, 0)
      .Num("drain_events_per_s",
           r.last_recv_us() > r.first_recv_us() && n > 1
               ? static_cast<double>(n - 1) * 1e6 / static_cast<double>(r.last_recv_us() - r.first_recv_us())
               : 0,
           0);
  if (ps) j.Num("produce_s", static_cast<double>(ps->last_us - ps->first_us) / 1e6);
  if (ps && c.events > 0) j.Int("input_bytes_avg", ps->input_bytes / c.events);
  if (n > 0) j.Int("completion_bytes_avg", r.payload_bytes() / n);
  j.Lat("lat", lt).Lat("lat_worker", lw).Lat("lat_relay", lr);
  j.Num("worker_cpu_s", cpu.worker_s)
      .Num("worker_cpu_s_per_1k", n > 0 ? cpu.worker_s * 1000.0 / static_cast<double>(n) : 0, 4)
      .Num("worker_cores", elapsed > 0 ? cpu.worker_s / elapsed : 0, 2)
      .Num("worker_sys_share", cpu.worker_s > 0 ? cpu.worker_sys_s / cpu.worker_s : 0, 2)
      .Num("pg_cpu_s", cpu.pg_s)
      .Num("pg_cores", elapsed > 0 ? cpu.pg_s / elapsed : 0, 2)
      .Num("pg_cpu_s_per_1k", n > 0 ? cpu.pg_s * 1000.0 / static_cast<double>(n) : 0, 4)
      .Num("broker_cpu_s", cpu.broker_s)
      .Num("bench_cpu_s", cpu.self_s)
      .Num("machine_busy_pct", cpu.busy_pct, 1)
      .Num("machine_iowait_pct", cpu.iowait_pct, 1)
      .Num("worker_rss_peak_mb", static_cast<double>(hwm) / 1024.0, 1)
      .Str("worker_rss_each_mb", hwm_each);
  if (pg0.ok && pg1.ok && n > 0) {
    const double nd = static_cast<double>(n);
    j.Num("pg_wal_bytes_per_event", (pg1.wal_bytes - pg0.wal_bytes) / nd, 0)
        .Num("pg_wal_records_per_event", (pg1.wal_records - pg0.wal_records) / nd, 2)
        .Num("pg_wal_fpi_per_event", (pg1.wal_fpi - pg0.wal_fpi) / nd, 3)
        .Num("pg_wal_syncs", pg1.wal_sync - pg0.wal_sync, 0)
        .Num("pg_wal_syncs_per_s", elapsed > 0 ? (pg1.wal_sync - pg0.wal_sync) / elapsed : 0, 1)
        .Num("pg_commits_per_1k_events", (pg1.commits - pg0.commits) * 1000.0 / nd, 1)
        .Num("pg_checkpoints", pg1.checkpoints - pg0.checkpoints, 0);
  }
  if (!c.database_url.empty()) {
    j.Bool("db_checked", db.ok)
        .Int("db_run_executions", db.run_executions)
        .Int("db_run_distinct_triggers", db.run_distinct)
        .Int("db_run_completed", db.run_completed)
        .Int("db_executions_total", db.executions)
        .Int("db_notifications_total", db.notifications)
        .Int("db_counter_sum", db.counter_sum)
        .Int("db_processed_events", db.processed)
        .Int("db_outbox_rows", db.outbox)
        .Bool("exactly_n_executions", exact);
    if (!db.ok) j.Str("db_error", db.error);
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "%s: %" PRId64 "/%" PRId64 " in %.2f s = %.0f events/s; latency p50 %.1f p95 %.1f p99 %.1f ms; "
                "worker CPU %.4f s/1k (%.2f cores), postgres %.2f cores, RSS peak %.1f MB; executions %s",
                c.label.c_str(), n, c.events, elapsed, elapsed > 0 ? static_cast<double>(n) / elapsed : 0, lt.p50,
                lt.p95, lt.p99, n > 0 ? cpu.worker_s * 1000.0 / static_cast<double>(n) : 0,
                elapsed > 0 ? cpu.worker_s / elapsed : 0, elapsed > 0 ? cpu.pg_s / elapsed : 0,
                static_cast<double>(hwm) / 1024.0,
                c.database_url.empty() ? "not checked"
                                       : (exact ? "exactly N" : ("MISMATCH: " + std::to_string(db.run_executions) +
                                                                 (db.ok ? "" : " " + db.error))
                                                                    .c_str()));
  Log(line);
  return j.Done();
}

int Load(const Args& a) {
  LoadConfig c = ReadLoadConfig(a);
  Log(c.label + ": run " + c.run_id + ", " + std::to_string(c.events) + " events" +
      (c.rate > 0 ? " at " + std::to_string(c.rate) + "/s" : " at full speed") + ", lead <= " +
      std::to_string(c.max_lead) + ", " + std::to_string(c.worker_pids.size()) + " worker process(es)");
  Producer p(c.brokers, c.linger_ms, c.compression);
  if (p.Partitions(c.topic_prefix + "workflow.triggered") == 0) throw std::runtime_error("input topic not found");
  CompletionReader r(c.brokers, c.topic_prefix + "workflow.completed", c.run_id, c.events, !c.dump.empty(), c.fetch_wait_ms);
  CpuMeter cpu(c.worker_pids, c.pg_pid, c.broker_pid);
  const PgCounters pg0 = ReadPgCounters(c.database_url);
  ProduceStats ps = ProduceEvents(p, c, &r, &cpu);
  Log("produced " + std::to_string(c.events) + " in " + std::to_string((ps.last_us - ps.first_us) / 1000) + " ms");
  const bool complete = AwaitCompletions(r, c.events, c.stall_s, &p);
  cpu.Stop();
  if (!p.Flush(30000) || p.dr_.failed > 0) Log("WARNING: " + std::to_string(p.dr_.failed.load()) + " events not delivered");
  std::cout << Report(c, r, cpu, ps.first_us, &ps, complete, pg0) << std::endl;
  return complete ? 0 : 1;
}

int ProduceOnly(const Args& a) {
  LoadConfig c = ReadLoadConfig(a);
  const std::string topic = c.topic_prefix + "workflow.triggered";
  Producer p(c.brokers, c.linger_ms, c.compression);
  const int parts = p.Partitions(topic);
  if (parts == 0) throw std::runtime_error("input topic not found");
  int64_t low0 = 0;
  const int64_t held0 = p.Retained(topic, parts, &low0);
  ProduceStats ps = ProduceEvents(p, c, nullptr, nullptr);
  if (!p.Flush(120000) || p.dr_.failed > 0) throw std::runtime_error("not every event was delivered");
  int64_t low = 0;
  const int64_t held = p.Retained(topic, parts, &low) - held0;
  Log("backlog: produced " + std::to_string(c.events) + " events (" + std::to_string(ps.input_bytes / c.events) +
      " bytes each, compression " + c.compression + ") in " + std::to_string((ps.last_us - ps.first_us) / 1000) +
      " ms; the broker holds " + std::to_string(held) + " of them");
  if (held < c.events || low > low0) {
    Log("ERROR: the broker dropped " + std::to_string(c.events - held) +
        " events of the backlog (the mock keeps ~5 MiB per partition); use more partitions or compression");
    return 3;
  }
  std::cout << c.run_id << std::endl;
  return 0;
}

int Await(const Args& a) {
  LoadConfig c = ReadLoadConfig(a);
  if (!a.has("run-id")) throw std::invalid_argument("--run-id is required");
  Log(c.label + ": waiting for " + std::to_string(c.events) + " completions of run " + c.run_id);
  CompletionReader r(c.brokers, c.topic_prefix + "workflow.completed", c.run_id, c.events, !c.dump.empty(), c.fetch_wait_ms);
  CpuMeter cpu(c.worker_pids, c.pg_pid, c.broker_pid);
  const PgCounters pg0 = ReadPgCounters(c.database_url);
  const int64_t start = NowUnixMicros();
  cpu.Start();
  const bool complete = AwaitCompletions(r, c.events, c.stall_s, nullptr);
  cpu.Stop();
  std::cout << Report(c, r, cpu, start, nullptr, complete, pg0) << std::endl;
  return complete ? 0 : 1;
}

// As an escape string literal with no ':' in it: pgbench takes `:name` (letters
// or digits) anywhere in a command, even inside quotes, for a variable, and in
// prepared mode turns it into a parameter.
std::string SqlQuote(std::string_view s) {
  std::string out = "E'";
  for (char ch : s) {
    if (ch == '\'') out += "''";
    else if (ch == '\\') out += "\\\\";
    else if (ch == ':') out += "\\x3a";
    else out += ch;
  }
  return out + "'";
}

// Replaces "bench-ZZZ"-style markers per row: replace(<template>, 'ZZZ', g::text).
std::string PerRow(const std::string& tmpl) { return "replace(" + SqlQuote(tmpl) + ", 'ZZZ', g::text)"; }

// A pgbench script with W1's writes for `batch` events per transaction: the
// worker's statements (store/connection.cpp) with the row contents the engine
// produces for a W1 event, every JSON value parsed per row as the worker's
// array parameters are.
int PgbenchScript(const Args& a) {
  const int64_t batch = a.num("batch", 1000);
  const std::string org = a.str("org", kOrg);
  const int workflows = static_cast<int>(a.num("workflows", 100));
  const std::string user = "user_bench";
  const auto wfs = WorkflowIds(org, workflows);

  // One W1 execution, as the worker computes it.
  const std::string event = hub::worker::MakeWorkflowTriggered("w1-pgb-ZZZ", org, wfs[0], "bench-ZZZ");
  rapidjson::Document ev;
  ev.Parse(event.c_str());
  const std::string exec_id = hub::common::TimeOrderedUuid(NowUnixMicros() / 1000, org, "urn:hub:demo", "w1-pgb-ZZZ");
  auto wf = hub::engine::CompileWorkflow(wfs[0], "Greeting 0", org, true, "", hub::worker::GreetingNodes(user),
                                         hub::worker::GreetingEdges(), "");
  hub::engine::ExecutionResult res;
  hub::engine::RunWorkflow(*wf, hub::engine::TriggerInput{&ev, &ev["data"]["input"], exec_id},
                           hub::engine::ExecutionLimits{}, res);
  if (res.notifications.size() != 1) throw std::runtime_error("W1 should produce one notification");
  const auto& n = res.notifications[0];
  hub::engine::WorkflowCompleted wc;
  wc.organization_id = org;
  wc.workflow_id = wfs[0];
  wc.execution_id = exec_id;
  wc.status = "COMPLETED";
  wc.output_json = res.output_json;
  wc.nodes_executed = res.nodes_executed;
  wc.trigger_event_id = "w1-pgb-ZZZ";
  wc.trigger_time = ev["time"].GetString();
  wc.now_unix_us = NowUnixMicros();
  const std::string payload = hub::engine::BuildWorkflowCompleted(wc);

  // Client :client_id of :nclients (pgbench -D nclients=N) owns the workflows
  // i with i % nclients = client_id, as each lane of the worker owns the
  // partitions, hence the workflow keys, it is given: concurrent transactions
  // never update the same counter rows.
  const std::string w = std::to_string(workflows);
  const std::string owned = "(SELECT i FROM generate_series(0, " + w + " - 1) i WHERE i % :nclients = :client_id)";
  const std::string ids = "ARRAY(SELECT 'wf_" + org + "_' || i FROM " + owned + " AS o(i))";
  const std::string b = std::to_string(batch);
  const std::string wf_expr = "'wf_" + org + "_' || (:client_id + :nclients * (g % ((" + w +
                              " - 1 - :client_id) / :nclients + 1)))";

  // Execution ids as common::TimeOrderedUuid makes them: the first 48 bits are
  // the time in milliseconds, the rest name-derived (here random).
  const std::string hex_ms = "lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')";
  const std::string time_ordered_id = "(substr(" + hex_ms + ", 1, 8) || '-' || substr(" + hex_ms +
                                      ", 9, 4) || substr(gen_random_uuid()::text, 14))";

  std::ostringstream s;
  s << "-- W1 writes for " << batch << " events per transaction (generated by hub_bench_w1 pgbench-script).\n"
    << "-- Same statements as store/connection.cpp; rows as the engine writes them for one W1 event.\n"
    << "BEGIN;\n"
    << "SELECT set_config('app.organization_id', " << SqlQuote(org) << ", true);\n"
    << "SELECT 1 FROM organizations WHERE id = " << SqlQuote(org) << " AND deleted_at IS NULL;\n"
    << "SELECT id, name, is_active, updated_at::text, nodes::text, edges::text, coalesce(variables::text, '') "
       "FROM automation_workflows WHERE id = ANY("
    << ids << ");\n"
    << "INSERT INTO processed_events (organization_id, source, event_id, topic, kafka_partition, kafka_offset) "
       "SELECT " << SqlQuote(org) << ", E'urn\\x3ahub\\x3abench', gen_random_uuid()::text, 'hub.workflow.triggered', g % 12, g "
       "FROM generate_series(1, "
    << b << ") g;\n"  // new identities: the plain INSERT of BatchApplier's optimistic path"
    << "INSERT INTO workflow_executions (id, organization_id, workflow_type, workflow_id, status, started_at, "
       "completed_at, duration, input, output, error, logs, nodes_executed, tokens_used, cost, trigger_event_id, "
       "trigger_source, triggered_by, correlation_id, traceparent) "
       "SELECT "
    << time_ordered_id << ", " << SqlQuote(org) << ", 'AUTOMATION', " << wf_expr << ", 'COMPLETED'::execution_status, now(), now(), 0, "
    << PerRow("{\"name\":\"bench-ZZZ\"}") << "::jsonb, " << PerRow(res.output_json) << "::jsonb, NULL, "
    << PerRow(res.logs_json) << "::jsonb, " << res.nodes_executed
    << ", 0, 0, 'w1-pgb-' || gen_random_uuid()::text, E'urn\\x3ahub\\x3abench', NULL, NULL, NULL "
       "FROM generate_series(1, "
    << b << ") g;\n"
    << "INSERT INTO notifications (id, organization_id, user_id, title, message, type, metadata) "
       "SELECT "
    << time_ordered_id << " || E'\\x3anotify', " << SqlQuote(org) << ", " << SqlQuote(n.user_id) << ", " << PerRow(n.title) << ", " << PerRow(n.message) << ", "
    << SqlQuote(n.type) << ", " << PerRow(n.metadata_json) << "::jsonb FROM generate_series(1, " << b << ") g;\n"
    << "UPDATE automation_workflows w SET execution_count = w.execution_count + c.n, "
       "last_executed = greatest(coalesce(w.last_executed, c.t), c.t) "
       "FROM (SELECT 'wf_"
    << org << "_' || i AS id, " << b << " / count(*) OVER () AS n, now() AS t FROM " << owned
    << " AS o(i)) AS c WHERE w.id = c.id;\n"
    << "INSERT INTO outbox (shard, topic, kafka_key, payload, headers) "
       "SELECT g % 64, 'hub.workflow.completed', "
    << wf_expr << ", " << PerRow(payload) << ", ('{' || '}')::jsonb FROM generate_series(1, " << b << ") g;\n"
    << "COMMIT;\n";
  if (a.has("with-delete")) {
    // What the outbox publisher does with those rows once the broker
    // acknowledged them (producers/outbox_publisher.cpp): one DELETE by
    // (shard, id), committed asynchronously.  Client k of :nclients deletes
    // the rows of the shards s with s % :nclients = k (pgbench -D nclients=..).
    const std::string shards =
        "ARRAY(SELECT s FROM generate_series(0, 63) s WHERE s % :nclients = :client_id)::smallint[]";
    s << "BEGIN;\nSET LOCAL synchronous_commit = off;\n"
      << "DELETE FROM outbox WHERE (shard, id) IN (SELECT shard, id FROM outbox WHERE shard = ANY(" << shards
      << ") ORDER BY shard, id LIMIT " << b << ");\nCOMMIT;\n";
  }
  std::cout << s.str();
  return 0;
}

// A markdown table of the JSON lines in `file`.
int Summary(const Args& a) {
  if (a.positional.empty()) throw std::invalid_argument("summary FILE");
  std::ifstream f(a.positional[0]);
  std::string line;
  std::vector<std::unique_ptr<rapidjson::Document>> runs;
  double ceiling = 0;
  while (std::getline(f, line)) {
    auto d = std::make_unique<rapidjson::Document>();
    d->Parse(line.c_str());
    if (d->HasParseError() || !d->IsObject()) continue;
    if (d->HasMember("pgbench_events_per_s") && (*d)["pgbench_events_per_s"].IsNumber())
      ceiling = std::max(ceiling, (*d)["pgbench_events_per_s"].GetDouble());
    runs.push_back(std::move(d));
  }
  auto num = [](const rapidjson::Value& v, const char* k) -> double {
    return v.HasMember(k) && v[k].IsNumber() ? v[k].GetDouble() : NAN;
  };
  auto fmt = [](double v, int prec) {
    if (std::isnan(v)) return std::string("–");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    return std::string(buf);
  };
  std::cout << "| run | workers | events | rate target /s | events/s | % of DB ceiling | p50 ms | p95 ms | p99 ms "
               "| worker CPU s/1k | worker cores | postgres cores | machine busy % | iowait % | worker RSS peak MB "
               "| exactly N executions |\n"
            << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& d : runs) {
    const auto& v = *d;
    if (!v.HasMember("events_per_s")) continue;
    const bool backlog = v.HasMember("mode") && std::string(v["mode"].GetString()) == "backlog";
    // A backlog run's clock starts before the worker does: its rate is the drain
    // rate, first to last completion.
    const double eps = backlog ? num(v, "drain_events_per_s") : num(v, "events_per_s");
    const double rate = num(v, "rate_target");
    std::cout << "| " << v["label"].GetString() << " | " << fmt(num(v, "workers"), 0) << " | "
              << fmt(num(v, "events"), 0) << " | " << (rate > 0 ? fmt(rate, 0) : backlog ? "backlog" : "full")
              << " | " << fmt(eps, 0) << (backlog ? " (drain)" : "")
              << " | " << (ceiling > 0 && rate <= 0 ? fmt(100.0 * eps / ceiling, 0) + "%" : "–") << " | "
              << fmt(num(v, "lat_p50_ms"), 1) << " | " << fmt(num(v, "lat_p95_ms"), 1) << " | "
              << fmt(num(v, "lat_p99_ms"), 1) << " | " << fmt(num(v, "worker_cpu_s_per_1k"), 4) << " | "
              << fmt(num(v, "worker_cores"), 2) << " | " << fmt(num(v, "pg_cores"), 2) << " | "
              << fmt(num(v, "machine_busy_pct"), 0) << " | " << fmt(num(v, "machine_iowait_pct"), 0) << " | "
              << fmt(num(v, "worker_rss_peak_mb"), 1) << " | "
              << (v.HasMember("exactly_n_executions") && v["exactly_n_executions"].IsBool()
                      ? (v["exactly_n_executions"].GetBool() ? "yes" : "**NO**")
                      : "–")
              << " |\n";
  }
  bool any_db = false;
  for (const auto& d : runs) {
    const auto& v = *d;
    if (!v.HasMember("pg_wal_bytes_per_event") || !v.HasMember("events_per_s")) continue;
    if (!any_db) {
      std::cout << "\n| run | worker-side latency p50/p99 ms | relay-side latency p50/p99 ms | WAL bytes/event "
                   "| WAL full-page images/event | WAL flushes/s | commits per 1k events | checkpoints "
                   "| postgres CPU s/1k | worker CPU in kernel | broker CPU s | bench CPU s |\n"
                << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
      any_db = true;
    }
    std::cout << "| " << v["label"].GetString() << " | " << fmt(num(v, "lat_worker_p50_ms"), 1) << " / "
              << fmt(num(v, "lat_worker_p99_ms"), 1) << " | " << fmt(num(v, "lat_relay_p50_ms"), 1) << " / "
              << fmt(num(v, "lat_relay_p99_ms"), 1) << " | " << fmt(num(v, "pg_wal_bytes_per_event"), 0) << " | "
              << fmt(num(v, "pg_wal_fpi_per_event"), 3) << " | " << fmt(num(v, "pg_wal_syncs_per_s"), 1) << " | "
              << fmt(num(v, "pg_commits_per_1k_events"), 1) << " | " << fmt(num(v, "pg_checkpoints"), 0) << " | "
              << fmt(num(v, "pg_cpu_s_per_1k"), 4) << " | " << fmt(100.0 * num(v, "worker_sys_share"), 0) << "% | "
              << fmt(num(v, "broker_cpu_s"), 1) << " | " << fmt(num(v, "bench_cpu_s"), 1) << " |\n";
  }
  bool any_pgb = false;
  for (const auto& d : runs) {
    const auto& v = *d;
    if (!v.HasMember("pgbench_events_per_s") && !v.HasMember("pgbench_relay_events_per_s")) continue;
    if (!any_pgb) {
      std::cout << "\n| pgbench (W1 writes) | clients | events/txn | tps | events/s | latency ms/txn | machine busy % "
                   "| iowait % | WAL bytes/event | WAL flushes/s | postgres CPU s/1k |\n"
                << "|---|---|---|---|---|---|---|---|---|---|---|\n";
      any_pgb = true;
    }
    std::cout << "| " << v["label"].GetString() << " | " << fmt(num(v, "clients"), 0) << " | "
              << fmt(num(v, "batch"), 0) << " | " << fmt(num(v, "tps"), 1) << " | "
              << fmt(v.HasMember("pgbench_events_per_s") ? num(v, "pgbench_events_per_s")
                                                         : num(v, "pgbench_relay_events_per_s"),
                     0)
              << " | " << fmt(num(v, "latency_ms"), 1) << " | " << fmt(num(v, "machine_busy_pct"), 0) << " | "
              << fmt(num(v, "machine_iowait_pct"), 0) << " | " << fmt(num(v, "pg_wal_bytes_per_event"), 0) << " | "
              << fmt(num(v, "pg_wal_syncs_per_s"), 1) << " | " << fmt(num(v, "pg_cpu_s_per_1k"), 4) << " |\n";
  }
  if (ceiling > 0)
    std::cout << "\nDB ceiling (best pgbench of the W1 transaction, outbox delete not included): " << fmt(ceiling, 0)
              << " W1 events/s\n";

  // Each run against the ceiling measured right before and right after it
  // (run.sh, BENCH_ADJACENT_CEILING): the machine's speed drifts within minutes.
  bool any_adjacent = false;
  for (const auto& d : runs) {
    const auto& v = *d;
    if (!v.HasMember("events_per_s") || !v.HasMember("label")) continue;
    const std::string label = v["label"].GetString();
    double before = NAN, after = NAN;
    for (const auto& e : runs) {
      const auto& a = *e;
      if (!a.HasMember("adjacent_to") || !a["adjacent_to"].IsString() || label != a["adjacent_to"].GetString())
        continue;
      const std::string which = a["label"].GetString();
      (which.find("before") != std::string::npos ? before : after) = num(a, "adjacent_pgbench_events_per_s");
    }
    if (std::isnan(before) && std::isnan(after)) continue;
    if (!any_adjacent) {
      std::cout << "\n| run | events/s | ceiling right before | ceiling right after | % of their mean |\n"
                << "|---|---|---|---|---|\n";
      any_adjacent = true;
    }
    const bool backlog = v.HasMember("mode") && std::string(v["mode"].GetString()) == "backlog";
    const double eps = backlog ? num(v, "drain_events_per_s") : num(v, "events_per_s");
    const double mean = std::isnan(before) ? after : std::isnan(after) ? before : (before + after) / 2;
    std::cout << "| " << label << " | " << fmt(eps, 0) << (backlog ? " (drain)" : "") << " | " << fmt(before, 0)
              << " | " << fmt(after, 0) << " | " << (mean > 0 ? fmt(100.0 * eps / mean, 0) + "%" : "–") << " |\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  try {
    Args a = ParseArgs(argc, argv);
    if (a.command == "seed") return Seed(a);
    if (a.command == "load") return Load(a);
    if (a.command == "produce") return ProduceOnly(a);
    if (a.command == "await") return Await(a);
    if (a.command == "pgbench-script") return PgbenchScript(a);
    if (a.command == "summary") return Summary(a);
    if (a.command == "stub") return Stub(a);
    throw std::invalid_argument("unknown subcommand '" + a.command + "'");
  } catch (const std::exception& e) {
    std::cerr << "hub_bench_w1: " << e.what() << std::endl;
    return 2;
  }
}
