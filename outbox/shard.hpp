#pragma once
// The outbox is split into shards by Kafka key so that one relay at a time owns
// a shard (session advisory lock) and publishes its rows in id order: events of
// one key stay in the order they were written, and no row is published by two
// relays at once.  The shard count is part of the on-disk format: every pod
// must agree on it, so it is a constant, not a setting.
#include <cstdint>
#include <string_view>

namespace hub::outbox {

inline constexpr int kOutboxShards = 64;
// Advisory-lock key space of the relay: (kRelayLockClass, shard).
inline constexpr int32_t kRelayLockClass = 0x68756272;  // "hubr"

inline int OutboxShard(std::string_view key) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : key) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int>(h % kOutboxShards);
}

}  // namespace hub::outbox
