"""Tool calls held to a grammar: the model may only name the tools valid in this step.

One decision per generation: either a reply to speak, or tool call(s) whose results go back
into the conversation before the next decision (which is then usually the reply). The JSON
schema below is compiled to a GBNF grammar by the LLM (``LlamaGrammar.from_json_schema``),
so the output always parses and never names a tool outside ``tools``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from voiceagent.dialog.protocol import ToolCall
from voiceagent.llm.protocol import LLM, ChatMessage


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class Decision:
    reply: str | None
    calls: tuple[ToolCall, ...] = ()


class DecisionError(ValueError):
    """The model's output did not match the decision schema (a grammar should prevent it)."""


def decision_schema(
    tools: Sequence[ToolSpec], max_calls: int = 2, reply_max_chars: int = 160
) -> dict[str, Any]:
    """JSON schema: ``{"reply": "..."}`` or ``{"tool_calls": [{"name", "arguments"}...]}``."""
    reply = {
        "type": "object",
        "properties": {"reply": {"type": "string", "maxLength": reply_max_chars}},
        "required": ["reply"],
        "additionalProperties": False,
    }
    if not tools:
        return reply
    call_variants = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": t.parameters},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    calls = {
        "type": "object",
        "properties": {
            "tool_calls": {
                "type": "array",
                "items": {"anyOf": call_variants},
                "minItems": 1,
                "maxItems": max_calls,
            }
        },
        "required": ["tool_calls"],
        "additionalProperties": False,
    }
    return {"anyOf": [calls, reply]}


def tools_prompt(tools: Sequence[ToolSpec]) -> str:
    """A system-prompt paragraph describing the tools (the grammar enforces the format)."""
    if not tools:
        return 'Answer with JSON: {"reply": "<what to say>"}.'
    lines = [f"- {t.name}: {t.description} arguments: {json.dumps(t.parameters)}" for t in tools]
    return (
        "Tools you may call now:\n" + "\n".join(lines) + "\n"
        'Answer with JSON: {"tool_calls": [{"name": ..., "arguments": {...}}]} to call tools, '
        'or {"reply": "<what to say>"} to answer the caller.'
    )


def parse_decision(text: str, tools: Sequence[ToolSpec]) -> Decision:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DecisionError(
            f"not JSON ({err}); if the output was cut short, raise max_tokens"
        ) from err
    if isinstance(data, dict) and isinstance(data.get("reply"), str):
        return Decision(reply=data["reply"].strip())
    allowed = {t.name for t in tools}
    if isinstance(data, dict) and isinstance(data.get("tool_calls"), list):
        calls = []
        for item in data["tool_calls"]:
            if not isinstance(item, dict) or item.get("name") not in allowed:
                raise DecisionError(f"tool {item!r} is not one of {sorted(allowed)}")
            arguments = item.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise DecisionError("tool arguments must be an object")
            calls.append(ToolCall(item["name"], arguments))
        if calls:
            return Decision(reply=None, calls=tuple(calls))
    raise DecisionError("neither a reply nor tool calls")


def decide(
    llm: LLM,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    max_tokens: int = 96,
    reply_max_chars: int = 160,
) -> Decision:
    """One grammar-constrained decision over ``messages`` among ``tools``."""
    schema = decision_schema(tools, reply_max_chars=reply_max_chars)
    text = "".join(llm.stream(messages, json_schema=schema, max_tokens=max_tokens))
    return parse_decision(text, tools)
