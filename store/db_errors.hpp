#pragma once
// Maps libpq/libpqxx failures to the program's few outcomes (STYLE.md #4).
#include <exception>
#include <string>

#include "common/error.hpp"

namespace hub::store {

// kTransient: connection lost, serialization failure, deadlock, server
// shutting down, out of resources, commit in doubt.  kPermanent: the data or
// statement is wrong (constraint, bad value, RLS violation): retrying the
// same rows cannot help.
common::Retry Classify(const std::exception& e);

// The SQLSTATE of a pqxx::sql_error, or "" for other exceptions.
std::string SqlState(const std::exception& e);

}  // namespace hub::store
