#pragma once
// The few outcomes that library errors are mapped to where they enter the
// program (STYLE.md #4): the rest of the code never inspects librdkafka or libpq
// error codes.
#include <stdexcept>
#include <string>

namespace hub::common {

// Whether trying again can help.
enum class Retry { kTransient, kPermanent };

// Why an event could not be processed; travels as the `hub-error-class` header.
enum class ErrorClass { kSchema, kNotFound, kTenant, kSignature, kStep, kInternal };

const char* ToString(ErrorClass c);

// A failure of one event that no retry will fix: it is dead-lettered.
class PermanentError : public std::runtime_error {
 public:
  PermanentError(ErrorClass cls, const std::string& reason)
      : std::runtime_error(reason), cls_(cls) {}
  ErrorClass error_class() const { return cls_; }

 private:
  ErrorClass cls_;
};

// A failure that a later attempt may not see (connection lost, deadlock, broker
// unavailable).  Retried with backoff, then dead-lettered with the last error.
class TransientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database or broker could not be reached at all.  Retried like any
// transient failure but never counted towards dead-lettering: an outage is
// not the event's fault, and dead-lettering during one would empty the topic
// into the dead-letter queue.
class ConnectionLost : public TransientError {
 public:
  using TransientError::TransientError;
};

// A bad setting: a start-up error that names the setting.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hub::common
