"""A real SIP phone (baresip) calls the agent: answer, audio both ways, recording, latency."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import pytest

from tests.sip.conftest import AGENT_PORT, CALLER_CTRL, CALLER_SIP, Agent, Voice
from tests.sip.peers import Baresip, voiced_seconds

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def wait_wav_complete(path: Path, timeout: float = 15.0) -> None:
    """pjsua writes the WAV header when the recorder is released (RELEASE_DELAY_S after the
    call; later on a loaded box)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with wave.open(str(path)) as wav:
                if wav.getnframes() > 0:
                    return
        except (wave.Error, EOFError, FileNotFoundError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never became a complete WAV")
        time.sleep(0.1)


def call_agent(tmp_path: Path, voice: Voice, peers: list, text: str) -> Baresip:
    source = voice.caller_wav(text, "caller")
    phone = Baresip(tmp_path / "baresip", CALLER_SIP, CALLER_CTRL, source)
    peers.append(phone)
    phone.dial(f"sip:agent@127.0.0.1:{AGENT_PORT}")
    phone.wait_event("CALL_ESTABLISHED", 15)
    return phone


def test_phone_call_is_answered_and_both_sides_hear_each_other(
    tmp_path: Path, voice: Voice, start_agent, peers: list
) -> None:
    agent: Agent = start_agent()
    phone = call_agent(tmp_path, voice, peers,
                       "I would like to book an appointment on Tuesday morning.")
    handler = agent.wait_handlers(1)[0]
    phone.wait_event("CALL_CLOSED", 30)  # aufile ends the call at the end of its file
    [record] = agent.wait_records(1)

    assert record.outcome == "caller_hung_up"
    assert record.caller_id.startswith("<sip:caller@127.0.0.1")
    assert record.remote_address == "127.0.0.1"
    assert handler.turns >= 1, "the agent heard the caller finish a turn"
    assert voiced_seconds(handler.record_path) > 1.5, "the caller's speech reached the agent"
    heard = phone.received()
    # the greeting (~2 s) and the reply (~2 s) both reached the phone
    assert voiced_seconds(heard) > 3.0
    assert record.reply_latency_s, "end of caller speech to reply audio was measured"
    # the call's pump thread closes the handler on its own, just after the record ends
    deadline = time.monotonic() + 5
    while handler.closed_reason is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert handler.closed_reason == "caller_hung_up"


def test_recorded_call_speaks_the_notice_first_and_keeps_the_path(
    tmp_path: Path, voice: Voice, start_agent, peers: list
) -> None:
    from tests.sip.peers import read_pcm, speak_wav
    from voiceagent.channels.sip import SipOptions

    def render(text: str, rate: int) -> bytes:
        return read_pcm(speak_wav(text, tmp_path / "notice.wav", rate, 0.0, 0.2))[0]

    agent: Agent = start_agent(SipOptions(render_speech=render), record_calls=True)
    phone = call_agent(tmp_path, voice, peers, "Hello, is anyone there?")
    phone.wait_event("CALL_CLOSED", 40)
    [record] = agent.wait_records(1)

    assert record.recording_path is not None
    recording = Path(record.recording_path)
    wait_wav_complete(recording)
    with wave.open(str(recording)) as wav:
        assert wav.getnframes() / wav.getframerate() > 3.0
    # both directions are in the file: at least the notice, greeting and the caller
    assert voiced_seconds(recording) > 4.0
    assert voiced_seconds(phone.received()) > 4.0  # notice + greeting + reply
