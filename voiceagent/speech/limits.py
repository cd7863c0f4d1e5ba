"""The limits of a call: how long it may last, and how long the caller may stay silent.

Media time drives both (so a virtual-clock channel behaves like a real one): after
``reprompt_after_s`` with nobody talking and nothing being worked on, the dialog asks again;
after ``hangup_after_reprompts`` such prompts, or at ``max_call_s``, the call ends politely.
"""

from __future__ import annotations

from enum import Enum

from voiceagent.config.pipeline import EndpointingConfig


class LimitAction(Enum):
    NONE = "none"
    REPROMPT = "reprompt"  # ask the caller again (``CallLimits.silences`` times in a row)
    END_SILENT = "caller_silent"  # say goodbye: the caller is gone
    END_MAX_LENGTH = "max_call_length"  # say goodbye: the call reached ``max_call_s``


class CallLimits:
    """Decides, frame by frame, whether a limit was reached."""

    def __init__(self, cfg: EndpointingConfig) -> None:
        self.max_call_ms = cfg.max_call_s * 1000
        self.reprompt_after_ms = cfg.reprompt_after_s * 1000
        self.hangup_after_reprompts = cfg.hangup_after_reprompts
        self.silences = 0  # reprompts in a row without an answer
        self._last_activity_ms = 0.0
        self._ended = False

    def activity(self, now_ms: float) -> None:
        """Someone spoke or the agent worked: the silence starts again."""
        self._last_activity_ms = now_ms

    def caller_answered(self, now_ms: float) -> None:
        """The caller took a turn (speech or keys): reprompts start counting again."""
        self._last_activity_ms = now_ms
        self.silences = 0

    def check(self, now_ms: float, quiet: bool) -> LimitAction:
        """``quiet``: nobody talking and nothing queued or computing for the agent."""
        if self._ended:
            return LimitAction.NONE
        if now_ms >= self.max_call_ms:
            self._ended = True
            return LimitAction.END_MAX_LENGTH
        if not quiet:
            return LimitAction.NONE
        if now_ms - self._last_activity_ms < self.reprompt_after_ms:
            return LimitAction.NONE
        self._last_activity_ms = now_ms
        self.silences += 1
        if self.silences > self.hangup_after_reprompts:
            self._ended = True
            return LimitAction.END_SILENT
        return LimitAction.REPROMPT
