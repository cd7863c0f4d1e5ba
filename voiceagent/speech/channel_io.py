"""What a call session needs to know about, and ask of, the channel carrying the call."""

from __future__ import annotations

from typing import Protocol

from voiceagent.dialog.protocol import Transfer


class ChannelIO(Protocol):
    """What the session needs to know about, and ask of, the channel carrying the call."""

    channel: str  # 'sip', 'local', 'file'
    rate: int  # PCM rate of the frames fed and read: 8000 or 16000
    caller_id: str | None
    recording_path: str | None  # where the channel records the call, if it does
    call_id: str | None  # the id the channel already gave the call (SIP), or None

    def end_call(self, reason: str) -> None:
        """Hang up (called after the last agent audio has been read)."""
        ...

    def transfer(self, request: Transfer) -> None:
        """Hand the call to a person: warm (ring them, speak ``request.summary``, connect) or
        blind (``request.warm`` False: send the caller there at once). A channel that can
        tell whether anyone picked up sets ``reports_transfer_result`` and calls
        :meth:`CallSession.transfer_result`; for the others the call ends at once as
        transferred."""
        ...
