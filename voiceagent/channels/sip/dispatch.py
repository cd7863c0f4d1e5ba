"""What each event of a call leg does (on the SIP thread, from the SIP loop's queue).

A caller's leg: media up connects the call's port (and recorder) and starts its pump; a key
goes to the handler, and to the transfers (the front-desk key); a REFER's NOTIFY goes to the
transfers; the leg gone ends the call. A warm transfer's staff leg: its events go to the
transfers. Any other leg that is gone is let go.
"""

from __future__ import annotations

import logging

from voiceagent.channels.sip.call import CallerSession, Leg
from voiceagent.channels.sip.calls import LiveCalls
from voiceagent.channels.sip.leg_events import (
    LegConfirmed,
    LegDisconnected,
    LegEvent,
    LegMedia,
    ReferStatus,
)
from voiceagent.channels.sip.transfer import Transfers
from voiceagent.logs import log_event
from voiceagent.speech.events import DtmfDigit

log = logging.getLogger(__name__)


class LegDispatch:
    """Hands each leg event to the part of the endpoint it concerns."""

    def __init__(self, calls: LiveCalls, transfers: Transfers) -> None:
        self.calls = calls
        self.transfers = transfers

    def __call__(self, leg: Leg, event: LegEvent) -> None:
        session = self.calls.session_of(leg)
        if session is None:
            self._other_leg(leg, event)
        else:
            self._caller_leg(session, event)

    def _caller_leg(self, session: CallerSession, event: LegEvent) -> None:
        match event:
            case LegMedia() if not session.media_connected:
                session.connect_media(session.info.recording_path)
                if session.pump is not None:
                    session.pump.start()
            case DtmfDigit():
                session.on_dtmf(event)
                log_event(log, "sip.dtmf", call_id=session.info.call_id,
                          method=event.method.value)
                self.transfers.on_key(session, event)
            case ReferStatus(status=status):
                self.transfers.on_refer_status(session, status)
            case LegDisconnected():
                self.calls.end(session, "caller_hung_up" if session.hangup_requested is None
                               else session.hangup_requested)
            case LegMedia() | LegConfirmed():
                pass  # media already connected; the answer's ACK needs nothing

    def _other_leg(self, leg: Leg, event: LegEvent) -> None:
        staff_of = self.calls.staff_session_of(leg)
        if isinstance(event, LegDisconnected):
            self.calls.forget_leg(leg)
        if staff_of is not None:
            self.transfers.on_staff_event(staff_of, leg, event)
