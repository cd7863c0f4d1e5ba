"""One pjsua2 call leg (a caller's, or the staff leg of a warm transfer), and the session of an
answered caller (its leg, port, pump, recorder, transfer). Every method here runs on the SIP
thread; pjsua2 callbacks only report what happened and leave the work to the SIP loop."""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pjsua2 as pj

from voiceagent.channels.sip.handler import CallInfo, CallRecord
from voiceagent.channels.sip.leg_events import (
    LegConfirmed,
    LegDisconnected,
    LegEvent,
    LegMedia,
    ReferStatus,
)
from voiceagent.channels.sip.media_port import FrameExchange, PcmPort, PortPool
from voiceagent.channels.sip.pjthreads import register_this_thread
from voiceagent.channels.sip.pump import CallPump
from voiceagent.logs import log_event
from voiceagent.speech.events import KEYS, DtmfDigit, DtmfMethod

if TYPE_CHECKING:
    from voiceagent.channels.sip.transfer import TransferState

log = logging.getLogger(__name__)

# pjsua2's Call keeps its pjsua slot in ``id`` (after the vtable and ``Account &acc``, 2.15.1)
# and its destructor hangs up whatever call holds that slot then. pjsua hands a slot to the
# next INVITE as soon as a call is disconnected, so a Leg freed later (it is, see
# RELEASE_DELAY_S) used to hang up and orphan a newer caller: the back-to-back-calls wedge.
_CALL_ID_OFFSET = 16
_DTMF_METHODS = {pj.PJSUA_DTMF_METHOD_RFC2833: DtmfMethod.RFC2833,
                 pj.PJSUA_DTMF_METHOD_SIP_INFO: DtmfMethod.SIP_INFO}


def _detach_from_slot(leg: pj.Call, slot: int) -> bool:
    """Make a disconnected pjsua2 Call forget its slot, so its destructor touches nothing."""
    field = ctypes.c_int.from_address(int(leg.this) + _CALL_ID_OFFSET)
    if field.value != slot:
        return False
    field.value = pj.PJSUA_INVALID_ID
    return True


class Leg(pj.Call):
    """A pjsua2 call whose callbacks report typed :data:`LegEvent` values to ``on_event``
    (which queues them for the SIP thread).

    Holds the audio media objects it connects, so that none is collected mid-call.
    """

    def __init__(self, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID,
                 on_event: Callable[[Leg, LegEvent], None] | None = None) -> None:
        super().__init__(account, call_id)
        self.on_event = on_event
        self.audio: pj.AudioMedia | None = None
        self.connected_at: float | None = None
        self.disconnected = False  # then pjsua2 must not be asked anything about this leg
        self.last_status = 0
        self.slot = call_id

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        info = self.getInfo()
        self.last_status = info.lastStatusCode
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.connected_at is None:
            self.connected_at = time.monotonic()
            self._emit(LegConfirmed(info.lastStatusCode))
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True
            self.slot = self.getId()
            if not _detach_from_slot(self, self.slot):
                log_event(log, "sip.leg_detach_failed", logging.ERROR, slot=self.slot)
            self._emit(LegDisconnected(info.lastStatusCode))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if (media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE):
                if self.audio is None:
                    self.audio = self.getAudioMedia(index)
                    self._emit(LegMedia(index))
                break

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        # RFC 2833 telephone-events and SIP INFO (application/dtmf-relay) both land here
        digit = str(prm.digit).upper()
        if digit in KEYS:
            self._emit(DtmfDigit(digit, _DTMF_METHODS.get(prm.method, DtmfMethod.OTHER)))

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802
        self._emit(ReferStatus(prm.statusCode, bool(prm.finalNotify)))
        if prm.finalNotify or prm.statusCode >= 200:
            prm.cont = False

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:  # noqa: N802
        prm.statusCode = 603  # a caller must not make the agent dial anywhere (toll fraud)

    def onCallReplaceRequest(self, prm: pj.OnCallReplaceRequestParam) -> None:  # noqa: N802
        prm.statusCode = 603

    def __del__(self) -> None:
        register_this_thread()

    def _emit(self, event: LegEvent) -> None:
        if self.on_event is not None:
            self.on_event(self, event)

    def hangup_quietly(self, status: int = 200) -> None:
        if self.disconnected:
            return
        op = pj.CallOpParam(True)
        op.statusCode = status
        try:
            self.hangup(op)
        except pj.Error:
            pass  # already gone


class CallerSession:
    """Everything that belongs to one answered caller, held until the call is released."""

    def __init__(self, leg: Leg, key: int, info: CallInfo, record: CallRecord,
                 ports: PortPool) -> None:
        self.leg = leg
        self.key = key  # the live-call table's own key (pjsua reuses call slots at once)
        self.info = info
        self.record = record
        self.exchange = FrameExchange(info.frame_bytes)
        self.port: PcmPort = ports.take(self.exchange, info.call_id)
        self.pump: CallPump | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self.transfer: TransferState | None = None
        self.answered_at = time.monotonic()
        self.media_connected = False
        self.ended = False
        self.hangup_requested: str | None = None

    def connect_media(self, record_path: str | None) -> None:
        """Wire caller audio <-> port, and both into the recorder when recording."""
        audio = self.leg.audio
        assert audio is not None
        audio.startTransmit(self.port)
        self.port.startTransmit(audio)
        if record_path:
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(record_path)
            audio.startTransmit(self.recorder)
            self.port.startTransmit(self.recorder)
            self.record.recording_path = record_path
        self.media_connected = True

    def hang_up(self, reason: str) -> None:
        """End the call (and the staff leg of its transfer); the legs' disconnect events end
        the session, with ``reason`` as its outcome."""
        if self.ended:
            return
        self.hangup_requested = reason
        self.leg.hangup_quietly()
        if self.transfer is not None and self.transfer.staff is not None:
            self.transfer.staff.hangup_quietly()

    def send_dtmf(self, digits: str) -> None:
        """Send RFC 2833 keys to the caller."""
        if self.ended:
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        try:
            self.leg.sendDtmf(prm)
        except pj.Error:
            self.note("sip.dtmf_send_failed", logging.WARNING)

    def on_dtmf(self, key: DtmfDigit) -> None:
        self.record.dtmf += key.digit
        if self.pump is not None:
            self.pump.post(key)

    def disconnect_media(self) -> None:
        """Stop every transmission this call started (before the objects are released).

        Once the leg is disconnected pjsua has removed the call's conference port, and its
        connections with it; its slot number may already belong to the next call, so only
        this session's own port is disconnected then."""
        audio = None if self.leg.disconnected else self.leg.audio
        for src, dst in ((audio, self.port), (self.port, audio), (audio, self.recorder),
                         (self.port, self.recorder)):
            if src is None or dst is None:
                continue
            try:
                src.stopTransmit(dst)
            except pj.Error:
                pass

    def drop_pjsua_objects(self) -> None:
        """Forget every pjsua2 object (the SIP loop holds them until they may be freed), so
        that collecting this session, on whatever thread, never runs a pjsua2 destructor."""
        self.leg = None  # type: ignore[assignment]
        self.port = None  # type: ignore[assignment]
        self.recorder = None
        if self.transfer is not None:
            self.transfer.staff = None
            self.transfer.staff_port = None

    def note(self, event: str, level: int = logging.INFO, **fields: object) -> None:
        log_event(log, event, level, call_id=self.info.call_id, **fields)
