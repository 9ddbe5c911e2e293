// libFuzzer target: the envelope parser and schema validation, on any bytes.
// The contract: Parse() either fills the envelope or throws
// common::PermanentError with a reason; anything else (another exception, a
// crash, a sanitizer report, a hang) is a finding.  The first byte picks the
// topic the event arrived on, the second structured or binary mode (binary:
// the rest is "name=value" header lines, a blank line, then the data).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "consumers/envelope.hpp"
#include "consumers/schema_registry.hpp"

namespace {

using hub::consumers::Envelope;
using hub::consumers::EnvelopeParser;
using hub::consumers::InboundMessage;
using hub::consumers::SchemaRegistry;

constexpr const char* kTypes[] = {"workflow.triggered", "order.submitted", "integration.webhook",
                                  "workflow.completed", "no.such.type"};

const SchemaRegistry& Schemas() {
  static const SchemaRegistry registry(SchemaRegistry::DefaultDir());
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static EnvelopeParser parser(Schemas());  // reused, as a lane reuses its parser
  static Envelope envelope;
  const std::string_view type = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  const bool binary = data[1] & 1;
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  InboundMessage msg;
  msg.topic = "hub.workflow.triggered";
  msg.key = "k";
  std::vector<std::string> lines;
  if (binary) {
    const size_t blank = rest.find("\n\n");
    const std::string_view head = rest.substr(0, blank);
    msg.value = blank == std::string_view::npos ? std::string_view() : rest.substr(blank + 2);
    size_t at = 0;
    while (at <= head.size() && msg.headers.size() < 32) {
      const size_t nl = head.find('\n', at);
      const std::string_view line = head.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
      const size_t eq = line.find('=');
      if (eq != std::string_view::npos) msg.headers.emplace_back(line.substr(0, eq), line.substr(eq + 1));
      if (nl == std::string_view::npos) break;
      at = nl + 1;
    }
  } else {
    msg.value = rest;
    msg.headers.emplace_back("content-type", "application/cloudevents+json");
  }
  try {
    parser.Parse(msg, type, envelope);
  } catch (const hub::common::PermanentError&) {
    // A reason for a dead letter: the expected outcome for bad input.
  }
  return 0;
}
