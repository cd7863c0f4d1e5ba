"""Answering a call the endpoint admitted: its CallInfo, wire record and recording file, its
handler (from the factory) and pump, then the 200 OK (SIP thread)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

import pjsua2 as pj

from voiceagent.channels.sip.call import CallerSession, Leg
from voiceagent.channels.sip.calls import LiveCalls
from voiceagent.channels.sip.control import SipCallControl
from voiceagent.channels.sip.handler import CallInfo, HandlerFactory
from voiceagent.channels.sip.loop import SipLoop
from voiceagent.channels.sip.options import SipOptions
from voiceagent.channels.sip.pump import CallPump
from voiceagent.channels.sip.transfer import Transfers
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.logs import log_event

log = logging.getLogger(__name__)


class Answerer:
    """Turns an admitted leg into a live call with a handler, and answers it."""

    def __init__(self, config: PipelineConfig, options: SipOptions, factory: HandlerFactory,
                 calls: LiveCalls, transfers: Transfers, loop: SipLoop,
                 sample_rate: int, frame_ms: int) -> None:
        self.config = config
        self.options = options
        self.factory = factory
        self.calls = calls
        self.transfers = transfers
        self.loop = loop
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms

    def answer(self, leg: Leg, key: int, source: str) -> None:
        """Answer ``leg`` (kept by the live calls under ``key``), a call from ``source``."""
        info = leg.getInfo()
        record = self.calls.records.open(info.remoteUri, source)
        call_id = record.call_id
        record_path = self._recording_path(call_id)
        call_info = CallInfo(
            call_id=call_id, sip_call_id=info.callIdString, caller_id=info.remoteUri,
            remote_address=source, dialed=info.localUri, sample_rate=self.sample_rate,
            frame_ms=self.frame_ms, started_at=record.started_at, recording_path=record_path,
        )
        session = CallerSession(leg, key, call_info, record, self.calls.ports)
        self.calls.add_session(session)
        try:
            control = SipCallControl(session, self.loop.post, self.transfers.start)
            handler = self.factory(call_info, control)
            prelude = b""
            if record_path is not None and self.options.render_speech is not None:
                prelude = self.options.render_speech(self.options.recording_notice,
                                                     self.sample_rate)
            session.pump = CallPump(
                call_id, session.exchange, handler,
                on_drained_hangup=self._hangup_later(session),
                prelude_pcm=prelude,
            )
            op = pj.CallOpParam(True)
            op.statusCode = 200
            leg.answer(op)
        except Exception:
            log_event(log, "sip.answer_failed", logging.ERROR, call_id=call_id, exc_info=True)
            record.outcome = "error"
            leg.hangup_quietly(500)
            return
        session.note("sip.call_answered", source=source)

    def _recording_path(self, call_id: str) -> str | None:
        """Where the call's WAV goes when ``sip.record_calls`` is on."""
        if not self.config.sip.record_calls:
            return None
        record_dir = self.options.recordings_dir or (self.config.data_dir / "recordings")
        record_dir.mkdir(parents=True, exist_ok=True)
        return str(record_dir / f"{call_id}.wav")

    def _hangup_later(self, session: CallerSession) -> Callable[[str], None]:
        """The pump's hang-up (its thread): a command for the SIP thread."""
        ref = weakref.ref(session)  # the pump must not keep the session (and its Call) alive

        def hangup(reason: str) -> None:
            def command() -> None:
                target = ref()
                if target is not None:
                    target.hang_up(reason)

            self.loop.post(command)

        return hangup
