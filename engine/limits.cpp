#include "engine/limits.hpp"

namespace hub::engine {

void RenderBudget::Charge(size_t value_bytes_so_far, size_t added) {
  if (value_bytes_so_far > value_limit_)
    throw ExecutionError("a rendered value reached " + std::to_string(value_bytes_so_far) +
                         " bytes, over the limit of " + std::to_string(value_limit_) +
                         " bytes per value (HUB_MAX_RENDERED_VALUE_BYTES)");
  if (added > remaining_)
    throw ExecutionError("the execution rendered more than " + std::to_string(execution_limit_) +
                         " bytes in all, the limit per execution (HUB_MAX_EXECUTION_BYTES)");
  remaining_ -= added;
}

}  // namespace hub::engine
