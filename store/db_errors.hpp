#pragma once
// Maps libpq/libpqxx failures to the program's few outcomes (STYLE.md #4).
#include <exception>
#include <string>

#include "common/error.hpp"

namespace hub::store {

// kTransient: connection lost, serialization failure, deadlock, server
// shutting down, out of resources, commit in doubt, other libpq failures,
// common::TransientError.  kPermanent: the data or statement is wrong
// (constraint, bad value, RLS violation), and every exception that is not a
// database or transient error (they come from the event's data): retrying the
// same event cannot help.
common::Retry Classify(const std::exception& e);

// The SQLSTATE of a pqxx::sql_error, or "" for other exceptions.
std::string SqlState(const std::exception& e);

}  // namespace hub::store
