#pragma once
// What one workflow execution may cost.  A tenant who can save a workflow can
// make each node double the previous one's output (26 transforms reach
// gigabytes), so rendering is charged against these bounds as it happens, and
// an execution that reaches one FAILs with an error naming the bound and its
// setting.  The worker's settings (HUB_MAX_*) fill this in.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace hub::engine {

struct ExecutionLimits {
  size_t max_value_bytes = 256 * 1024;       // one rendered value (HUB_MAX_RENDERED_VALUE_BYTES)
  size_t max_execution_bytes = 1024 * 1024;  // all values rendered by one execution (HUB_MAX_EXECUTION_BYTES)
  size_t max_output_bytes = 256 * 1024;      // the execution's output JSON (HUB_MAX_OUTPUT_BYTES)
  int max_nodes = 500;                       // nodes one execution runs (HUB_MAX_NODES_EXECUTED)
};

// A failure of one execution that no retry can change: a template path that
// cannot be resolved as written, a bound of ExecutionLimits reached.  The
// engine turns it into a FAILED execution; it never leaves RunWorkflow.
class ExecutionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Rendering budget of one execution.  Non-owning users hold a pointer; null
// means unlimited (tests, tools).
class RenderBudget {
 public:
  explicit RenderBudget(const ExecutionLimits& limits)
      : value_limit_(limits.max_value_bytes), remaining_(limits.max_execution_bytes),
        execution_limit_(limits.max_execution_bytes) {}
  size_t value_limit() const { return value_limit_; }
  // Charges `bytes` rendered for one value; throws ExecutionError when the
  // value or the execution goes over its bound.
  void Charge(size_t value_bytes_so_far, size_t added);

 private:
  size_t value_limit_;
  size_t remaining_;
  size_t execution_limit_;
};

}  // namespace hub::engine
