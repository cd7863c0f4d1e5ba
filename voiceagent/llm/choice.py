"""Let the model pick one of a few labels, in as few forward passes as the labels allow.

A grammar that admits only the labels makes every answer valid. Once the tokens generated
so far begin exactly one label, the rest of it is forced by the grammar, but llama.cpp would
still run a forward pass per forced token: stopping there saves most of the generation
("book_appointment" is decided after the first two or three tokens).
"""

from __future__ import annotations

from collections.abc import Sequence

from voiceagent.llm.protocol import LLM, ChatMessage


def choose(
    llm: LLM, messages: Sequence[ChatMessage], labels: Sequence[str], max_tokens: int = 24
) -> str | None:
    """The label the model picks (under a grammar of ``labels``), or None if its output
    names none of them."""
    schema = {"type": "string", "enum": list(labels)}
    text = ""
    for piece in llm.stream(messages, json_schema=schema, max_tokens=max_tokens, temperature=0.0):
        text += piece
        said = text.strip()
        if len(said) > 1 and said.startswith('"') and said.endswith('"'):
            break  # the whole label, closing quote included
        begun = [label for label in labels if label.startswith(said.lstrip('"'))]
        if len(begun) == 1:
            return begun[0]
        if not begun:
            return None
    said = text.strip().strip('"')
    return said if said in labels else None
