"""The SIP channel's wire records: the one place that opens, keeps and closes them.

The store's record of an answered call (its row in the CallLog, turns, tool calls) is owned by
the call's handler (the speech session); the endpoint keeps only the wire record, a
:class:`CallRecord` opened when the call is answered and closed once, when it ends, then handed
to ``on_call_ended``. A call the agent turned away (busy, overflow, store down, stopping) has no
handler: its record is handed to ``on_call_refused`` off the SIP thread, so a slow store never
holds up SIP.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from voiceagent.channels.sip.handler import CallRecord
from voiceagent.channels.sip.screen import Refusal
from voiceagent.logs import log_event

log = logging.getLogger(__name__)


class CallRecords:
    """Opens, keeps (the last ``kept``) and closes the endpoint's wire records."""

    def __init__(self, kept: int, on_call_ended: Callable[[CallRecord], None] | None,
                 on_call_refused: Callable[[CallRecord], None] | None) -> None:
        self.kept: deque[CallRecord] = deque(maxlen=kept)
        self._on_call_ended = on_call_ended
        self._on_call_refused = on_call_refused
        self._refusals: queue.Queue[CallRecord | None] = queue.Queue(maxsize=1000)
        self._writer: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread that writes refusals."""
        self._writer = threading.Thread(target=self._write_refusals, name="sip-refusals",
                                        daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """Write the refusals queued so far, then end the writer."""
        if self._writer is None:
            return
        self._refusals.put(None)
        self._writer.join(5.0)
        self._writer = None

    def open(self, caller_id: str, remote_address: str) -> CallRecord:
        """A call being answered (SIP thread)."""
        record = CallRecord(call_id=str(uuid.uuid4()), caller_id=caller_id,
                            remote_address=remote_address, started_at=datetime.now(UTC))
        self.kept.append(record)
        return record

    def close(self, record: CallRecord, outcome: str) -> None:
        """The call ended (SIP thread): stamp it and hand it on, once."""
        if record.ended_at is not None:
            return
        record.ended_at = datetime.now(UTC)
        if record.outcome == "in_progress":
            record.outcome = outcome
        if self._on_call_ended is not None:
            try:
                self._on_call_ended(record)
            except Exception:
                log_event(log, "sip.on_call_ended_failed", logging.ERROR, exc_info=True)

    def refused(self, refusal: Refusal) -> None:
        """A new call the gate turned away (SIP thread): kept now, handed to ``on_call_refused``
        by the writer thread."""
        now = datetime.now(UTC)
        record = CallRecord(call_id=str(uuid.uuid4()), caller_id=refusal.caller_id,
                            remote_address=refusal.source, started_at=now, ended_at=now,
                            outcome=refusal.outcome)
        self.kept.append(record)
        if self._on_call_refused is None:
            return
        try:
            self._refusals.put_nowait(record)
        except queue.Full:
            log_event(log, "sip.refusal_not_recorded", logging.WARNING, reason="queue_full")

    def _write_refusals(self) -> None:
        while True:
            record = self._refusals.get()
            if record is None:
                return
            try:
                if self._on_call_refused is not None:
                    self._on_call_refused(record)
            except Exception:
                log_event(log, "sip.refusal_not_recorded", logging.ERROR, exc_info=True)
