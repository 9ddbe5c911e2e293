// EnvelopeParser: both CloudEvents Kafka modes, the reasons given for bad
// events, and RFC 3339 time parsing.
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "common/error.hpp"
#include "consumers/envelope.hpp"
#include "consumers/schema_registry.hpp"

namespace hub::consumers {
namespace {

using common::ErrorClass;
using common::PermanentError;

const SchemaRegistry& Registry() {
  static const SchemaRegistry registry(SchemaRegistry::DefaultDir());
  return registry;
}

const char* const kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const char* const kData = R"({"organizationId":"org-1","workflowId":"wf-1","input":{"x":1,"list":[1,"two"]}})";

std::string Structured(const std::string& data = kData, const std::string& type = "workflow.triggered",
                       const std::string& time = "2024-05-01T14:00:00.250+02:00") {
  return R"({"specversion":"1.0","id":"evt-1","source":"/hub/tests","type":")" + type + R"(","time":")" + time +
         R"(","traceparent":")" + kTraceparent + R"(","datacontenttype":"application/json","data":)" + data + "}";
}

InboundMessage Message(const std::string& value) {
  InboundMessage m;
  m.topic = "hub.workflow.triggered";
  m.key = "wf-1";
  m.value = value;
  m.headers = {{"content-type", "application/cloudevents+json; charset=utf-8"}};
  return m;
}

// The binary-mode form of Structured(): attributes in ce_* headers, data as value.
InboundMessage BinaryMessage(const std::string& data) {
  InboundMessage m;
  m.topic = "hub.workflow.triggered";
  m.value = data;
  m.headers = {{"ce_specversion", "1.0"},
               {"ce_id", "evt-1"},
               {"ce_source", "/hub/tests"},
               {"ce_type", "workflow.triggered"},
               {"ce_time", "2024-05-01T14:00:00.250+02:00"},
               {"ce_traceparent", kTraceparent},
               {"content-type", "application/json"}};
  return m;
}

// The reason of the PermanentError that parsing throws; fails the test if none.
std::string Reason(EnvelopeParser& parser, const InboundMessage& msg,
                   const std::string& expected = "workflow.triggered") {
  Envelope env;
  try {
    parser.Parse(msg, expected, env);
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kSchema);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << msg.value;
  return "";
}

class EnvelopeParserTest : public testing::Test {
 protected:
  EnvelopeParser parser_{Registry()};
};

TEST_F(EnvelopeParserTest, StructuredEventIsParsedIntoTheEnvelope) {
  std::string value = Structured();
  Envelope env;
  parser_.Parse(Message(value), "workflow.triggered", env);
  EXPECT_EQ(env.id, "evt-1");
  EXPECT_EQ(env.source, "/hub/tests");
  EXPECT_EQ(env.type, "workflow.triggered");
  EXPECT_EQ(env.time, "2024-05-01T14:00:00.250+02:00");
  EXPECT_EQ(env.traceparent, kTraceparent);
  EXPECT_EQ(env.organization_id, "org-1");
  EXPECT_EQ(env.time_unix_us, 1714564800LL * 1000000 + 250000);  // 12:00:00.25 UTC
  ASSERT_TRUE(env.data().IsObject());
  EXPECT_STREQ(env.data()["workflowId"].GetString(), "wf-1");
  EXPECT_EQ(env.data()["input"]["x"].GetInt(), 1);
}

TEST_F(EnvelopeParserTest, StructuredAndBinaryModesParseToTheSameEnvelope) {
  std::string value = Structured();
  Envelope structured, binary;
  parser_.Parse(Message(value), "workflow.triggered", structured);
  std::string data = kData;
  parser_.Parse(BinaryMessage(data), "workflow.triggered", binary);

  EXPECT_EQ(binary.id, structured.id);
  EXPECT_EQ(binary.source, structured.source);
  EXPECT_EQ(binary.type, structured.type);
  EXPECT_EQ(binary.time, structured.time);
  EXPECT_EQ(binary.time_unix_us, structured.time_unix_us);
  EXPECT_EQ(binary.traceparent, structured.traceparent);
  EXPECT_EQ(binary.organization_id, structured.organization_id);
  EXPECT_TRUE(binary.doc == structured.doc) << "the normalised documents differ";
  EXPECT_TRUE(binary.data() == structured.data());
}

TEST_F(EnvelopeParserTest, StructuredModeIsRecognisedWithoutAContentTypeHeader) {
  std::string value = Structured();
  InboundMessage m = Message(value);
  m.headers.clear();
  Envelope env;
  parser_.Parse(m, "workflow.triggered", env);
  EXPECT_EQ(env.id, "evt-1");
}

TEST_F(EnvelopeParserTest, BinaryModeTakesTraceparentFromThePlainW3cHeader) {
  std::string data = kData;
  InboundMessage m = BinaryMessage(data);
  m.headers.erase(m.headers.begin() + 5);  // ce_traceparent
  m.headers.push_back({"traceparent", kTraceparent});
  Envelope env;
  parser_.Parse(m, "workflow.triggered", env);
  EXPECT_EQ(env.traceparent, kTraceparent);
}

TEST_F(EnvelopeParserTest, BinaryModeHeaderRepeatedWithAnotherValueIsRefused) {
  std::string data = kData;
  InboundMessage m = BinaryMessage(data);
  m.headers.push_back({"ce_id", "evt-1"});  // the same value again: one attribute
  Envelope env;
  parser_.Parse(m, "workflow.triggered", env);
  EXPECT_EQ(env.id, "evt-1");
  EXPECT_EQ(env.doc.MemberCount(), 8u);  // specversion id source type time traceparent datacontenttype data
  m.headers.push_back({"ce_id", "evt-2"});
  EXPECT_NE(Reason(parser_, m).find("the attribute id is given twice with different values (\"evt-1\" and \"evt-2\")"),
            std::string::npos)
      << Reason(parser_, m);
}

TEST_F(EnvelopeParserTest, BinaryModeWithoutTheRequiredAttributesIsRejectedByTheSchema) {
  std::string data = kData;
  InboundMessage m = BinaryMessage(data);
  m.headers.erase(m.headers.begin() + 4);  // ce_time
  EXPECT_NE(Reason(parser_, m).find("time: required property missing"), std::string::npos);
}

TEST_F(EnvelopeParserTest, BinaryModeWithNonJsonDataIsRejected) {
  std::string data = kData;
  InboundMessage m = BinaryMessage(data);
  m.headers.back().second = "text/plain";
  EXPECT_NE(Reason(parser_, m).find("binary-mode data must be JSON"), std::string::npos);
}

TEST_F(EnvelopeParserTest, BinaryModeWithAnEmptyValueIsRejected) {
  std::string data;
  EXPECT_NE(Reason(parser_, BinaryMessage(data)).find("data: the value is empty"), std::string::npos);
}

TEST_F(EnvelopeParserTest, BinaryModeHeaderThatIsNotUtf8IsRejected) {
  std::string data = kData;
  InboundMessage m = BinaryMessage(data);
  m.headers[2].second = "\xff\xfe";
  EXPECT_NE(Reason(parser_, m).find("header ce_source: value is not valid UTF-8"), std::string::npos);
}

TEST_F(EnvelopeParserTest, MalformedJsonNamesTheParseErrorAndByteOffset) {
  std::string value = R"({"specversion":"1.0","id" "evt-1"})";
  std::string r = Reason(parser_, Message(value));
  EXPECT_NE(r.find("malformed JSON at byte 26"), std::string::npos) << r;
  EXPECT_NE(r.find("Missing a colon"), std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, TrailingGarbageIsMalformed) {
  std::string value = Structured() + " x";
  EXPECT_NE(Reason(parser_, Message(value)).find("malformed JSON"), std::string::npos);
}

TEST_F(EnvelopeParserTest, InvalidUtf8InTheValueIsMalformed) {
  std::string value = Structured(R"({"organizationId":"org-)" + std::string("\xc3\x28") +
                                 R"(","workflowId":"wf-1","input":{}})");
  std::string r = Reason(parser_, Message(value));
  EXPECT_NE(r.find("malformed JSON at byte " + std::to_string(value.find('\xc3')) + ": not valid UTF-8"),
            std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, NulByteInTheValueIsMalformed) {
  std::string value = Structured() + std::string(1, '\0');
  EXPECT_NE(Reason(parser_, Message(value)).find("a NUL byte"), std::string::npos);
}

TEST_F(EnvelopeParserTest, ValueThatIsNotACloudEventSaysWhichModesWereTried) {
  std::string value = kData;
  InboundMessage m = Message(value);
  m.headers.clear();
  std::string r = Reason(parser_, m);
  EXPECT_NE(r.find("not a CloudEvent"), std::string::npos) << r;
  EXPECT_NE(r.find("ce_specversion"), std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, MismatchedTypeNamesBothTypes) {
  std::string value = Structured(R"({"organizationId":"org-1","orderId":"o-1"})", "order.submitted");
  std::string r = Reason(parser_, Message(value), "workflow.triggered");
  EXPECT_EQ(r, R"(type: "order.submitted" does not match the topic's event type "workflow.triggered")");
}

TEST_F(EnvelopeParserTest, UnknownTypeIsRejected) {
  std::string value = Structured(kData, "workflow.exploded");
  std::string r = Reason(parser_, Message(value), "workflow.exploded");
  EXPECT_NE(r.find(R"(no schema for event type "workflow.exploded")"), std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, MissingOrganizationIdIsRejected) {
  std::string value = Structured(R"({"workflowId":"wf-1","input":{}})");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(data.organizationId: required property missing (schema keyword "required" at /data/organizationId))");
}

TEST_F(EnvelopeParserTest, MissingRequiredFieldsAreAllNamed) {
  std::string value = Structured(R"({"organizationId":"org-1"})");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(data.workflowId: required property missing (schema keyword "required" at /data/workflowId); )"
            R"(also missing: data.input)");
}

TEST_F(EnvelopeParserTest, MissingEnvelopeAttributeIsNamed) {
  std::string value = R"({"specversion":"1.0","source":"s","type":"workflow.triggered","time":"2024-05-01T12:00:00Z",)"
                      R"("data":)" + std::string(kData) + "}";
  EXPECT_EQ(Reason(parser_, Message(value)), R"(id: required property missing (schema keyword "required" at /id))");
}

TEST_F(EnvelopeParserTest, WrongTypeNamesTheExpectedAndActualTypes) {
  std::string value = Structured(R"({"organizationId":"org-1","workflowId":"wf-1","input":"x=1"})");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(data.input: expected "object", got string (schema keyword "type" at /data/input))");
}

TEST_F(EnvelopeParserTest, EmptyOrganizationIdIsRejected) {
  std::string value = Structured(R"({"organizationId":"","workflowId":"wf-1","input":{}})");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(data.organizationId: must not be empty (schema keyword "minLength" at /data/organizationId))");
}

TEST_F(EnvelopeParserTest, BadEnumValueListsTheAllowedValues) {
  std::string value = Structured(
      R"({"organizationId":"o","workflowId":"w","executionId":"e","status":"DONE","output":{},"nodesExecuted":1,)"
      R"("tokensUsed":0,"cost":0,"durationMs":1,"triggerEventId":"t","triggerTime":"2024-05-01T12:00:00Z"})",
      "workflow.completed");
  EXPECT_EQ(Reason(parser_, Message(value), "workflow.completed"),
            R"(data.status: "DONE" is not one of "COMPLETED", "FAILED", "CANCELLED" )"
            R"((schema keyword "enum" at /data/status))");
}

TEST_F(EnvelopeParserTest, MissingOutputAndErrorSaysOneIsNeeded) {
  std::string value = Structured(
      R"({"organizationId":"o","workflowId":"w","executionId":"e","status":"FAILED","nodesExecuted":1,)"
      R"("tokensUsed":0,"cost":0,"durationMs":1,"triggerEventId":"t","triggerTime":"2024-05-01T12:00:00Z"})",
      "workflow.completed");
  EXPECT_EQ(Reason(parser_, Message(value), "workflow.completed"),
            R"(data: needs "output" or "error" (schema keyword "anyOf" at /data))");
}

TEST_F(EnvelopeParserTest, OutOfRangeNumberNamesTheLimit) {
  std::string value = Structured(
      R"({"organizationId":"o","orderId":"o1","milestoneId":"m","name":"n","stage":"s","progress":101,"completed":true})",
      "order.milestone");
  EXPECT_EQ(Reason(parser_, Message(value), "order.milestone"),
            R"(data.progress: 101 is greater than the maximum 100 (schema keyword "maximum" at /data/progress))");
}

TEST_F(EnvelopeParserTest, TimeThatIsNotRfc3339IsRejectedByThePattern) {
  std::string value = Structured(kData, "workflow.triggered", "yesterday");
  std::string r = Reason(parser_, Message(value));
  EXPECT_NE(r.find(R"(time: "yesterday" does not have the required form: RFC 3339 date-time)"), std::string::npos)
      << r;
  EXPECT_NE(r.find(R"((schema keyword "pattern" at /time))"), std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, ImpossibleDateIsRejectedAfterThePattern) {
  std::string value = Structured(kData, "workflow.triggered", "2023-02-29T00:00:00Z");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(time: "2023-02-29T00:00:00Z" is not an RFC 3339 date-time: day 29 is out of range for 2023-02)");
}

TEST_F(EnvelopeParserTest, BadTraceparentIsRejected) {
  std::string value = Structured();
  value.replace(value.find(kTraceparent), 2, "0x");
  std::string r = Reason(parser_, Message(value));
  EXPECT_NE(r.find(R"(traceparent: "0x-4bf9)"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("pattern" at /traceparent)"), std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, BatchedCloudEventsAreRejected) {
  std::string value = "[" + Structured() + "]";
  InboundMessage m = Message(value);
  m.headers = {{"Content-Type", "application/cloudevents-batch+json"}};
  EXPECT_NE(Reason(parser_, m).find("batched CloudEvents are not supported"), std::string::npos);
}

TEST_F(EnvelopeParserTest, DeeplyNestedValueIsRefusedBeforeParsing) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string value = Structured(R"({"organizationId":"o","workflowId":"w","input":{"a":)" + deep + "}}");
  EXPECT_NE(Reason(parser_, Message(value)).find("nested deeper than 128 levels"), std::string::npos);
}

TEST_F(EnvelopeParserTest, BracketsInsideStringsDoNotCountAsNesting) {
  std::string value = Structured(R"({"organizationId":"o","workflowId":"w","input":{"a":")" +
                                 std::string(500, '[') + R"(\"]"}})");
  Envelope env;
  EXPECT_NO_THROW(parser_.Parse(Message(value), "workflow.triggered", env));
}

TEST_F(EnvelopeParserTest, ParserAndEnvelopeAreReusableAfterARejectedEvent) {
  Envelope env;
  std::string good = Structured();
  std::string bad = Structured(R"({"organizationId":"org-1","workflowId":"wf-1"})");
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(parser_.Parse(Message(bad), "workflow.triggered", env), PermanentError);
    EXPECT_NO_THROW(parser_.Parse(Message(good), "workflow.triggered", env));
    EXPECT_EQ(env.organization_id, "org-1");
  }
}

TEST_F(EnvelopeParserTest, ReusedEnvelopeDoesNotKeepTheLastTraceparent) {
  Envelope env;
  std::string with = Structured();
  parser_.Parse(Message(with), "workflow.triggered", env);
  std::string without = Structured();
  const std::string attr = std::string(R"("traceparent":")") + kTraceparent + "\",";
  without.erase(without.find(attr), attr.size());
  parser_.Parse(Message(without), "workflow.triggered", env);
  EXPECT_EQ(env.traceparent, "");
}

TEST_F(EnvelopeParserTest, ManyEventsThroughOneEnvelopeKeepItsMemoryBounded) {
  Envelope env;
  std::string value = Structured();
  for (int i = 0; i < 5000; ++i) parser_.Parse(Message(value), "workflow.triggered", env);
  EXPECT_LT(env.doc.GetAllocator().Capacity(), 1u << 20);
}

// ---- poison inputs: valid JSON that would be misread later ------------------

// data.input holding `input` (JSON text) in an otherwise valid event.
std::string WithInput(const std::string& input) {
  return Structured(R"({"organizationId":"org-1","workflowId":"wf-1","input":)" + input + "}");
}

TEST_F(EnvelopeParserTest, NulEscapeInOrganizationIdIsRefusedNotCutShort) {
  // libpq would cut the text at the NUL: the event would be applied to org_demo.
  std::string value = Structured(R"({"organizationId":"org_demo\u0000evil","workflowId":"wf-1","input":{}})");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(data.organizationId: contains a NUL character (\u0000), which is not allowed in text)");
}

TEST_F(EnvelopeParserTest, NulEscapeInWorkflowIdIsRefused) {
  std::string value = Structured(R"({"organizationId":"org-1","workflowId":"wf-1\u0000","input":{}})");
  EXPECT_EQ(Reason(parser_, Message(value)),
            R"(data.workflowId: contains a NUL character (\u0000), which is not allowed in text)");
}

TEST_F(EnvelopeParserTest, NulEscapeInIdOrSourceIsRefused) {
  std::string id = Structured();
  id.replace(id.find(R"("evt-1")"), 7, R"("evt\u0000-1")");
  EXPECT_EQ(Reason(parser_, Message(id)), R"(id: contains a NUL character (\u0000), which is not allowed in text)");
  std::string source = Structured();
  source.replace(source.find(R"("/hub/tests")"), 12, R"("/hub/\u0000tests")");
  EXPECT_EQ(Reason(parser_, Message(source)),
            R"(source: contains a NUL character (\u0000), which is not allowed in text)");
}

TEST_F(EnvelopeParserTest, NulEscapeInAnInputValueOrKeyIsRefused) {
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"x":"a\u0000"})"))),
            R"(data.input.x: contains a NUL character (\u0000), which is not allowed in text)");
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"list":[1,{"y":["ok","\u0000"]}]})"))),
            R"(data.input.list[1].y[1]: contains a NUL character (\u0000), which is not allowed in text)");
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"a\u0000b":1})"))),
            R"(data.input: a key contains a NUL character (\u0000), which is not allowed in text)");
}

TEST_F(EnvelopeParserTest, LoneLowSurrogateEscapeIsRefused) {
  // RapidJSON decodes it to the bytes ED B0 80, which PostgreSQL refuses.
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"x":"a\udc00b"})"))),
            R"(data.input.x: contains a lone surrogate escape (\udc00) that is not valid text)");
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"\uDFFF":1})"))),
            R"(data.input: a key contains a lone surrogate escape (\udfff) that is not valid text)");
}

TEST_F(EnvelopeParserTest, LoneHighSurrogateEscapeStaysMalformed) {
  std::string r = Reason(parser_, Message(WithInput(R"({"x":"\ud800"})")));
  EXPECT_NE(r.find("malformed JSON at byte"), std::string::npos) << r;
  EXPECT_NE(r.find("surrogate"), std::string::npos) << r;
}

TEST_F(EnvelopeParserTest, EscapedTextThatIsValidIsAccepted) {
  Envelope env;
  // A surrogate pair (U+1F600), an escaped backslash followed by the letters
  // u0000, and other escapes.
  parser_.Parse(Message(WithInput(R"({"smile":"\ud83d\ude00","text":"\\u0000","q":"\"\n\u00e9"})")),
                "workflow.triggered", env);
  const rapidjson::Value& input = env.data()["input"];
  EXPECT_STREQ(input["smile"].GetString(), "\xF0\x9F\x98\x80");
  EXPECT_STREQ(input["text"].GetString(), "\\u0000");
  EXPECT_STREQ(input["q"].GetString(), "\"\n\xC3\xA9");
}

TEST_F(EnvelopeParserTest, NulEscapeInBinaryModeDataIsRefused) {
  std::string data = R"({"organizationId":"org\u0000x","workflowId":"wf-1","input":{}})";
  EXPECT_EQ(Reason(parser_, BinaryMessage(data)),
            R"(data.organizationId: contains a NUL character (\u0000), which is not allowed in text)");
}

TEST_F(EnvelopeParserTest, BinaryModeHeaderWithANulByteIsRefused) {
  std::string data = kData;
  InboundMessage m = BinaryMessage(data);
  const std::string with_nul("/hub\0/tests", 11);
  m.headers[2].second = with_nul;  // ce_source
  EXPECT_EQ(Reason(parser_, m), "header ce_source: value contains a NUL byte, which is not allowed in text");

  InboundMessage t = BinaryMessage(data);
  t.headers.erase(t.headers.begin() + 5);  // ce_traceparent: the plain header is used
  const std::string traceparent = std::string(kTraceparent) + std::string(1, '\0');
  t.headers.push_back({"traceparent", traceparent});
  EXPECT_EQ(Reason(parser_, t), "header traceparent: value contains a NUL byte, which is not allowed in text");

  InboundMessage c = BinaryMessage(data);
  const std::string content_type("application/json\0;x", 19);
  c.headers.back().second = content_type;
  EXPECT_EQ(Reason(parser_, c), "header content-type: value contains a NUL byte, which is not allowed in text");
}

TEST_F(EnvelopeParserTest, DuplicateTopLevelAttributeIsRefused) {
  std::string value = Structured();
  value.insert(value.find(R"("time")"), R"("type":"workflow.triggered",)");
  EXPECT_EQ(Reason(parser_, Message(value)), R"(event: duplicate key "type")");
}

TEST_F(EnvelopeParserTest, DuplicateOrganizationIdIsRefused) {
  // One parser would apply it to org-1, another to org-2.
  std::string value =
      Structured(R"({"organizationId":"org-1","workflowId":"wf-1","input":{},"organizationId":"org-2"})");
  EXPECT_EQ(Reason(parser_, Message(value)), R"(data: duplicate key "organizationId")");
}

TEST_F(EnvelopeParserTest, DuplicateKeyInsideInputIsRefused) {
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"x":1,"y":{"x":2},"x":3})"))), R"(data.input: duplicate key "x")");
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"list":[{"a":1,"a":1}]})"))),
            R"(data.input.list[0]: duplicate key "a")");
  // Equal once decoded.
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"x":1,"\u0078":2})"))), R"(data.input: duplicate key "x")");
}

// {"k0":0,"k1":1,...}: `n` distinct keys, then `extra` (e.g. a repeated one).
std::string ManyKeys(int n, const std::string& extra = "") {
  std::string out = "{";
  for (int i = 0; i < n; ++i) out += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  return out + extra + "}";
}

TEST_F(EnvelopeParserTest, DuplicateKeyInALargeObjectIsRefused) {
  EXPECT_EQ(Reason(parser_, Message(WithInput(ManyKeys(300, R"(,"k150":0)")))), R"(data.input: duplicate key "k150")");
}

TEST_F(EnvelopeParserTest, ObjectsWithoutDuplicateKeysAreAccepted) {
  Envelope env;
  for (int n : {2, 16, 17, 300}) {
    EXPECT_NO_THROW(parser_.Parse(Message(WithInput(ManyKeys(n))), "workflow.triggered", env)) << n;
    EXPECT_EQ(env.data()["input"].MemberCount(), static_cast<unsigned>(n));
  }
  // The same key in different objects is not a duplicate.
  std::string nested = WithInput(R"({"x":{"x":{"x":[{"x":1},{"x":2}]}}})");
  EXPECT_NO_THROW(parser_.Parse(Message(nested), "workflow.triggered", env));
}

TEST_F(EnvelopeParserTest, IntegerBeyondSixtyFourBitsIsRefused) {
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"n":18446744073709551616})"))),
            "data.input.n: the integer 18446744073709551616 is beyond the 64-bit range this worker keeps exactly; "
            "send it as a string");
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"list":[1,2,-9223372036854775809]})"))),
            "data.input.list[2]: the integer -9223372036854775809 is beyond the 64-bit range this worker keeps "
            "exactly; send it as a string");
  std::string digits(60, '7');
  EXPECT_EQ(Reason(parser_, Message(WithInput(R"({"n":)" + digits + "}"))),
            "data.input.n: the integer " + digits.substr(0, 40) +
                "... (60 characters) is beyond the 64-bit range this worker keeps exactly; send it as a string");
  std::string data =
      R"({"organizationId":"org-1","workflowId":"wf-1","input":{"a":{"n":123456789012345678901234567890}}})";
  EXPECT_EQ(Reason(parser_, BinaryMessage(data)),
            "data.input.a.n: the integer 123456789012345678901234567890 is beyond the 64-bit range this worker keeps "
            "exactly; send it as a string");
}

TEST_F(EnvelopeParserTest, IntegersAtTheSixtyFourBitLimitsAreKeptExactly) {
  Envelope env;
  parser_.Parse(Message(WithInput(R"({"max":18446744073709551615,"min":-9223372036854775808})")), "workflow.triggered",
                env);
  const rapidjson::Value& input = env.data()["input"];
  ASSERT_TRUE(input["max"].IsUint64());
  EXPECT_EQ(input["max"].GetUint64(), 18446744073709551615ULL);
  ASSERT_TRUE(input["min"].IsInt64());
  EXPECT_EQ(input["min"].GetInt64(), INT64_MIN);
}

TEST_F(EnvelopeParserTest, NumbersWithAFractionOrExponentStayDoubles) {
  Envelope env;
  parser_.Parse(Message(WithInput(R"({"big":1.5e300,"f":0.1,"e":1E2,"long":123456789012345678901234567890.5})")),
                "workflow.triggered", env);
  const rapidjson::Value& input = env.data()["input"];
  EXPECT_DOUBLE_EQ(input["big"].GetDouble(), 1.5e300);
  EXPECT_DOUBLE_EQ(input["f"].GetDouble(), 0.1);
  EXPECT_DOUBLE_EQ(input["e"].GetDouble(), 100.0);
  EXPECT_TRUE(input["long"].IsDouble());
}

TEST(EnvelopeParserThreads, ParsersOnTwoThreadsShareOneRegistry) {
  // Each parser compiles its own schemas (RapidJSON 1.1.0's regex is not
  // re-entrant); run under TSAN to see a race if that ever regresses.
  auto work = [](int* ok) {
    EnvelopeParser parser(Registry());
    Envelope env;
    std::string value = Structured();
    for (int i = 0; i < 2000; ++i) {
      parser.Parse(Message(value), "workflow.triggered", env);
      *ok += env.time_unix_us == 1714564800250000LL;
    }
  };
  int a = 0, b = 0;
  std::thread t1(work, &a), t2(work, &b);
  t1.join();
  t2.join();
  EXPECT_EQ(a, 2000);
  EXPECT_EQ(b, 2000);
}

// ---- RFC 3339 -------------------------------------------------------------------

struct TimeCase {
  const char* text;
  int64_t unix_us;
};

class Rfc3339Accepts : public testing::TestWithParam<TimeCase> {};

TEST_P(Rfc3339Accepts, AndGivesMicrosecondsSinceTheEpoch) {
  int64_t us = -42;
  std::string why;
  ASSERT_TRUE(ParseRfc3339(GetParam().text, us, &why)) << GetParam().text << ": " << why;
  EXPECT_EQ(us, GetParam().unix_us) << GetParam().text;
}

constexpr int64_t kMay1Noon = 1714564800LL * 1000000;  // 2024-05-01T12:00:00Z

INSTANTIATE_TEST_SUITE_P(
    Times, Rfc3339Accepts,
    testing::Values(TimeCase{"1970-01-01T00:00:00Z", 0}, TimeCase{"2024-05-01T12:00:00Z", kMay1Noon},
                    TimeCase{"2024-05-01t12:00:00z", kMay1Noon}, TimeCase{"2024-05-01T14:00:00+02:00", kMay1Noon},
                    TimeCase{"2024-05-01T06:30:00-05:30", kMay1Noon}, TimeCase{"2024-05-01T12:00:00-00:00", kMay1Noon},
                    TimeCase{"2024-05-02T11:59:00+23:59", kMay1Noon},
                    TimeCase{"2024-05-01T12:00:00.5Z", kMay1Noon + 500000},
                    TimeCase{"2024-05-01T12:00:00.000001Z", kMay1Noon + 1},
                    TimeCase{"2024-05-01T12:00:00.123456789Z", kMay1Noon + 123456},
                    TimeCase{"2024-05-01T17:45:00.25+05:45", kMay1Noon + 250000},
                    TimeCase{"1969-12-31T23:59:59.999999Z", -1}, TimeCase{"2024-02-29T00:00:00Z", 1709164800LL * 1000000},
                    TimeCase{"2000-02-29T00:00:00Z", 951782400LL * 1000000},
                    TimeCase{"2016-12-31T23:59:60Z", 1483228800LL * 1000000},  // leap second: next minute
                    TimeCase{"9999-12-31T23:59:59Z", 253402300799LL * 1000000}));

class Rfc3339Rejects : public testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(Rfc3339Rejects, WithAReason) {
  int64_t us = 0;
  std::string why;
  EXPECT_FALSE(ParseRfc3339(GetParam().first, us, &why)) << GetParam().first;
  EXPECT_NE(why.find(GetParam().second), std::string::npos) << GetParam().first << ": " << why;
}

INSTANTIATE_TEST_SUITE_P(
    Times, Rfc3339Rejects,
    testing::Values(std::make_pair("2024-13-01T00:00:00Z", "month 13"), std::make_pair("2024-00-01T00:00:00Z", "month 0"),
                    std::make_pair("2024-01-32T00:00:00Z", "day 32"), std::make_pair("2023-02-29T00:00:00Z", "day 29"),
                    std::make_pair("1900-02-29T00:00:00Z", "day 29"), std::make_pair("2024-04-31T00:00:00Z", "day 31"),
                    std::make_pair("2024-05-01T24:00:00Z", "hour 24"), std::make_pair("2024-05-01T12:60:00Z", "minute 60"),
                    std::make_pair("2024-05-01T12:00:61Z", "second 61"),
                    std::make_pair("2024-05-01T12:00:00+24:00", "offset +24:00"),
                    std::make_pair("2024-05-01T12:00:00+02:60", "offset +02:60"),
                    std::make_pair("2024-05-01T12:00:00", "missing time zone offset"),
                    std::make_pair("2024-05-01T12:00:00.Z", "fraction digits"),
                    std::make_pair("2024-05-01T12:00:00Z ", "expected YYYY"),
                    std::make_pair("2024-05-01 12:00:00Z", "expected YYYY"), std::make_pair("", "expected YYYY"),
                    std::make_pair("2024-05-01T12:00:00+0200", "expected YYYY")));

}  // namespace
}  // namespace hub::consumers
