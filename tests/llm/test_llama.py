"""llama.cpp behind the LLM protocol, on the bundled SmolLM2-135M."""

from __future__ import annotations

import json

import pytest

from voiceagent.config.pipeline import LLMConfig
from voiceagent.llm.llama import LlamaLLM
from voiceagent.llm.protocol import ChatMessage
from voiceagent.models.paths import ModelNotInstalled

pytestmark = pytest.mark.models

SYSTEM = ChatMessage(
    "system", "You are the receptionist of a physical therapy clinic. Answer in one short sentence."
)
OTHER_SYSTEM = ChatMessage("system", "You are a pirate. Answer in one short sentence.")


@pytest.fixture(scope="module")
def llm():
    model = LlamaLLM(LLMConfig(n_ctx=1024, temperature=0.0))
    yield model
    model.close()


def complete(llm, messages, **kw):
    return "".join(llm.stream(messages, temperature=0.0, max_tokens=kw.pop("max_tokens", 6), **kw))


def test_reply_streams_in_several_pieces(llm):
    pieces = list(
        llm.stream(
            [SYSTEM, ChatMessage("user", "Hello, are you open today?")],
            max_tokens=12,
            temperature=0.0,
        )
    )
    assert len(pieces) >= 3
    assert "".join(pieces).strip()


def test_prompt_uses_the_models_own_chat_template(llm):
    tokens, prefix, stops = llm._prompt([SYSTEM, ChatMessage("user", "hi")])
    text = llm.llama.detokenize(tokens, special=True).decode()
    assert "<|im_start|>system" in text and text.rstrip().endswith("<|im_start|>assistant")
    assert 0 < len(prefix) < len(tokens)
    assert "<|im_end|>" in stops


def test_restored_system_prompt_state_gives_the_same_reply_as_a_cold_prompt(llm):
    question = [SYSTEM, ChatMessage("user", "Where do I park?")]
    llm.reuse_prefix = False
    cold = complete(llm, question)
    llm.reuse_prefix = True
    complete(llm, question)  # computes and keeps the system prompt's state
    complete(llm, [OTHER_SYSTEM, ChatMessage("user", "Ahoy?")])  # context now holds another
    warm = complete(llm, question)  # restored, not recomputed
    assert warm == cold
    assert len(llm._prefixes) == 2


def test_json_schema_output_always_parses_and_obeys_the_schema(llm):
    schema = {
        "type": "object",
        "properties": {
            "tool": {"enum": ["find_slots", "book", "take_message"]},
            "day": {"type": "string", "maxLength": 12},
        },
        "required": ["tool", "day"],
        "additionalProperties": False,
    }
    for request in ["Can I leave a message for Dr. Lee?"]:
        out = complete(
            llm,
            [SYSTEM, ChatMessage("user", request + " Answer in JSON.")],
            json_schema=schema,
            max_tokens=40,
        )
        data = json.loads(out)
        assert data["tool"] in {"find_slots", "book", "take_message"}
        assert set(data) == {"tool", "day"}


def test_truncated_gguf_fails_with_a_clear_error(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelNotInstalled, match="corrupt"):
        LlamaLLM(LLMConfig(model=str(bad)))


def test_file_that_is_not_gguf_is_refused(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>not found</html>")
    with pytest.raises(ModelNotInstalled, match="not a GGUF"):
        LlamaLLM(LLMConfig(model=str(bad)))


def test_grammar_constrained_decision_names_only_the_offered_tools(llm):
    from voiceagent.llm.toolcalls import ToolSpec, decide, tools_prompt

    tools = [
        ToolSpec(
            "find_slots",
            "find open appointment times",
            {
                "type": "object",
                "properties": {"day": {"type": "string", "maxLength": 10}},
                "required": ["day"],
            },
        )
    ]
    system = ChatMessage("system", SYSTEM.content + "\n" + tools_prompt(tools))
    decision = decide(
        llm,
        [system, ChatMessage("user", "Any openings on Friday?")],
        tools,
        max_tokens=80,  # room for two calls: the grammar fixes the form, not the length
        reply_max_chars=30,
    )
    assert decision.reply is not None or all(c.name == "find_slots" for c in decision.calls)


def test_choice_among_labels_runs_on_the_real_grammar(llm):
    from voiceagent.llm.choice import choose

    labels = ["book_appointment", "cancel_appointment", "leave_message", "unclear"]
    messages = [
        ChatMessage("system", "Classify what the caller wants. Answer with one of: "
                    + ", ".join(labels)),
        ChatMessage("user", "I need to cancel my appointment on Friday"),
    ]
    assert choose(llm, messages, labels) in labels
