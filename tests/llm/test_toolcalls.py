import pytest

from tests.fakes.llm import FakeLLM
from voiceagent.dialog.protocol import ToolCall
from voiceagent.llm.protocol import ChatMessage
from voiceagent.llm.toolcalls import (
    DecisionError,
    ToolSpec,
    decide,
    decision_schema,
    parse_decision,
)

pytestmark = pytest.mark.unit

TOOLS = [
    ToolSpec(
        "find_slots",
        "find open appointment times",
        {"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]},
    ),
    ToolSpec(
        "take_message",
        "leave a message for staff",
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ),
]


def test_schema_offers_only_the_tools_of_this_step():
    schema = decision_schema(TOOLS[:1])
    variants = schema["anyOf"][0]["properties"]["tool_calls"]["items"]["anyOf"]
    assert [v["properties"]["name"]["const"] for v in variants] == ["find_slots"]


def test_step_without_tools_can_only_reply():
    assert decision_schema([])["required"] == ["reply"]


def test_tool_calls_are_parsed_with_their_arguments():
    decision = parse_decision(
        '{"tool_calls": [{"name": "find_slots", "arguments": {"day": "tuesday"}}]}', TOOLS
    )
    assert decision.calls == (ToolCall("find_slots", {"day": "tuesday"}),)
    assert decision.reply is None


def test_a_tool_outside_the_step_is_refused():
    with pytest.raises(DecisionError, match="book"):
        parse_decision('{"tool_calls": [{"name": "book", "arguments": {}}]}', TOOLS)


def test_decide_passes_the_schema_to_the_llm_and_returns_the_reply():
    llm = FakeLLM(['{"reply": "We open at eight."}'])
    decision = decide(llm, [ChatMessage("user", "When do you open?")], TOOLS)
    assert decision.reply == "We open at eight."
    assert llm.schemas[0] == decision_schema(TOOLS)
