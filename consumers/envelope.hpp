#pragma once
// CloudEvents 1.0 envelope of an input event: detection of the Kafka binding's
// mode, normalisation to structured form, and validation against the type's
// JSON Schema (schemas/events/<type>.json).
//
// Modes (CloudEvents Kafka protocol binding):
//  - structured: header `content-type` starts with `application/cloudevents`
//    (case-insensitive), or -- with no such header and no `ce_specversion`
//    header -- the value is a JSON object that has "specversion";
//  - binary: header `ce_specversion` present; the attributes come from the
//    `ce_<name>` headers (the last one wins if repeated), `content-type` becomes
//    `datacontenttype`, a plain `traceparent` header is used when there is no
//    `ce_traceparent`, and the value is `data` (JSON).
// Both end up as the same structured document in Envelope::doc.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/schema.h>

#include "common/ids.hpp"
#include "consumers/schema_registry.hpp"

namespace hub::consumers {

// A consumed Kafka record, as views into librdkafka's buffers (valid during processing).
struct InboundMessage {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// A parsed, validated input event.  Owns copies of everything it holds (nothing
// points into the InboundMessage).  Reuse Envelopes across Parse() calls: their
// strings and their document's memory are recycled.
// The document's memory starts in an inline buffer that every Parse() resets,
// so pooling many Envelopes costs a few KiB each and typical events allocate
// nothing; a larger event spills into heap chunks that the next Parse() frees.
// Not copyable or movable: the document points at the inline pool.
struct Envelope {
  static constexpr size_t kInlineBytes = 4096;

  Envelope() : pool(inline_buffer, sizeof inline_buffer), doc(&pool) {}
  Envelope(const Envelope&) = delete;
  Envelope& operator=(const Envelope&) = delete;

  std::string id, source, type, time, traceparent, organization_id;
  int64_t time_unix_us = 0;  // `time` parsed (RFC 3339, any offset, fractional seconds)

 private:
  char inline_buffer[kInlineBytes];

 public:
  rapidjson::MemoryPoolAllocator<> pool;  // the document's allocator
  rapidjson::Document doc;  // the whole event in structured form; doc["data"] is the data object
  // doc["data"]; a null value if the envelope has not been parsed successfully.
  const rapidjson::Value& data() const;

 private:
  friend class EnvelopeParser;
  // doc["data"], found once by Parse: handlers ask for it several times per
  // event, and a member search walks the event's attributes each time.
  const rapidjson::Value* data_ = nullptr;
};

// RFC 3339 parsing lives in common/ids.hpp (the engine needs it too).
using common::ParseRfc3339;

// Confined to one thread: it owns per-type compiled schemas and validators (each
// reused with Reset()), which RapidJSON does not allow to be shared, and its
// parse buffers.  Each event is parsed once: one SAX pass builds Envelope::doc
// and drives the type's SchemaValidator at the same time.  Nesting deeper than
// 128 levels, NUL bytes and invalid UTF-8 are refused as malformed.  What is
// valid JSON but would be misread later is refused too: a decoded string or key
// with a NUL (`\u0000`) or that is not valid UTF-8 (a lone surrogate escape) --
// PostgreSQL refuses such text and libpq cuts a parameter at a NUL --, the same
// in a binary-mode header; duplicate keys in an object (parsers disagree on
// which one counts); and integer literals beyond the 64-bit range (RapidJSON
// would keep them as an inexact double).
class EnvelopeParser {
 public:
  explicit EnvelopeParser(const SchemaRegistry& schemas);
  ~EnvelopeParser();
  EnvelopeParser(const EnvelopeParser&) = delete;
  EnvelopeParser& operator=(const EnvelopeParser&) = delete;

  // `expected_type` is the topic name without the prefix, e.g. "workflow.triggered".
  // Throws common::PermanentError(ErrorClass::kSchema, reason) with a reason a person can act on:
  // malformed JSON (with the parse error and byte offset), unknown/mismatched type, schema violation
  // (naming the failing keyword and the JSON pointer of the offending value, e.g.
  // "data.workflowId: required property missing (schema keyword \"required\" at /data/workflowId)"),
  // bad time, missing organizationId.  On error `out` is left in an unspecified (valid) state.
  void Parse(const InboundMessage& msg, std::string_view expected_type, Envelope& out);

 private:
  struct TypeSchema;
  TypeSchema* Schema(std::string_view type);
  void ParseStructured(const InboundMessage& msg, bool declared, rapidjson::SchemaValidator& validator,
                       Envelope& out);
  void ParseBinary(const InboundMessage& msg, rapidjson::SchemaValidator& validator, Envelope& out);
  // `what` names the text in reasons; `root` is the JSON path of the parsed
  // value in the event ("" for the whole event).
  void ParseJson(std::string_view text, rapidjson::Document& doc, rapidjson::SchemaValidator& validator,
                 const char* what, std::string_view root);
  // Throws the reason for the integer literal at `offset` of text_, naming its
  // JSON path under `root`.
  [[noreturn]] void FailBigInteger(size_t offset, std::string_view root);

  const SchemaRegistry& registry_;
  std::map<std::string, std::unique_ptr<TypeSchema>, std::less<>> types_;
  TypeSchema* last_ = nullptr;  // the type of the previous event: topics come in runs
  std::string text_;            // NUL-terminated copy of the JSON being parsed
  rapidjson::Reader reader_;    // keeps its parse stack between events
  std::vector<std::pair<std::string_view, std::string_view>> attrs_;  // binary mode: name, value
  std::vector<std::string_view> names_;  // keys of a large object, when checking for duplicates
  bool keys_may_repeat_ = false;         // of the last ParseJson
};

}  // namespace hub::consumers
