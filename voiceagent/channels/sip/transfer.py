"""Transfers to staff: blind (REFER) and warm (ring staff, speak the summary, connect).

The agent's only outgoing calls are made here, and only to a :class:`TransferTargets` URI.
A warm transfer connects the caller to staff in the agent's conference bridge (the agent
stays in the media path until either side hangs up), which works with every phone; a blind
transfer sends the caller a REFER and hangs up when the NOTIFY reports 200.

:class:`Transfers` runs every step on the SIP thread: a transfer the handler asks for, the
front-desk key, the transfer of live calls at shutdown, the staff leg's events, the REFER's
NOTIFYs and a tick from the SIP loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import pjsua2 as pj

from voiceagent.channels.sip.call import CallerSession, Leg
from voiceagent.channels.sip.handler import TransferOutcome
from voiceagent.channels.sip.leg_events import LegDisconnected, LegEvent, LegMedia
from voiceagent.channels.sip.media_port import FrameExchange, PcmPort, PortPool
from voiceagent.channels.sip.pump import TransferEvent
from voiceagent.channels.sip.security import TransferTargets
from voiceagent.logs import log_event
from voiceagent.speech.events import DtmfDigit

log = logging.getLogger(__name__)

# Final responses that mean "nobody picked up" rather than "this will never work".
NO_ANSWER_STATUSES = frozenset({408, 480, 486, 487, 600, 603})
SUMMARY_TAIL_S = 0.3  # pause after the summary before the caller is put through


class Phase(Enum):
    REFERRING = "referring"  # blind: REFER sent, waiting for the NOTIFY
    RINGING = "ringing"  # warm: staff leg ringing
    SUMMARY = "summary"  # warm: staff answered, hearing the summary
    BRIDGED = "bridged"  # warm: caller and staff talk through the bridge
    DONE = "done"


@dataclass
class TransferState:
    """One transfer in progress; owned by the caller's session, touched on the SIP thread."""

    target: str
    uri: str
    warm: bool
    summary_pcm: bytes
    deadline: float
    phase: Phase
    staff: Leg | None = None
    staff_exchange: FrameExchange | None = None
    staff_port: PcmPort | None = None
    summary_started: bool = False
    started: float = field(default_factory=time.monotonic)

    def expired(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self.phase in (Phase.REFERRING, Phase.RINGING) and now > self.deadline


def outcome_for_status(status: int) -> TransferOutcome:
    """How a failed leg's final status reads to the handler."""
    if status in NO_ANSWER_STATUSES or status == 0:
        return TransferOutcome.NO_ANSWER
    return TransferOutcome.FAILED


class Transfers:
    """Starts, follows and ends the transfers of the endpoint's callers (SIP thread only).

    ``dial`` places the staff leg's call (the endpoint owns the account). The table of live
    calls (``calls.py``) keeps every leg, and lets a staff leg that ended go before its event
    reaches :meth:`on_staff_event`.
    """

    def __init__(self, targets: TransferTargets, ports: PortPool, sample_rate: int,
                 ring_timeout_s: float, refer_timeout_s: float, front_desk_target: str,
                 front_desk_digit: str | None, dial: Callable[[str], Leg]) -> None:
        self.targets = targets
        self.ports = ports
        self.sample_rate = sample_rate
        self.ring_timeout_s = ring_timeout_s
        self.refer_timeout_s = refer_timeout_s
        self.front_desk_target = front_desk_target
        self.front_desk_digit = front_desk_digit
        self._dial = dial

    def on_key(self, session: CallerSession, key: DtmfDigit) -> None:
        """The caller pressed a key: the front-desk key (0) puts them through to the front desk
        (blind), unless the call's dialog reads the keypad itself (in a member ID 0 is a
        digit; that dialog decides what 0 means)."""
        if key.digit == self.front_desk_digit and not _dialog_takes_keys(session):
            self.to_front_desk(session)

    def to_front_desk(self, session: CallerSession) -> None:
        """Blind-transfer the caller to the front desk, when one is configured (no refusal
        reaches the handler when none is: the caller asked nothing of it)."""
        if self.targets.resolve(self.front_desk_target):
            self.start(session, self.front_desk_target, b"", False)

    def start(self, session: CallerSession, target: str, summary: bytes, warm: bool) -> None:
        """Transfer the caller to ``target`` (a configured name or URI); one at a time."""
        if session.ended or session.pump is None:
            return
        if session.transfer is not None and session.transfer.phase is not Phase.DONE:
            return
        uri = self.targets.resolve(target)
        session.record.transfer_target = target
        if uri is None:
            log_event(log, "sip.transfer_refused", logging.WARNING, call_id=session.info.call_id,
                      reason="not_a_configured_target")
            session.record.transfer_outcome = TransferOutcome.REFUSED.value
            session.pump.post(TransferEvent(TransferOutcome.REFUSED))
            return
        now = time.monotonic()
        if not warm:
            session.transfer = TransferState(target, uri, False, b"", now + self.refer_timeout_s,
                                             Phase.REFERRING)
            try:
                session.leg.xfer(uri, pj.CallOpParam(True))
            except pj.Error:
                self.failed(session, TransferOutcome.FAILED)
                return
            session.note("sip.transfer_started", kind="blind", target=target)
            return
        state = TransferState(target, uri, True, summary, now + self.ring_timeout_s,
                              Phase.RINGING)
        session.transfer = state
        try:
            state.staff = self._dial(uri)
        except pj.Error:
            self.failed(session, TransferOutcome.FAILED)
            return
        session.note("sip.transfer_started", kind="warm", target=target)

    def on_refer_status(self, session: CallerSession, status: int) -> None:
        """A NOTIFY about a blind transfer's REFER."""
        state = session.transfer
        if state is None or state.phase is not Phase.REFERRING:
            return
        if 200 <= status < 300:
            state.phase = Phase.DONE
            session.record.outcome = "transferred"
            session.record.transfer_outcome = TransferOutcome.CONNECTED.value
            session.note("sip.transfer_connected", kind="blind")
            session.hang_up("transferred")
        elif status >= 300:
            self.failed(session, outcome_for_status(status))

    def failed(self, session: CallerSession, outcome: TransferOutcome) -> None:
        """Nobody took the call: the caller is back with the agent."""
        state = session.transfer
        if state is not None:
            if state.staff is not None:
                state.staff.hangup_quietly()
            state.phase = Phase.DONE
        session.record.transfer_outcome = outcome.value
        session.note("sip.transfer_failed", outcome=outcome.value)
        if session.pump is not None:
            session.pump.unmute()
            session.pump.post(TransferEvent(outcome))

    def on_staff_event(self, session: CallerSession, leg: Leg, event: LegEvent) -> None:
        """What the staff leg of ``session``'s warm transfer reported."""
        state = session.transfer
        assert state is not None
        if isinstance(event, LegMedia) and state.phase is Phase.RINGING and leg.audio is not None:
            state.phase = Phase.SUMMARY
            state.staff_exchange = FrameExchange(session.info.frame_bytes)
            state.staff_port = self.ports.take(state.staff_exchange,
                                               session.info.call_id + "-staff")
            leg.audio.startTransmit(state.staff_port)
            state.staff_port.startTransmit(leg.audio)
            tail = bytes(int(self.sample_rate * SUMMARY_TAIL_S) * 2)
            assert session.pump is not None
            session.pump.feed(state.staff_exchange, state.summary_pcm + tail)
            state.summary_started = True
            session.note("sip.transfer_staff_answered")
        elif isinstance(event, LegDisconnected):
            if state.phase in (Phase.RINGING, Phase.SUMMARY):
                self.failed(session, outcome_for_status(event.status))
            elif state.phase is Phase.BRIDGED:
                state.phase = Phase.DONE
                session.hang_up("transferred")
            self.ports.give_back(state.staff_port)  # its connections went with the leg
            state.staff_port = None

    def tick(self, session: CallerSession, now: float) -> None:
        """From the SIP loop: a transfer nobody answered fails; a summary heard connects."""
        state = session.transfer
        if state is None:
            return
        if state.expired(now):
            self.failed(session, TransferOutcome.NO_ANSWER if state.phase is Phase.RINGING
                        else TransferOutcome.FAILED)
        elif (state.phase is Phase.SUMMARY and state.staff_exchange is not None
              and session.pump is not None
              and not session.pump.feed_pending(state.staff_exchange)):
            self._bridge(session)

    def end(self, session: CallerSession) -> Leg | None:
        """The caller's call ended: hang up staff; returns the staff leg for release."""
        state = session.transfer
        if state is None:
            return None
        staff = state.staff
        if staff is not None:
            staff.hangup_quietly()
        self.ports.give_back(state.staff_port)
        state.staff_port = None
        state.phase = Phase.DONE
        return staff

    def _bridge(self, session: CallerSession) -> None:
        """Put the caller through to staff: their audio meets in the conference bridge."""
        state = session.transfer
        assert state is not None and state.staff is not None and state.staff.audio is not None
        caller_audio = session.leg.audio
        staff_audio = state.staff.audio
        assert caller_audio is not None and session.pump is not None
        session.pump.mute()
        for src, dst in ((session.port, caller_audio), (state.staff_port, staff_audio)):
            if src is not None:
                try:
                    src.stopTransmit(dst)
                except pj.Error:
                    pass
        caller_audio.startTransmit(staff_audio)
        staff_audio.startTransmit(caller_audio)
        if session.recorder is not None:
            staff_audio.startTransmit(session.recorder)
        state.phase = Phase.BRIDGED
        session.record.outcome = "transferred"
        session.record.transfer_outcome = TransferOutcome.CONNECTED.value
        session.pump.post(TransferEvent(TransferOutcome.CONNECTED))
        session.note("sip.transfer_connected", kind="warm")


def _dialog_takes_keys(session: CallerSession) -> bool:
    """The call's handler hands key presses to a dialog that reads the keypad."""
    handler = session.pump.handler if session.pump is not None else None
    return bool(getattr(handler, "keys_reach_dialog", False))
