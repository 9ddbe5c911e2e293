#pragma once
// One outbox row -> one Kafka message, the same way for the relay (rows read
// back from the table) and the publisher (rows kept in memory after COMMIT):
// structured CloudEvents content type, plus the row's own headers (a JSON
// object of name -> value; a row's own content-type wins).
#include <deque>
#include <string>
#include <string_view>

#include "kafka/producer.hpp"

namespace hub::outbox {

// `out` views the arguments and strings appended to `storage` (a deque: its
// elements never move), so all of them must outlive the produce call.
void BuildOutboxMessage(std::string_view topic, std::string_view key, std::string_view payload,
                        std::string_view headers_json, std::deque<std::string>& storage, kafka::ProducerMessage& out);

}  // namespace hub::outbox
