#include "common/error.hpp"

namespace hub::common {

const char* ToString(ErrorClass c) {
  switch (c) {
    case ErrorClass::kSchema: return "schema";
    case ErrorClass::kNotFound: return "not_found";
    case ErrorClass::kTenant: return "tenant";
    case ErrorClass::kSignature: return "signature";
    case ErrorClass::kStep: return "step";
    case ErrorClass::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace hub::common
