#include "consumers/event_catalogue.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/metrics.hpp"

namespace hub::consumers {

EventCatalogue::EventCatalogue(std::vector<EventFamily> families) : families_(std::move(families)) {
  if (families_.size() > static_cast<size_t>(common::kMaxEventFamilies))
    throw std::invalid_argument("event catalogue: more than " + std::to_string(common::kMaxEventFamilies) +
                                " families (common::kMaxEventFamilies)");
  for (size_t i = 0; i < families_.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (families_[i].type == families_[j].type)
        throw std::invalid_argument("event catalogue: type '" + families_[i].type + "' is listed twice");
}

int EventCatalogue::IndexOf(std::string_view type) const {
  for (size_t i = 0; i < families_.size(); ++i)
    if (families_[i].type == type) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> EventCatalogue::ConsumedTypes() const {
  std::vector<std::string> out;
  for (const auto& f : families_)
    if (f.make_handler) out.push_back(f.type);
  return out;
}

std::vector<std::string> EventCatalogue::Topics(const std::string& prefix) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& type) {
    if (std::find(out.begin(), out.end(), prefix + type) == out.end()) out.push_back(prefix + type);
  };
  for (const auto& f : families_) add(f.type);
  for (const auto& f : families_)
    for (const auto& e : f.emits) add(e);
  add("deadletter");
  return out;
}

std::vector<std::unique_ptr<BatchHandler>> EventCatalogue::MakeHandlers(const HandlerDeps& deps) const {
  std::vector<std::unique_ptr<BatchHandler>> out;
  for (const auto& f : families_) out.push_back(f.make_handler ? f.make_handler(deps) : nullptr);
  return out;
}

}  // namespace hub::consumers
