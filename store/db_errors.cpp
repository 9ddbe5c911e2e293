#include "store/db_errors.hpp"

#include <pqxx/except>

namespace hub::store {

std::string SqlState(const std::exception& e) {
  if (auto* s = dynamic_cast<const pqxx::sql_error*>(&e)) return s->sqlstate();
  return {};
}

common::Retry Classify(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) return common::Retry::kTransient;
  // Commit outcome unknown: the retry re-reads processed_events before doing
  // anything, so events that did commit are recognised, not applied again.
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) return common::Retry::kTransient;
  if (dynamic_cast<const common::TransientError*>(&e)) return common::Retry::kTransient;
  const std::string state = SqlState(e);
  if (state.size() == 5) {
    const std::string cls = state.substr(0, 2);
    if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || state == "55P03" ||
        state == "55006")
      return common::Retry::kTransient;
    return common::Retry::kPermanent;
  }
  if (dynamic_cast<const pqxx::sql_error*>(&e)) return common::Retry::kPermanent;
  // Other libpq-level failures (protocol trouble without a state): transient,
  // bounded by the retry attempts and then dead-lettered.
  if (dynamic_cast<const pqxx::failure*>(&e)) return common::Retry::kTransient;
  // Anything else (std::out_of_range, std::bad_alloc, a conversion error, ...)
  // came from the event's own data going through our code: the same event
  // does the same again, so it is charged to the event at once.
  return common::Retry::kPermanent;
}

}  // namespace hub::store
