"""The speech pipeline on a SIP call: a :class:`CallSession` behind the CallHandler seam.

``speech_handler_factory`` is what ``voiceagent serve`` hands the endpoint::

    resources = load_resources(config)             # models, once per process
    factory = speech_handler_factory(resources, lambda: MinimalDialog(resources.llm),
                                     call_log, config)
    endpoint = SipEndpoint(config, factory, SipOptions(...))

Every call gets its own session and dialog (its own conversation state); the models are
shared. The session's :class:`~voiceagent.speech.callrecord.CallRecorder` is the one writer
of the call's record in ``call_log``, under the id the endpoint gave the call (so its wire
record, its recording and its store row share one id); the endpoint keeps only the wire
record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from voiceagent.channels.sip.handler import (
    CallControl,
    CallInfo,
    HandlerFactory,
    TransferOutcome,
)
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.calllog import CallLog
from voiceagent.dialog.protocol import Dialog, Transfer
from voiceagent.logs import log_event
from voiceagent.speech.events import DtmfDigit
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.session import CallSession, SessionOptions
from voiceagent.speech.tts import synthesize_at

log = logging.getLogger(__name__)


class SpeechCallHandler:
    """Feeds the caller's frames to a CallSession and plays what it says; it is also the
    session's ChannelIO (hang up, transfer)."""

    channel = "sip"
    reports_transfer_result = True  # on_transfer tells the session who picked up
    keys_reach_dialog = True  # key 0 goes to the dialog, not to the front desk (Transfers.on_key)

    def __init__(
        self,
        info: CallInfo,
        control: CallControl,
        resources: PipelineResources,
        dialog: Dialog,
        call_log: CallLog,
        config: PipelineConfig,
        options: SessionOptions | None = None,
    ) -> None:
        self.info = info
        self.control = control
        self.resources = resources
        self.rate = info.sample_rate
        self.caller_id: str | None = info.caller_id
        self.call_id: str | None = info.call_id
        self.recording_path = info.recording_path
        self.transfer_outcomes: list[TransferOutcome] = []
        self._connected_elsewhere = False
        self._closed = threading.Event()
        self.session = CallSession(resources, dialog, self, call_log, config, options)
        self.session.start()

    # ChannelIO (called by the session's worker threads) ----------------------------------
    def end_call(self, reason: str) -> None:
        self.control.hangup(reason)

    def transfer(self, request: Transfer) -> None:
        pcm = b""
        if request.warm and request.summary:  # what staff hear before the caller is put through
            audio = synthesize_at(self.resources.tts, request.summary, self.rate)
            pcm = np.asarray(audio, dtype="<i2").tobytes()
        self.control.transfer(request.target, pcm, warm=request.warm)

    # CallHandler (called by the call's pump thread) ---------------------------------------
    def push_frame(self, pcm: bytes) -> None:
        if not self._connected_elsewhere:
            self.session.feed(pcm)

    def pull_frame(self) -> bytes | None:
        if self._connected_elsewhere:
            return None
        return self.session.read()

    def on_dtmf(self, key: DtmfDigit) -> None:
        # caller input like speech: the dialog reads keyed dates and IDs, a key to confirm,
        # and 0 for the front desk (where 0 is not a digit of an ID being keyed in)
        self.session.key(key)

    def on_transfer(self, outcome: TransferOutcome) -> None:
        self.transfer_outcomes.append(outcome)
        log_event(log, "sip.speech.transfer_result", call_id=self.session.call_id,
                  outcome=outcome.value)
        if outcome is TransferOutcome.CONNECTED:
            # the caller now talks to staff: their words must not reach the STT or the record
            self._connected_elsewhere = True
        self.session.transfer_result(connected=outcome is TransferOutcome.CONNECTED)

    def close(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        if not self.session.ended.is_set():
            self.session.hangup()
        self.session.close()


def speech_handler_factory(
    resources: PipelineResources,
    dialog_factory: Callable[[], Dialog],
    call_log: CallLog,
    config: PipelineConfig,
    options: SessionOptions | None = None,
    on_handler: Callable[[SpeechCallHandler], None] | None = None,
) -> HandlerFactory:
    """A HandlerFactory that gives each call a new dialog and a speech session."""

    def factory(info: CallInfo, control: CallControl) -> SpeechCallHandler:
        handler = SpeechCallHandler(info, control, resources, dialog_factory(), call_log,
                                    config, options)
        if on_handler is not None:
            on_handler(handler)
        return handler

    return factory
