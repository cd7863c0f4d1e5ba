"""The table of live calls: every answered caller's session and every pjsua2 leg, until it ends.

Sessions and legs are kept by a key of the table's own: pjsua reuses a call slot (leg id) as
soon as a call is disconnected, possibly before the SIP thread has handled that leg's events.
Ending a call (:meth:`LiveCalls.end`) is done here, once, in one order: the transfer, the
media, the pump, the leg, the port, the recorder, then the wire record. Everything here runs
on the SIP thread.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable

from voiceagent.channels.sip.call import CallerSession, Leg
from voiceagent.channels.sip.media_port import PortPool
from voiceagent.channels.sip.records import CallRecords
from voiceagent.channels.sip.transfer import Transfers

# The call's handler keeps endpointing.max_call_s (the speech session says goodbye then, see
# speech/limits.py); a call still up this much later (a handler that keeps no limit, a wedged
# one) is hung up here, so no call outlives its limit by more than this.
CALL_LIMIT_BACKSTOP_S = 15.0


class LiveCalls:
    """Answered callers (``sessions``) and every leg, callers' and staff's (``legs``).

    ``release`` frees pjsua2 objects later (the SIP loop's delay); ``forget_dialog`` tells the
    request screen that a call's SIP dialog is over.
    """

    def __init__(self, transfers: Transfers, ports: PortPool, records: CallRecords,
                 release: Callable[..., None], forget_dialog: Callable[[str], None],
                 max_call_s: float) -> None:
        self.transfers = transfers
        self.ports = ports
        self.records = records
        self._release = release
        self._forget_dialog = forget_dialog
        self.max_call_s = max_call_s
        self.sessions: dict[int, CallerSession] = {}
        self.legs: dict[int, Leg] = {}
        self._keys = itertools.count(1)

    def __len__(self) -> int:
        """The number of answered callers still here."""
        return len(self.sessions)

    def add_leg(self, leg: Leg) -> int:
        """Keep ``leg`` until it is disconnected; returns its key."""
        key = next(self._keys)
        self.legs[key] = leg
        return key

    def add_session(self, session: CallerSession) -> None:
        self.sessions[session.key] = session

    def session_of(self, leg: Leg) -> CallerSession | None:
        """The caller whose own leg ``leg`` is."""
        for session in self.sessions.values():
            if session.leg is leg:
                return session
        return None

    def staff_session_of(self, leg: Leg) -> CallerSession | None:
        """The caller whose warm transfer dialled ``leg``."""
        for session in self.sessions.values():
            if session.transfer is not None and session.transfer.staff is leg:
                return session
        return None

    def forget_leg(self, leg: Leg) -> None:
        """A leg that is gone: drop it from the table, free it later."""
        for key, value in list(self.legs.items()):
            if value is leg:
                del self.legs[key]
        self._release(leg)

    def all_gone(self) -> bool:
        """No caller left and every leg (staff ones too) disconnected."""
        return not self.sessions and all(leg.disconnected for leg in self.legs.values())

    def hang_up_all(self, reason: str) -> None:
        for session in list(self.sessions.values()):
            session.hang_up(reason)
        for leg in list(self.legs.values()):
            leg.hangup_quietly()

    def end(self, session: CallerSession, outcome: str) -> None:
        """The caller's leg is gone (or the endpoint is going): let everything of the call go."""
        if session.ended:
            return
        session.ended = True
        record = session.record
        if record.outcome == "in_progress":
            record.outcome = outcome
        record.reply_latency_s = list(session.exchange.meter.latencies_s)
        self._release(self.transfers.end(session))
        session.disconnect_media()
        if session.pump is not None:
            session.pump.stop(record.outcome, timeout=0)  # it closes the handler on its own
        self.sessions.pop(session.key, None)
        self._forget_dialog(session.info.sip_call_id)
        self.forget_leg(session.leg)
        self.ports.give_back(session.port)
        self._release(session.recorder)
        session.note("sip.call_ended", outcome=record.outcome,
                     duration_s=round(time.monotonic() - session.answered_at, 1),
                     reply_latency_s=record.reply_latency_s)
        session.drop_pjsua_objects()
        self.records.close(record, record.outcome)

    def end_all(self, outcome: str) -> None:
        """The SIP thread is leaving: end every call still here, forget every leg."""
        for session in list(self.sessions.values()):
            self.end(session, outcome)
        self.legs.clear()
        self.sessions.clear()

    def tick(self, now: float) -> None:
        """From the SIP loop: a call past its length limit and the backstop is hung up; the
        others' transfers move on."""
        backstop_s = self.max_call_s + CALL_LIMIT_BACKSTOP_S
        for session in list(self.sessions.values()):
            if session.ended:
                continue
            if now - session.answered_at > backstop_s and session.hangup_requested is None:
                session.note("sip.max_duration_reached", level=logging.WARNING)
                session.record.outcome = "max_duration"
                session.hang_up("max_duration")
                continue
            self.transfers.tick(session, now)
