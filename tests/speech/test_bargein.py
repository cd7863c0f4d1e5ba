"""Caller speech over the agent interrupts only when long and loud enough."""

from __future__ import annotations

import numpy as np
import pytest

from voiceagent.speech.bargein import BargeInCandidate, Verdict

pytestmark = pytest.mark.unit

FRAME_MS = 20


def frame(amplitude: int) -> bytes:
    return (np.ones(160, dtype="<i2") * amplitude).tobytes()


def test_loud_speech_interrupts_once_it_lasted_long_enough():
    cand = BargeInCandidate.starting([frame(8000)] * 5, 100, FRAME_MS, -50.0)
    assert cand.verdict(300) is Verdict.WAIT
    for _ in range(10):
        cand.add(frame(8000), speech=True)
    assert cand.verdict(300) is Verdict.INTERRUPT
    assert len(cand.frames) == 15  # kept for the STT


def test_quiet_speech_never_interrupts():
    cand = BargeInCandidate.starting([frame(3)] * 5, 100, FRAME_MS, -50.0)
    for _ in range(20):
        cand.add(frame(3), speech=True)
    assert cand.verdict(300) is Verdict.QUIET
