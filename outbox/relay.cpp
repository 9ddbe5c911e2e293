#include "outbox/relay.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <random>

#include <pqxx/pqxx>

#include "common/log.hpp"
#include "outbox/delivered_rows.hpp"
#include "outbox/message.hpp"
#include "store/pg_array.hpp"

namespace hub::outbox {

// Every statement of the relay, by name (STYLE.md #8).  $1 of the lock
// statements is kRelayLockClass.
namespace sql {

constexpr const char* kJoin = "hub_relay_join";
constexpr const char* kJoinText = "SELECT pg_advisory_lock_shared($1::int, $2::int)";

constexpr const char* kCountRelays = "hub_relay_count";
constexpr const char* kCountRelaysText =
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2";

// At most $3 of the shards in $2, in their order; Limit stops pulling rows, so
// no lock beyond the $3rd is taken.
constexpr const char* kTakeShards = "hub_relay_take_shards";
constexpr const char* kTakeShardsText =
    "SELECT s FROM unnest($2::int[]) AS s WHERE pg_try_advisory_lock($1::int, s) LIMIT $3";

constexpr const char* kReleaseShards = "hub_relay_release_shards";
constexpr const char* kReleaseShardsText = "SELECT pg_advisory_unlock($1::int, s) FROM unnest($2::int[]) AS s";

constexpr const char* kReleaseAll = "hub_relay_release_all";
constexpr const char* kReleaseAllText = "SELECT pg_advisory_unlock_all()";

constexpr const char* kSelectRows = "hub_relay_select_rows";
// Each owned shard's oldest rows, read in (shard, id) order straight from the
// table's key, shard after shard until $2 rows: per key the order is the
// commit order, which is all the relay promises.  (ORDER BY id over all the
// shards would have to read and sort every pending row of them: quadratic
// with a backlog.)  The caller rotates the array so no shard waits behind the
// others for long.  Only rows with id <= $3 are taken: see CutoffId().
constexpr const char* kSelectRowsText =
    "SELECT o.id, o.shard, o.topic, o.kafka_key, o.payload, o.headers::text"
    " FROM unnest($1::smallint[]) AS s(shard)"
    " CROSS JOIN LATERAL (SELECT id, shard, topic, kafka_key, payload, headers FROM outbox"
    "   WHERE outbox.shard = s.shard AND outbox.id <= $3 ORDER BY id LIMIT $2) AS o"
    " LIMIT $2";

// The last outbox id handed out (by any session).  A row with an id at most
// this was inserted before this moment.
constexpr const char* kLastId = "hub_relay_last_id";
constexpr const char* kLastIdText = "SELECT last_value FROM outbox_id_seq";


// Rows whose message the producer refuses (Delivery::rejected) move to
// outbox_quarantine (migration 0014) in one statement, so a row is never in
// neither table (a key already in the quarantine fails the statement and the
// row stays in the outbox).  Rare: a handful of rows at most, so the join's
// plan does not matter.
constexpr const char* kQuarantineRows = "hub_relay_quarantine_rows";
constexpr const char* kQuarantineRowsText =
    "WITH q AS (SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS q(shard, id, error)),"
    " moved AS (DELETE FROM outbox o USING q WHERE o.shard = q.shard AND o.id = q.id"
    "   RETURNING o.id, o.shard, o.topic, o.kafka_key, o.payload, o.headers, o.created_at, q.error)"
    " INSERT INTO outbox_quarantine (id, shard, topic, kafka_key, payload, headers, created_at, error)"
    " SELECT id, shard, topic, kafka_key, payload, headers, created_at, error FROM moved";

constexpr const char* kStats = "hub_relay_stats";
// Pending rows and the age of the oldest, for the gauges, read through the
// outbox's key.  Between two autovacuums the table holds every row deleted
// since the last one; a sequential scan reads all of them on every sample
// (130 ms per sample, 7.6% of a core, in a 1.2M-event run).  Index entries of
// dead rows are marked dead by the first scan that meets them and skipped
// cheaply afterwards, so the count reads the key with sequential scans off
// (SET LOCAL in the sample's transaction), and the oldest row is the oldest of
// the shards' first rows: $1 probes.  Measured against 6,000 live rows among
// 600,000 deleted ones: count 29 ms instead of 82, age 2.6 ms.
constexpr const char* kStatsText =
    "SELECT (SELECT count(*) FROM outbox),"
    " COALESCE((SELECT (EXTRACT(EPOCH FROM clock_timestamp() - min(h.created_at)) * 1000)::bigint"
    "   FROM generate_series(0, $1::int - 1) AS s(shard)"
    "   CROSS JOIN LATERAL (SELECT created_at FROM outbox WHERE outbox.shard = s.shard ORDER BY id LIMIT 1) AS h), 0)";

}  // namespace sql

namespace {

constexpr const char* kChannel = "hub_outbox";
constexpr std::chrono::milliseconds kBalanceEvery{1000};
constexpr std::chrono::milliseconds kBackoffBase{100};
constexpr std::chrono::milliseconds kBackoffMax{5000};
constexpr std::chrono::milliseconds kDeliveryMargin{5000};

std::chrono::milliseconds Backoff(int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  int64_t ms = kBackoffBase.count() << std::min(attempt, 10);
  ms = std::min<int64_t>(ms, kBackoffMax.count());
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(ms / 2, ms)(rng));
}

// Appends the row's extra headers ({"name":"value"}; non-string values are
// passed as their JSON text) to `out`, keeping the strings in `storage`.
std::string_view View(const pqxx::field& f) { return {f.c_str(), f.size()}; }

}  // namespace

class OutboxRelay::Listener : public pqxx::notification_receiver {
 public:
  Listener(pqxx::connection_base& conn, bool& notified) : pqxx::notification_receiver(conn, kChannel), notified_(notified) {}
  void operator()(const std::string&, int) override { notified_ = true; }

 private:
  bool& notified_;
};

OutboxRelay::OutboxRelay(RelayOptions options, kafka::KafkaProducer& producer, common::Metrics& metrics)
    : options_(std::move(options)), producer_(producer), metrics_(metrics) {
  if (options_.batch < 1) throw common::ConfigError("relay batch must be at least 1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  first_shard_ = static_cast<int>(std::random_device{}() % outbox::kOutboxShards);
}

OutboxRelay::~OutboxRelay() {
  if (thread_.joinable()) {
    Stop(std::chrono::steady_clock::now());
  } else {
    Disconnect(true);
  }
  close(wake_fd_);
}

void OutboxRelay::Start() {
  if (thread_.joinable()) throw std::logic_error("OutboxRelay::Start called twice");
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Stop(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) {
    Disconnect(true);
    return;
  }
  stop_deadline_.Set(deadline);
  stop_.store(true);
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
    // Cannot happen for an eventfd below its maximum; the relay still sees
    // stop_ within poll_ms.
  }
  thread_.join();
}

size_t OutboxRelay::PublishOnce() {
  try {
    if (!conn_) Connect();
    RoundResult r = Round(true, options_.grace_ms);
    SampleIfDue(false);
    return r.published;
  } catch (const std::exception& e) {
    HandleDbFailure(e);
    throw;
  }
}

void OutboxRelay::Run() {
  int db_attempt = 0;
  int publish_attempt = 0;
  while (!stop_.load()) {
    try {
      if (!conn_) Connect();
      db_attempt = 0;
      RoundResult r = Round(true, options_.grace_ms);
      SampleIfDue(false);
      if (r.failed > 0) {
        Nap(Backoff(publish_attempt++));
        continue;
      }
      publish_attempt = 0;
      if (r.selected >= static_cast<size_t>(options_.batch)) continue;  // more rows are waiting
      auto now = std::chrono::steady_clock::now();
      auto wait = std::min<std::chrono::steady_clock::duration>(
          {std::chrono::milliseconds(options_.poll_ms), std::max(next_sample_ - now, {}),
           std::max(next_balance_ - now, {})});
      WaitForWork(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1));
    } catch (const std::exception& e) {
      HandleDbFailure(e);
      Nap(Backoff(db_attempt++));
    }
  }
  // Draining: publish what the owned shards hold, take nothing new.
  const auto deadline = stop_deadline_.Get();
  while (conn_ && owned_.any() && std::chrono::steady_clock::now() < deadline) {
    try {
      RoundResult r = Round(false, 0);  // everything: nobody else will publish it now
      if (r.selected == 0) break;
      if (r.failed > 0) {
        auto left = deadline - std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(kBackoffBase, left));
      }
    } catch (const std::exception& e) {
      HandleDbFailure(e);
      break;
    }
  }
  Disconnect(true);
}

void OutboxRelay::Connect() {
  auto conn = std::make_unique<pqxx::connection>(options_.database_url);
  // Advisory locks live in the session: a silent reconnect would make the relay
  // believe it owns shards it does not.  Fail loudly instead.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  conn->prepare(sql::kJoin, sql::kJoinText);
  conn->prepare(sql::kCountRelays, sql::kCountRelaysText);
  conn->prepare(sql::kTakeShards, sql::kTakeShardsText);
  conn->prepare(sql::kReleaseShards, sql::kReleaseShardsText);
  conn->prepare(sql::kReleaseAll, sql::kReleaseAllText);
  conn->prepare(sql::kSelectRows, sql::kSelectRowsText);
  conn->prepare(sql::kLastId, sql::kLastIdText);
  PrepareDeleteDelivered(*conn);
  conn->prepare(sql::kStats, sql::kStatsText);
  conn->prepare(sql::kQuarantineRows, sql::kQuarantineRowsText);
  {
    pqxx::nontransaction tx(*conn);
    // The relay's only writes are DELETEs of rows already published.  Losing
    // one in a crash means the row is published again (consumers deduplicate
    // by event id) — so they need not wait for a WAL flush, which would cost
    // a second fsync per batch and delay the processing commits behind it.
    tx.exec("SET synchronous_commit = off");
    tx.exec_prepared(sql::kJoin, outbox::kRelayLockClass, outbox::kOutboxShards);
  }
  conn_ = std::move(conn);
  backend_pid_ = conn_->backendpid();
  listener_ = std::make_unique<Listener>(*conn_, notified_);  // LISTEN hub_outbox
  notified_ = true;  // rows may have been written while nobody listened
  next_balance_ = {};
  common::LogInfo("outbox relay connected", {{"backend_pid", backend_pid_}});
}

void OutboxRelay::Disconnect(bool release_locks) {
  if (!conn_) return;
  if (release_locks && conn_->is_open()) {
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec_prepared(sql::kReleaseAll);
    } catch (const std::exception& e) {
      // Closing the session below releases them as well.
      common::LogWarn("outbox relay could not release its shard locks; closing the connection",
                      {{"error", e.what()}});
    }
  }
  listener_.reset();
  conn_.reset();
  owned_.reset();
  shards_owned_.store(0);
  metrics_.relay_shards_owned.store(0);
}

void OutboxRelay::HandleDbFailure(const std::exception& e) {
  const bool broken = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr || !conn_ ||
                      !conn_->is_open() || conn_->backendpid() != backend_pid_;
  if (!conn_) {
    common::LogWarn("outbox relay cannot connect to the database; retrying", {{"error", e.what()}});
  } else if (broken) {
    common::LogWarn("outbox relay lost its database connection; shards released, reconnecting",
                    {{"error", e.what()}, {"shards_owned", static_cast<int>(owned_.count())}});
    Disconnect(false);
  } else {
    common::LogError("outbox relay round failed", {{"error", e.what()}});
  }
}

pqxx::binarystring OutboxRelay::OwnedShardsArray(int first) const {
  store::PgArray a(store::PgElement::kInt2);
  for (int i = 0; i < outbox::kOutboxShards; ++i) {
    const int s = (first + i) % outbox::kOutboxShards;
    if (owned_[s]) a.AddInt(s);
  }
  return a.param();
}

void OutboxRelay::SetOwned(int shard, bool owned) {
  owned_[shard] = owned;
  shards_owned_.store(static_cast<int>(owned_.count()));
  metrics_.relay_shards_owned.store(static_cast<int64_t>(owned_.count()));
}

void OutboxRelay::Balance(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (force || now >= next_balance_) {
    next_balance_ = now + kBalanceEvery;
    pqxx::nontransaction tx(*conn_);
    auto relays = std::max<int64_t>(
        1, tx.exec_prepared1(sql::kCountRelays, outbox::kRelayLockClass, outbox::kOutboxShards)[0].as<int64_t>());
    target_shards_ = static_cast<int>((outbox::kOutboxShards + relays - 1) / relays);
    int surplus = static_cast<int>(owned_.count()) - target_shards_;
    if (surplus > 0) {
      // Hand back the highest shards; nothing of theirs is in flight between rounds.
      store::PgArray give(store::PgElement::kInt4);
      for (int s = outbox::kOutboxShards - 1; s >= 0 && surplus > 0; --s) {
        if (!owned_[s]) continue;
        give.AddInt(s);
        SetOwned(s, false);
        --surplus;
      }
      tx.exec_prepared(sql::kReleaseShards, outbox::kRelayLockClass, give.param());
      common::LogInfo("outbox relay handed shards back",
                      {{"relays", relays}, {"shards_owned", static_cast<int>(owned_.count())}});
    }
  }
  int wanted = target_shards_ - static_cast<int>(owned_.count());
  if (wanted <= 0) return;
  store::PgArray candidates(store::PgElement::kInt4);
  for (int i = 0; i < outbox::kOutboxShards; ++i) {
    int s = (first_shard_ + i) % outbox::kOutboxShards;
    if (!owned_[s]) candidates.AddInt(s);
  }
  pqxx::nontransaction tx(*conn_);
  pqxx::result taken = tx.exec_prepared(sql::kTakeShards, outbox::kRelayLockClass, candidates.param(), wanted);
  for (const auto& row : taken) SetOwned(row[0].as<int>(), true);
  if (!taken.empty()) {
    common::LogInfo("outbox relay took shards", {{"taken", static_cast<int>(taken.size())},
                                                 {"shards_owned", static_cast<int>(owned_.count())}});
  }
}

int64_t OutboxRelay::CutoffId(pqxx::transaction_base& tx, int grace_ms) {
  if (grace_ms <= 0) return std::numeric_limits<int64_t>::max();
  const auto now = options_.clock->Steady();
  if (grace_cutoff_.WantsSample(now)) grace_cutoff_.AddSample(now, tx.exec_prepared1(sql::kLastId)[0].as<int64_t>());
  return grace_cutoff_.Cutoff(now, std::chrono::milliseconds(grace_ms));
}

OutboxRelay::RoundResult OutboxRelay::Round(bool balance, int grace_ms) {
  RoundResult result;
  if (conn_->backendpid() != backend_pid_) throw pqxx::broken_connection("database session changed");
  if (balance) Balance(false);
  if (owned_.none()) return result;

  pqxx::result rows;
  {
    pqxx::nontransaction tx(*conn_);
    const int64_t cutoff = CutoffId(tx, grace_ms);
    if (cutoff <= 0) return result;  // nothing can be old enough yet
    select_from_shard_ = (select_from_shard_ + 1) % outbox::kOutboxShards;
    rows = tx.exec_prepared(sql::kSelectRows, OwnedShardsArray(select_from_shard_), options_.batch, cutoff);
  }
  result.selected = rows.size();
  if (rows.empty()) return result;

  std::deque<std::string> storage;  // header strings parsed from the rows
  std::vector<kafka::ProducerMessage> messages(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const pqxx::row row = rows[i];
    BuildOutboxMessage(View(row[2]), View(row[3]), View(row[4]), View(row[5]), storage, messages[i]);
  }
  std::vector<kafka::Delivery> deliveries = producer_.ProduceBatch(
      messages,
      std::chrono::steady_clock::now() + std::chrono::milliseconds(producer_.options().message_timeout_ms) +
          kDeliveryMargin,
      &stop_deadline_);

  // Per shard, only the prefix before the first failure is done: the rest of
  // that shard is published again, after the failed row.
  // A row whose message is refused for good does not hold its shard back:
  // it moves to outbox_quarantine and the rows after it count as usual.
  std::bitset<outbox::kOutboxShards> blocked;
  DeliveredRows done;
  std::vector<size_t> refused;  // indexes of the rows to quarantine
  store::PgArray q_shard(store::PgElement::kInt2), q_id(store::PgElement::kInt8), q_error(store::PgElement::kText);
  const kafka::Delivery* first_failure = nullptr;
  int64_t first_failed_id = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int shard = rows[i][1].as<int>();
    if (!deliveries[i].ok && deliveries[i].rejected) {
      refused.push_back(i);
      q_shard.AddInt(shard);
      q_id.AddInt(rows[i][0].as<int64_t>());
      q_error.Add(deliveries[i].error);
      continue;
    }
    if (!deliveries[i].ok) {
      ++result.failed;
      blocked[shard] = true;
      if (!first_failure) {
        first_failure = &deliveries[i];
        first_failed_id = rows[i][0].as<int64_t>();
      }
      continue;
    }
    if (!blocked[shard]) done.Add(shard, rows[i][0].as<int64_t>());
  }
  if (!refused.empty()) {
    pqxx::nontransaction tx(*conn_);
    tx.exec_prepared(sql::kQuarantineRows, q_shard.param(), q_id.param(), q_error.param());
    // Logged once moved (a failed move leaves the rows for the next round).
    for (size_t i : refused)
      common::LogError("outbox row refused by the producer (too large); moved to outbox_quarantine",
                       {{"id", rows[i][0].as<int64_t>()}, {"shard", rows[i][1].as<int>()},
                        {"topic", View(rows[i][2])}, {"key", View(rows[i][3])},
                        {"payload_bytes", static_cast<int64_t>(rows[i][4].size())},
                        {"error", deliveries[i].error}});
    result.quarantined = refused.size();
    metrics_.outbox_quarantined.fetch_add(result.quarantined);
  }
  result.published = done.size();
  done.DeleteFrom(*conn_);
  metrics_.outbox_published.fetch_add(result.published);
  if (result.failed > 0) {
    metrics_.outbox_publish_errors.fetch_add(result.failed);
    common::LogWarn("outbox rows not published; retrying",
                    {{"failed", result.failed},
                     {"first_id", first_failed_id},
                     {"error", first_failure->error},
                     {"permanent", first_failure->retry == common::Retry::kPermanent ? "true" : "false"}});
  }
  return result;
}

void OutboxRelay::SampleIfDue(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now < next_sample_) return;
  next_sample_ = now + std::chrono::milliseconds(options_.sample_ms);
  pqxx::work tx(*conn_);
  tx.exec("SET LOCAL enable_seqscan = off");
  pqxx::row r = tx.exec_prepared1(sql::kStats, outbox::kOutboxShards);
  tx.commit();
  metrics_.outbox_pending.store(r[0].as<int64_t>());
  metrics_.outbox_oldest_age_ms.store(r[1].as<int64_t>());
}

void OutboxRelay::WaitForWork(std::chrono::milliseconds timeout) {
  conn_->get_notifs();  // notifications that arrived during the last round
  if (!notified_) {
    pollfd fds[2] = {{conn_->sock(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(timeout.count()));
    if (n > 0 && fds[0].revents != 0) conn_->get_notifs();
  }
  notified_ = false;
}

void OutboxRelay::Nap(std::chrono::milliseconds d) {
  if (stop_.load()) return;
  pollfd fd{wake_fd_, POLLIN, 0};
  poll(&fd, 1, static_cast<int>(d.count()));
}

}  // namespace hub::outbox
