"""baresip ctrl_tcp framing: commands go out as netstrings, split messages are reassembled."""

from __future__ import annotations

import json

import pytest

from voiceagent.bench.baresip_ctrl import NetstringReader, encode_command

pytestmark = pytest.mark.unit


def test_command_is_a_netstring_with_the_command_as_token() -> None:
    frame = encode_command("dial", "sip:agent@127.0.0.1")
    length, rest = frame.split(b":", 1)
    assert rest.endswith(b",") and int(length) == len(rest) - 1
    assert json.loads(rest[:-1]) == {
        "command": "dial", "params": "sip:agent@127.0.0.1", "token": "dial"
    }


def test_messages_split_across_reads_come_out_whole_and_in_order() -> None:
    stream = encode_command("a") + encode_command("b")
    reader = NetstringReader()
    assert reader.feed(stream[:7]) == []
    got = reader.feed(stream[7:-3]) + reader.feed(stream[-3:])
    assert [m["command"] for m in got] == ["a", "b"]
