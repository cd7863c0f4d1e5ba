"""Call limits on media time: reprompts after silence, goodbye after too many or at max_call_s."""

from __future__ import annotations

import pytest

from voiceagent.config.pipeline import EndpointingConfig
from voiceagent.speech.limits import CallLimits, LimitAction

pytestmark = pytest.mark.unit


def limits(**cfg: float) -> CallLimits:
    return CallLimits(EndpointingConfig(**cfg))  # type: ignore[arg-type]


def test_silence_reprompts_then_ends_the_call_after_the_last_reprompt():
    lim = limits(reprompt_after_s=5, hangup_after_reprompts=2, max_call_s=600)
    assert lim.check(4_999, quiet=True) is LimitAction.NONE
    assert lim.check(5_000, quiet=True) is LimitAction.REPROMPT
    assert lim.check(10_000, quiet=True) is LimitAction.REPROMPT
    assert lim.silences == 2
    assert lim.check(15_000, quiet=True) is LimitAction.END_SILENT
    assert lim.check(99_000, quiet=True) is LimitAction.NONE  # ended once


def test_an_answer_starts_the_count_again_and_work_postpones_the_reprompt():
    lim = limits(reprompt_after_s=5, hangup_after_reprompts=1, max_call_s=600)
    assert lim.check(5_000, quiet=True) is LimitAction.REPROMPT
    lim.caller_answered(6_000)
    assert lim.silences == 0
    assert lim.check(10_000, quiet=True) is LimitAction.NONE
    lim.activity(10_500)  # the agent was talking
    assert lim.check(15_000, quiet=True) is LimitAction.NONE
    assert lim.check(15_500, quiet=True) is LimitAction.REPROMPT


def test_the_call_ends_at_max_call_length_even_mid_conversation():
    lim = limits(reprompt_after_s=5, max_call_s=60)
    assert lim.check(59_999, quiet=False) is LimitAction.NONE
    assert lim.check(60_000, quiet=False) is LimitAction.END_MAX_LENGTH
