#include "common/partition_lag.hpp"

#include <algorithm>

namespace hub::common {

void PartitionLag::Assigned(const std::string& topic, int32_t partition) {
  std::lock_guard<std::mutex> l(mu_);
  State s;
  s.generation = next_generation_++;
  parts_[{topic, partition}] = s;
}

void PartitionLag::Revoked(const std::string& topic, int32_t partition) {
  std::lock_guard<std::mutex> l(mu_);
  parts_.erase({topic, partition});
}

void PartitionLag::Processed(const std::string& topic, int32_t partition, int64_t next_offset) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = parts_.find({topic, partition});
  if (it != parts_.end()) it->second.next_offset = std::max(it->second.next_offset, next_offset);
}

std::vector<PartitionLag::Probe> PartitionLag::Probes() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Probe> out;
  out.reserve(parts_.size());
  for (const auto& [k, s] : parts_) out.push_back({k.first, k.second, s.generation, s.next_offset});
  return out;
}

void PartitionLag::Sampled(const Probe& probe, int64_t high_watermark, int64_t start_offset) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = parts_.find({probe.topic, probe.partition});
  if (it == parts_.end() || it->second.generation != probe.generation) return;  // moved meanwhile
  State& s = it->second;
  s.high_watermark = high_watermark;
  if (s.next_offset < 0) s.next_offset = start_offset;
}

int64_t PartitionLag::LagOf(const State& s) {
  // Processed past the last sample (newer messages arrived since): 0 until
  // the next sample says otherwise.
  return std::max<int64_t>(0, s.high_watermark - std::max<int64_t>(0, s.next_offset));
}

std::vector<PartitionLag::Row> PartitionLag::Rows() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Row> out;
  for (const auto& [k, s] : parts_)
    if (s.high_watermark >= 0 && s.next_offset >= 0) out.push_back({k.first, k.second, LagOf(s)});
  return out;
}

}  // namespace hub::common
