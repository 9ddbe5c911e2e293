#pragma once
// Exporting apart from counting (STYLE.md #9): turns the plain atomics of
// common::Metrics into Prometheus families at scrape time, and serializes them
// in the text exposition format (version 0.0.4) with prometheus-cpp.
//
// Families (all from common::Metrics unless noted):
//   hub_events_consumed_total{type}        counter   type = workflow.triggered | order.submitted | integration.webhook
//   hub_events_processed_total{type}       counter
//   hub_events_failed_total{type}          counter   committed with a failed outcome
//   hub_event_processing_seconds{type}     histogram batch start -> commit, per event
//   hub_events_duplicate_total             counter
//   hub_events_deadlettered_total{type,class} counter class = common::ToString(ErrorClass); type "unknown"
//                                                    for events not in the catalogue
//   hub_consumer_lag{topic,partition}      gauge     messages behind the high watermark (assigned partitions)
//   hub_consumer_lag_seconds               gauge     age of the oldest fetched, unfinished event
//   hub_deadletters_value_omitted_total    counter
//   hub_retries_total, hub_batches_total, hub_rebalances_total          counters
//   hub_batch_size                         summary   events per batch (sum/count only)
//   hub_batch_duration_seconds             histogram
//   hub_event_latency_seconds              histogram event time -> commit
//   hub_inflight_events, hub_partitions_assigned, hub_partitions_paused gauges
//   hub_outbox_published_total, hub_outbox_publish_errors_total          counters
//   hub_outbox_quarantined_total                                        counter
//   hub_outbox_pending, hub_outbox_oldest_age_seconds, hub_relay_shards_owned gauges
//   hub_database_up, hub_broker_up          gauges 0/1
//   process_cpu_seconds_total, process_resident_memory_bytes,
//   process_virtual_memory_bytes, process_open_fds, process_max_fds,
//   process_start_time_seconds              from /proc/self (Linux)
// plus anything registered on registry().
//
// Threading: MetricsText() may be called from any thread (typically the HTTP
// server's); it only reads atomics and /proc.  The Metrics object must outlive
// the exporter.
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.hpp"

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace hub::worker {

class MetricsExporter {
 public:
  // `process_metrics` = false leaves out the process_* families (tests).
  explicit MetricsExporter(const common::Metrics& metrics, bool process_metrics = true);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // The whole exposition, ready to be served on /metrics.
  std::string MetricsText() const;

  // For metrics that are not in common::Metrics and are naturally kept with
  // prometheus-cpp's own Counter/Gauge types; they are included in MetricsText().
  prometheus::Registry& registry();

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace hub::worker
