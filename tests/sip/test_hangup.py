"""The agent ends the call itself: its BYE follows its goodbye within 2 s, although the
handler (like the speech session) keeps sending silence frames once it has spoken."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.sip.conftest import (
    AGENT_PORT,
    AGENT_RTP,
    CALLER_CTRL,
    CALLER_SIP,
    Voice,
    assert_sipp_ok,
    sip_config,
    sipp,
)
from tests.sip.peers import Baresip
from voiceagent.channels.sip import CallControl, CallInfo, SipEndpoint, SipOptions
from voiceagent.channels.sip.handler import TransferOutcome
from voiceagent.channels.sip.media_port import VOICED_RMS, frame_rms
from voiceagent.channels.sip.pump import split_frames
from voiceagent.speech.events import DtmfDigit

pytestmark = [pytest.mark.sip, pytest.mark.slow]


class GoodbyeHandler:
    """Says its goodbye, asks to hang up, then sends silence frames forever."""

    def __init__(self, info: CallInfo, control: CallControl, goodbye: bytes) -> None:
        self.control = control
        self.frames = split_frames(goodbye, info.frame_bytes)
        self.silence = bytes(info.frame_bytes)
        self.last_voiced_at: float | None = None
        self.asked = False

    def push_frame(self, pcm: bytes) -> None:
        pass

    def pull_frame(self) -> bytes | None:
        if self.frames:
            frame = self.frames.pop(0)
            if frame_rms(frame) > VOICED_RMS:
                self.last_voiced_at = time.time()
            if not self.frames and not self.asked:
                self.asked = True
                self.control.hangup("completed")
            return frame
        return self.silence

    def on_dtmf(self, key: DtmfDigit) -> None:
        pass

    def on_transfer(self, outcome: TransferOutcome) -> None:
        pass

    def close(self, reason: str) -> None:
        pass


def goodbye_agent(tmp_path: Path, voice: Voice) -> tuple[SipEndpoint, list[GoodbyeHandler]]:
    handlers: list[GoodbyeHandler] = []

    def factory(info: CallInfo, control: CallControl) -> GoodbyeHandler:
        handlers.append(GoodbyeHandler(info, control, voice.take_message))
        return handlers[-1]

    options = SipOptions(rtp_port=AGENT_RTP, rtp_port_range=100)
    endpoint = SipEndpoint(sip_config(tmp_path), factory, options)
    endpoint.start()
    return endpoint, handlers


def wait_ended(endpoint: SipEndpoint) -> None:
    deadline = time.monotonic() + 10
    while not endpoint.records or endpoint.records[-1].ended_at is None:
        assert time.monotonic() < deadline, "the call never ended inside the agent"
        time.sleep(0.05)


def assert_bye_soon_after_goodbye(endpoint: SipEndpoint, handlers: list[GoodbyeHandler]) -> None:
    [record] = list(endpoint.records)
    [handler] = handlers
    assert handler.last_voiced_at is not None
    assert record.outcome == "completed"
    assert record.ended_at is not None
    gap = record.ended_at.timestamp() - handler.last_voiced_at
    assert 0 <= gap < 2.0, f"BYE {gap:.2f} s after the goodbye"


def test_agent_sends_bye_within_two_seconds_of_its_goodbye(
    tmp_path: Path, voice: Voice, peers: list
) -> None:
    endpoint, handlers = goodbye_agent(tmp_path, voice)
    try:
        run = sipp(tmp_path, peers, "uac_await_bye.xml", "-m", "1")
        assert_sipp_ok(run, timeout=30)
        wait_ended(endpoint)
    finally:
        endpoint.stop(grace_s=1.0)
    assert_bye_soon_after_goodbye(endpoint, handlers)


def test_phone_that_stays_on_the_line_is_hung_up_after_the_goodbye(
    tmp_path: Path, voice: Voice, peers: list
) -> None:
    endpoint, handlers = goodbye_agent(tmp_path, voice)
    try:
        # the phone would stay 30 s (aufile ends its call at the end of the file)
        source = voice.caller_wav("Hello?", "stays", tail_s=30.0)
        phone = Baresip(tmp_path / "baresip", CALLER_SIP, CALLER_CTRL, source)
        peers.append(phone)
        started = time.monotonic()
        phone.dial(f"sip:agent@127.0.0.1:{AGENT_PORT}")
        phone.wait_event("CALL_ESTABLISHED", 15)
        phone.wait_event("CALL_CLOSED", 20)
        assert time.monotonic() - started < 15, "the agent, not the phone, ended the call"
        wait_ended(endpoint)
    finally:
        endpoint.stop(grace_s=1.0)
    assert_bye_soon_after_goodbye(endpoint, handlers)
