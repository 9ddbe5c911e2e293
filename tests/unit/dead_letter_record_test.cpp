// Dead letters read back for `hubworker dlq`: the headers the sink writes
// parse back, filters select, and a redrive carries provenance instead of
// the letter's own headers.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "ops/dead_letter_record.hpp"
#include "producers/dead_letter_sink.hpp"

namespace hub::ops {
namespace {

RawMessage LetterOf(const producers::DeadLetter& d, producers::Slimming slimming = producers::Slimming::kNone) {
  RawMessage m;
  m.topic = "hub.deadletter";
  m.partition = 3;
  m.offset = 17;
  m.timestamp_ms = 1'700'000'000'000;
  m.key = d.key;
  if (slimming == producers::Slimming::kNone) m.value = d.value;
  m.headers = producers::DeadLetterHeaders(d, slimming);
  return m;
}

producers::DeadLetter MissingWorkflow() {
  producers::DeadLetter d;
  d.source_topic = "hub.workflow.triggered";
  d.source_partition = 5;
  d.source_offset = 42;
  d.key = "wf_missing";
  d.value = R"({"specversion":"1.0","id":"e1","source":"s","type":"workflow.triggered","time":"2026-12-04T10:00:00Z",)"
            R"("data":{"organizationId":"org_a","workflowId":"wf_missing","input":{}}})";
  d.headers = {{"content-type", "application/cloudevents+json"}, {"traceparent", "00-abc-def-01"}};
  d.error_class = common::ErrorClass::kNotFound;
  d.reason = "workflow wf_missing not found in organisation org_a";
  return d;
}

TEST(DeadLetterRecordTest, WhatTheSinkWritesParsesBack) {
  const DeadLetterRecord r = ParseDeadLetter(LetterOf(MissingWorkflow()));
  EXPECT_EQ(r.error_class, "not_found");
  EXPECT_EQ(r.reason, "workflow wf_missing not found in organisation org_a");
  EXPECT_EQ(r.source_topic, "hub.workflow.triggered");
  EXPECT_EQ(r.source_partition, 5);
  EXPECT_EQ(r.source_offset, 42);
  EXPECT_EQ(r.type, "workflow.triggered");
  EXPECT_EQ(r.organization, "org_a");
  EXPECT_EQ(r.event_id, "e1");
  EXPECT_EQ(r.not_redrivable, "");
}

TEST(DeadLetterRecordTest, BinaryModeEventsTakeTypeAndIdFromCeHeaders) {
  producers::DeadLetter d = MissingWorkflow();
  d.value = R"({"organizationId":"org_b","workflowId":"w","input":{}})";
  d.headers = {{"ce_type", "workflow.triggered"}, {"ce_id", "e9"}, {"ce_source", "s"}};
  const DeadLetterRecord r = ParseDeadLetter(LetterOf(d));
  EXPECT_EQ(r.type, "workflow.triggered");
  EXPECT_EQ(r.event_id, "e9");
  EXPECT_EQ(r.organization, "org_b");
}

TEST(DeadLetterRecordTest, MalformedValueStillListsWithItsReason) {
  producers::DeadLetter d = MissingWorkflow();
  d.value = "{not json";
  d.error_class = common::ErrorClass::kSchema;
  const DeadLetterRecord r = ParseDeadLetter(LetterOf(d));
  EXPECT_EQ(r.error_class, "schema");
  EXPECT_EQ(r.type, "");
  EXPECT_EQ(r.not_redrivable, "");  // a fixed consumer may take it
}

TEST(DeadLetterRecordTest, LetterWithoutItsValueOrKeyIsNotRedrivable) {
  EXPECT_NE(ParseDeadLetter(LetterOf(MissingWorkflow(), producers::Slimming::kWithoutValue)).not_redrivable.find("value"),
            std::string::npos);
  EXPECT_NE(ParseDeadLetter(LetterOf(MissingWorkflow(), producers::Slimming::kWithoutValueHeadersAndKey))
                .not_redrivable.find("key"),
            std::string::npos);
  RawMessage plain;
  plain.value = "{}";
  EXPECT_NE(ParseDeadLetter(plain).not_redrivable.find("not a dead letter"), std::string::npos);
}

TEST(DeadLetterRecordTest, FiltersSelectByClassTypeKeyOrganisationTimeAndPosition) {
  const DeadLetterRecord r = ParseDeadLetter(LetterOf(MissingWorkflow()));
  EXPECT_TRUE(Matches({}, r));
  DeadLetterFilter f;
  f.classes = {"schema"};
  EXPECT_FALSE(Matches(f, r));
  f.classes.insert("not_found");
  EXPECT_TRUE(Matches(f, r));
  f.types = {"order.submitted"};
  EXPECT_FALSE(Matches(f, r));
  f.types = {"workflow.triggered"};
  f.key = "other";
  EXPECT_FALSE(Matches(f, r));
  f.key = "wf_missing";
  f.organization = "org_b";
  EXPECT_FALSE(Matches(f, r));
  f.organization = "org_a";
  EXPECT_TRUE(Matches(f, r));
  f.since_ms = r.message.timestamp_ms + 1;
  EXPECT_FALSE(Matches(f, r));
  f.since_ms = r.message.timestamp_ms;
  f.until_ms = r.message.timestamp_ms;  // exclusive
  EXPECT_FALSE(Matches(f, r));
  f.until_ms = r.message.timestamp_ms + 1;
  EXPECT_TRUE(Matches(f, r));
  f.positions = {{3, 18}};
  EXPECT_FALSE(Matches(f, r));
  f.positions.insert({3, 17});
  EXPECT_TRUE(Matches(f, r));
}

TEST(DeadLetterRecordTest, RedriveKeepsOriginalHeadersAndAddsProvenanceInsteadOfTheError) {
  const DeadLetterRecord r = ParseDeadLetter(LetterOf(MissingWorkflow()));
  const Headers h = RedriveHeaders(r, 1'764'842'400'000'000);
  const Headers want = {{"content-type", "application/cloudevents+json"},
                        {"traceparent", "00-abc-def-01"},
                        {"hub-redrive-of", "hub.deadletter:3:17"},
                        {"hub-redrive-error-class", "not_found"},
                        {"hub-redriven-at", "2025-12-04T10:00:00.000000Z"}};
  EXPECT_EQ(h, want);
}

TEST(DeadLetterRecordTest, RedriveOfALetterThatFailedAgainCarriesOnlyTheLatestProvenance) {
  producers::DeadLetter d = MissingWorkflow();
  d.headers.emplace_back("hub-redrive-of", "hub.deadletter:1:2");
  d.headers.emplace_back("hub-redrive-error-class", "schema");
  d.headers.emplace_back("hub-redriven-at", "2025-01-01T00:00:00Z");
  const DeadLetterRecord r = ParseDeadLetter(LetterOf(d));
  EXPECT_EQ(r.redrive_of, "hub.deadletter:1:2");
  size_t provenance = 0;
  for (const auto& [n, v] : RedriveHeaders(r, 0))
    if (n.rfind("hub-redrive", 0) == 0) {
      ++provenance;
      if (n == "hub-redrive-of") {
        EXPECT_EQ(v, "hub.deadletter:3:17");
      }
    }
  EXPECT_EQ(provenance, 3u);
}

TEST(DeadLetterRecordTest, PositionsParseStrictly) {
  EXPECT_EQ(ParsePosition("3:17"), std::make_pair(int32_t{3}, int64_t{17}));
  EXPECT_FALSE(ParsePosition("3"));
  EXPECT_FALSE(ParsePosition("3:"));
  EXPECT_FALSE(ParsePosition("-1:4"));
  EXPECT_FALSE(ParsePosition("3:4x"));
  EXPECT_FALSE(ParsePosition("a:4"));
}

}  // namespace
}  // namespace hub::ops

