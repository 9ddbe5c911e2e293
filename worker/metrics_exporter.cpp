#include "worker/metrics_exporter.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace hub::worker {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric Counter(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = v;
  return m;
}

ClientMetric Gauge(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  return m;
}

template <typename A>
double Load(const A& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

MetricFamily OneCounter(const char* name, const char* help, double v) {
  auto f = Family(name, help, MetricType::Counter);
  f.metric.push_back(Counter(v));
  return f;
}

MetricFamily OneGauge(const char* name, const char* help, double v) {
  auto f = Family(name, help, MetricType::Gauge);
  f.metric.push_back(Gauge(v));
  return f;
}

// AtomicHistogram keeps per-bucket (non-cumulative) counts; Prometheus wants
// cumulative `le` buckets ending in +Inf.  The count is derived from the same
// bucket reads, so _count always equals the +Inf bucket even while other
// threads observe concurrently.
ClientMetric HistogramMetric(const common::AtomicHistogram& h, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  std::uint64_t cumulative = 0;
  for (int i = 0; i < common::AtomicHistogram::kBuckets; ++i) {
    cumulative += h.bucket(i);
    m.histogram.bucket.push_back({cumulative, common::AtomicHistogram::kBounds[i]});
  }
  cumulative += h.bucket(common::AtomicHistogram::kBuckets);  // +Inf
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum();
  return m;
}

MetricFamily Histogram(const char* name, const char* help, const common::AtomicHistogram& h) {
  auto f = Family(name, help, MetricType::Histogram);
  f.metric.push_back(HistogramMetric(h));
  return f;
}

// The families of common::Metrics, built from the atomics at collect time.
class HubCollector : public prometheus::Collectable {
 public:
  explicit HubCollector(const common::Metrics& m) : m_(m) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;

    auto per_type = [&](const char* name, const char* help, const auto& arr) {
      auto f = Family(name, help, MetricType::Counter);
      for (size_t i = 0; i < m_.event_types.size() && i < arr.size(); ++i)
        f.metric.push_back(Counter(Load(arr[i]), {{"type", m_.event_types[i]}}));
      out.push_back(std::move(f));
    };
    per_type("hub_events_consumed_total", "Input events read from Kafka, by event type.", m_.events_consumed);
    per_type("hub_events_processed_total", "Input events whose effects were committed, by event type.",
             m_.events_processed);
    per_type("hub_events_failed_total",
             "Input events committed with a failed outcome (e.g. a FAILED execution), by event type; part of "
             "hub_events_processed_total.",
             m_.events_failed);
    {
      auto f = Family("hub_event_processing_seconds",
                      "From the start of an event's batch to its commit or dead letter, by event type.",
                      MetricType::Histogram);
      for (size_t i = 0; i < m_.event_types.size() && i < m_.event_processing.size(); ++i)
        f.metric.push_back(HistogramMetric(m_.event_processing[i], {{"type", m_.event_types[i]}}));
      out.push_back(std::move(f));
    }
    out.push_back(OneCounter("hub_events_duplicate_total",
                             "Input events whose identity (source, id) was already applied; nothing was done.",
                             Load(m_.events_duplicate)));
    {
      auto f = Family("hub_events_deadlettered_total",
                      "Events sent to the dead letter topic, by event type (\"unknown\": not in the catalogue) "
                      "and error class.",
                      MetricType::Counter);
      const auto add = [&](size_t slot, const std::string& type) {
        for (size_t c = 0; c < m_.events_deadlettered[slot].size(); ++c)
          f.metric.push_back(Counter(Load(m_.events_deadlettered[slot][c]),
                                     {{"class", common::ToString(static_cast<common::ErrorClass>(c))}, {"type", type}}));
      };
      for (size_t i = 0; i < m_.event_types.size() && i < static_cast<size_t>(common::kMaxEventFamilies); ++i)
        add(i, m_.event_types[i]);
      add(common::Metrics::kUnknownFamilySlot, "unknown");
      out.push_back(std::move(f));
    }
    out.push_back(OneCounter("hub_retries_total", "Transient failures that led to a retry.", Load(m_.retries)));
    out.push_back(OneCounter("hub_batches_total", "Batches of events applied in one transaction.", Load(m_.batches)));
    {
      auto f = Family("hub_batch_size", "Events per applied batch (sum and count).", MetricType::Summary);
      ClientMetric s;
      s.summary.sample_count = m_.batches.load(std::memory_order_relaxed);
      s.summary.sample_sum = Load(m_.batch_events);
      f.metric.push_back(std::move(s));
      out.push_back(std::move(f));
    }
    out.push_back(Histogram("hub_batch_duration_seconds", "Time to apply one batch, transaction included.",
                            m_.batch_seconds));
    out.push_back(Histogram("hub_event_latency_seconds",
                            "From the event's time attribute to the commit of its effects.", m_.event_latency));
    out.push_back(OneCounter("hub_steps_resumed_total", "Workflow executions resumed at a durable step (delay).",
                             Load(m_.steps_resumed)));
    out.push_back(OneCounter("hub_step_leases_expired_total",
                             "Durable steps claimed again because an earlier claim's lease ran out (a worker "
                             "crashed or took longer than the lease).",
                             Load(m_.step_leases_expired)));
    out.push_back(OneGauge("hub_steps_waiting", "Durable steps waiting (all workers; sampled between rounds).",
                           Load(m_.steps_waiting)));
    out.push_back(OneGauge("hub_steps_due", "Durable steps due and not yet resumed (sampled between rounds).",
                           Load(m_.steps_due)));
    {
      auto f = Family("hub_step_calls_total",
                      "Outside calls of durable steps (http_request), by outcome: response (any status), retryable "
                      "(no answer: timeout, connection), refused (not allowed, TLS, body too large).",
                      MetricType::Counter);
      const char* kOutcomes[] = {"response", "retryable", "refused"};
      for (size_t i = 0; i < m_.step_calls.size(); ++i)
        f.metric.push_back(Counter(Load(m_.step_calls[i]), {{"outcome", kOutcomes[i]}}));
      out.push_back(std::move(f));
    }
    {
      auto started = Family("hub_steps_started_total", "Durable steps claimed by a step runner, by node type.",
                            MetricType::Counter);
      auto finished = Family("hub_steps_finished_total",
                             "Durable steps whose result was committed, by node type and outcome (completed: the "
                             "execution went on; failed; retried: another attempt later; cancelled).",
                             MetricType::Counter);
      for (size_t t = 0; t < m_.steps_started.size(); ++t) {
        started.metric.push_back(Counter(Load(m_.steps_started[t]), {{"type", common::Metrics::kStepTypes[t]}}));
        for (size_t o = 0; o < m_.steps_finished[t].size(); ++o)
          finished.metric.push_back(Counter(Load(m_.steps_finished[t][o]), {{"type", common::Metrics::kStepTypes[t]},
                                                                          {"outcome", common::Metrics::kStepOutcomes[o]}}));
      }
      out.push_back(std::move(started));
      out.push_back(std::move(finished));
    }
    out.push_back(Histogram("hub_step_duration_seconds",
                            "From a durable step's claim to the commit of its result (its call included).",
                            m_.step_duration));
    out.push_back(Histogram("hub_step_timer_lag_seconds", "How late a durable step was resumed after its due time.",
                            m_.step_timer_lag));
    out.push_back(OneGauge("hub_inflight_events", "Events read from Kafka and not yet committed.",
                           Load(m_.inflight)));
    out.push_back(OneGauge("hub_partitions_assigned", "Kafka partitions assigned to this worker.",
                           Load(m_.partitions_assigned)));
    out.push_back(OneGauge("hub_partitions_paused", "Assigned partitions not being consumed: held or paused for back-pressure, or paused for a retry.",
                           Load(m_.partitions_paused)));
    out.push_back(OneGauge("hub_partition_stuck_seconds",
                           "How long the longest-held partition of this worker has not got past one event (failing, "
                           "retried, or its dead letter not delivered); 0 when every partition moves.",
                           Load(m_.partition_stuck_ms) / 1000.0));
    {
      auto f = Family("hub_consumer_lag",
                      "Messages behind the high watermark, per partition assigned to this worker (sampled every "
                      "HUB_LAG_INTERVAL_MS; lowered at once as events finish).",
                      MetricType::Gauge);
      for (const auto& r : m_.consumer_lag.Rows())
        f.metric.push_back(Gauge(static_cast<double>(r.lag),
                                 {{"partition", std::to_string(r.partition)}, {"topic", r.topic}}));
      out.push_back(std::move(f));
    }
    out.push_back(OneGauge("hub_consumer_lag_seconds",
                           "Age of the oldest event this worker has fetched and not finished (from its Kafka "
                           "timestamp); 0 when none waits.",
                           Load(m_.consumer_lag_age_ms) / 1000.0));
    out.push_back(OneCounter("hub_rebalances_total", "Consumer group rebalances seen.", Load(m_.rebalances)));
    out.push_back(OneCounter("hub_outbox_published_total", "Outbox rows published to Kafka.",
                             Load(m_.outbox_published)));
    out.push_back(OneCounter("hub_outbox_publish_errors_total", "Failed attempts to publish outbox rows.",
                             Load(m_.outbox_publish_errors)));
    out.push_back(OneCounter("hub_deadletters_value_omitted_total",
                             "Dead letters sent without the event's value because the producer refuses it as too "
                             "large; hub-source-topic/partition/offset say where the value is.",
                             Load(m_.deadletters_value_omitted)));
    out.push_back(OneCounter("hub_outbox_quarantined_total",
                             "Outbox rows whose message the producer refuses (too large), moved to outbox_quarantine.",
                             Load(m_.outbox_quarantined)));
    out.push_back(OneGauge("hub_outbox_pending", "Outbox rows waiting to be published (sampled).",
                           Load(m_.outbox_pending)));
    out.push_back(OneGauge("hub_outbox_oldest_age_seconds",
                           "Age of the oldest unpublished outbox row (sampled); 0 when empty.",
                           Load(m_.outbox_oldest_age_ms) / 1000.0));
    out.push_back(OneGauge("hub_relay_shards_owned", "Outbox shards this worker relays.",
                           Load(m_.relay_shards_owned)));
    out.push_back(OneGauge("hub_database_up", "1 when the database answered the last check.",
                           m_.db_ok.load(std::memory_order_relaxed) ? 1 : 0));
    out.push_back(OneGauge("hub_broker_up", "1 when the Kafka cluster answered the last check.",
                           m_.broker_ok.load(std::memory_order_relaxed) ? 1 : 0));
    return out;
  }

 private:
  const common::Metrics& m_;
};

// The usual process_* families, read from /proc/self at collect time.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);

    // /proc/self/stat: the command name may contain spaces; fields resume after ')'.
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream in(text.substr(close + 2));
      std::vector<std::string> f((std::istream_iterator<std::string>(in)), std::istream_iterator<std::string>());
      // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
      if (f.size() > 21) {
        const double utime = std::stod(f[11]), stime = std::stod(f[12]);
        out.push_back(OneCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                                 (utime + stime) / ticks));
        out.push_back(OneGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", std::stod(f[20])));
        out.push_back(OneGauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                               std::stod(f[21]) * page));
        if (const double boot = BootTime(); boot > 0)
          out.push_back(OneGauge("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.",
                                 boot + std::stod(f[19]) / ticks));
      }
    }
    if (DIR* d = opendir("/proc/self/fd")) {
      int n = 0;
      while (const dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
      closedir(d);
      out.push_back(OneGauge("process_open_fds", "Number of open file descriptors.", n - 1));  // minus d itself
    }
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
      out.push_back(OneGauge("process_max_fds", "Maximum number of open file descriptors.",
                             static_cast<double>(rl.rlim_cur)));
    return out;
  }

 private:
  static double BootTime() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
      if (key == "btime") {
        double v = 0;
        in >> v;
        return v;
      }
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
  }
};

}  // namespace

MetricsExporter::MetricsExporter(const common::Metrics& metrics, bool process_metrics)
    : registry_(std::make_shared<prometheus::Registry>()) {
  collectables_.push_back(std::make_shared<HubCollector>(metrics));
  if (process_metrics) collectables_.push_back(std::make_shared<ProcessCollector>());
  collectables_.push_back(registry_);
}

MetricsExporter::~MetricsExporter() = default;

prometheus::Registry& MetricsExporter::registry() { return *registry_; }

std::string MetricsExporter::MetricsText() const {
  std::vector<MetricFamily> families;
  for (const auto& c : collectables_) {
    auto part = c->Collect();
    families.insert(families.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace hub::worker
