#pragma once
// The event catalogue of this worker (consumers/event_catalogue.hpp): one
// line per event family in catalogue.cpp.
#include "consumers/event_catalogue.hpp"

namespace hub::worker {

const consumers::EventCatalogue& Catalogue();

}  // namespace hub::worker
