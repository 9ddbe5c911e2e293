#include "consumers/lag_sampler.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <memory>

#include "common/log.hpp"

namespace hub::consumers {
namespace {

// Each query waits at most this long: a broker that does not answer leaves
// the previous sample standing until the next round.
constexpr int kQueryTimeoutMs = 2000;

}  // namespace

LagSampler::LagSampler(RdKafka::KafkaConsumer& consumer, common::PartitionLag& lag, std::chrono::milliseconds interval)
    : consumer_(consumer), lag_(lag), interval_(interval), thread_([this] { Loop(); }) {}

LagSampler::~LagSampler() { Stop(); }

void LagSampler::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LagSampler::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, interval_, [this] { return stop_; })) {
    l.unlock();
    SampleOnce();
    l.lock();
  }
}

void LagSampler::SampleOnce() {
  const std::vector<common::PartitionLag::Probe> probes = lag_.Probes();
  if (probes.empty()) return;
  // Starting positions of the partitions with nothing processed yet, in one
  // request to the group coordinator.
  std::map<std::pair<std::string, int32_t>, int64_t> committed;
  bool committed_known = true;
  std::vector<RdKafka::TopicPartition*> unknown;
  for (const auto& p : probes)
    if (p.next_offset < 0) unknown.push_back(RdKafka::TopicPartition::create(p.topic, p.partition));
  if (!unknown.empty()) {
    committed_known = consumer_.committed(unknown, kQueryTimeoutMs) == RdKafka::ERR_NO_ERROR;
    if (committed_known)
      for (const auto* tp : unknown) committed[{tp->topic(), tp->partition()}] = tp->offset();
    RdKafka::TopicPartition::destroy(unknown);
  }
  int failures = 0;
  RdKafka::ErrorCode last_error = RdKafka::ERR_NO_ERROR;
  for (const auto& p : probes) {
    if (p.next_offset < 0 && !committed_known) continue;  // no starting position: next round
    int64_t low = 0, high = 0;
    const RdKafka::ErrorCode rc = consumer_.query_watermark_offsets(p.topic, p.partition, &low, &high, kQueryTimeoutMs);
    if (rc != RdKafka::ERR_NO_ERROR) {
      ++failures;
      last_error = rc;
      continue;
    }
    int64_t start = low;
    if (auto it = committed.find({p.topic, p.partition}); it != committed.end() && it->second >= 0)
      start = std::max(it->second, low);
    lag_.Sampled(p, high, start);
  }
  if (failures > 0)
    common::LogDebug("consumer lag: watermarks not read",
                     {{"partitions", failures}, {"error", RdKafka::err2str(last_error)}});
}

}  // namespace hub::consumers
