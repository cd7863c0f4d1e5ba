import json

import pytest

from voiceagent.frontdesk.saystream import SayStream

pytestmark = pytest.mark.unit


def feed_in_pieces(text: str, size: int) -> list[str]:
    stream = SayStream()
    out: list[str] = []
    for i in range(0, len(text), size):
        out.extend(stream.feed(text[i : i + size]))
    out.extend(stream.flush())
    return out


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_clauses_come_out_as_the_json_streams(size):
    raw = json.dumps({"say": "Sure. I have Tuesday with Dr. Okafor at 9 AM. Does that work?",
                      "tool": None, "arguments": {}})
    assert feed_in_pieces(raw, size) == ["Sure.", "I have Tuesday with Dr. Okafor at 9 AM.",
                                         "Does that work?"]


def test_first_clause_is_out_before_the_json_is_complete():
    stream = SayStream()
    assert stream.feed('{"say": "One moment. Let me ') == ["One moment."]


def test_escapes_are_decoded():
    raw = json.dumps({"say": 'She said "hi"\nthen left. Ok', "tool": None})
    assert feed_in_pieces(raw, 2) == ['She said "hi" then left.', "Ok"]


def test_no_say_key_gives_nothing():
    assert feed_in_pieces('{"tool": "end_call", "arguments": {}}', 4) == []
