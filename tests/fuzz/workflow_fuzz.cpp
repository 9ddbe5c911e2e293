// libFuzzer target: the workflow graph compiler, templates, conditions and
// the engine, on any definition and input.  The contract: CompileWorkflow and
// RunWorkflow never throw and never crash; every problem is a compile error
// or a FAILED execution.  The input is three parts separated by a line
// "----": nodes JSON, edges JSON, the trigger's input JSON.  A parked
// execution is resumed with a made-up answer for each parked node, a bounded
// number of times, so that resumes are fuzzed too (an ai_agent node's answer
// is the input read by the model answer parsers).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "engine/workflow.hpp"

using namespace hub::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t a = text.find("\n----\n");
  if (a == std::string_view::npos) return 0;
  const size_t b = text.find("\n----\n", a + 6);
  const std::string_view nodes = text.substr(0, a);
  const std::string_view edges = text.substr(a + 6, b == std::string_view::npos ? std::string_view::npos : b - a - 6);
  const std::string input_text(b == std::string_view::npos ? std::string_view("{}") : text.substr(b + 6));

  auto wf = CompileWorkflow("wf", "fuzz", "org", true, "t", nodes, edges, "");
  rapidjson::Document event;
  event.Parse(R"({"id":"e1","source":"fuzz","type":"workflow.triggered","data":{}})");
  rapidjson::Document input;
  input.Parse(input_text.c_str());
  const rapidjson::Value* in = input.HasParseError() ? nullptr : &input;
  ExecutionLimits limits;
  limits.max_execution_bytes = 1 << 18;  // smaller than the default: keeps runs fast, still hits the limits
  ExecutionResult result;
  constexpr int64_t kNow = 1'800'000'000'000'000;
  RunWorkflow(*wf, TriggerInput{&event, in, "exec-1", kNow}, limits, result);
  for (int round = 0; round < 8 && result.status == ExecutionStatus::kRunning && !result.parked.empty(); ++round) {
    const std::string output = result.output_json, logs = result.logs_json, nodes_json = result.nodes_json;
    const ParkedStep step = result.parked.front();
    ResumePoint p;
    p.node_id = step.node_id;
    p.output_json = output;
    p.logs_json = logs;
    p.nodes_json = nodes_json;
    p.nodes_executed = result.nodes_executed;
    p.waited_until_us = step.due_us;
    // An agent's answer comes from the fuzzed input read as each provider's
    // format (the parsers are fuzzed too); the local provider's when neither
    // parses.
    std::string agent_output;
    if (step.kind == "ai_agent") {
      ModelCall call;
      call.prompt = input_text;
      ModelAnswer answer = ParseOpenAiResponse(200, input_text);
      if (answer.kind != ModelAnswer::Kind::kAnswer) answer = ParseAnthropicResponse(200, input_text);
      if (answer.kind != ModelAnswer::Kind::kAnswer) answer = LocalModelAnswer(call);
      agent_output = AgentNodeOutput(call, answer, "openai");
    }
    p.node_output_json =
        agent_output.empty() ? std::string_view(R"({"status":200,"headers":{},"body":{"n":1,"s":"x"}})") : agent_output;
    p.attempts = 1;
    RunWorkflow(*wf, TriggerInput{&event, in, "exec-1", kNow + 1}, limits, result, &p);
  }
  return 0;
}
