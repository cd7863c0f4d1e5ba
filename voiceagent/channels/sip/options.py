"""What an endpoint is told beyond ``pipeline.yaml``'s ``sip`` section (by ``serve``, tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from voiceagent.channels.sip.handler import CallRecord


@dataclass
class SipOptions:
    """Runtime settings that are not (yet) in ``pipeline.yaml``'s ``sip`` section."""

    transfer_targets: Mapping[str, str] = field(default_factory=dict)
    front_desk_target: str = "front_desk"
    front_desk_digit: str | None = "0"  # pressed at any time: blind transfer to the front desk
    ring_timeout_s: float = 25.0  # a warm transfer nobody answers comes back after this
    refer_timeout_s: float = 40.0  # a blind transfer with no final NOTIFY by then failed
    rtp_port: int = 0  # first RTP port; 0 keeps pjsua's default (4000)
    rtp_port_range: int = 0
    shutdown_grace_s: float = 30.0
    transfer_on_shutdown: bool = False  # blind-transfer live calls to the front desk on stop
    recording_notice: str = "This call is recorded for quality and training."
    render_speech: Callable[[str, int], bytes] | None = None  # text, rate -> PCM16 mono
    recordings_dir: Path | None = None  # default: <data_dir>/recordings
    # digest users allowed to call from outside the allowlist (a PBX known by credentials,
    # not by address); empty: such INVITEs get 403 at once
    inbound_credentials: Mapping[str, str] = field(default_factory=dict)
    auth_realm: str = "voiceagent"
    # the wire record of an answered call, once it ended (runs on the SIP thread); the store's
    # record of the call is the handler's (the speech session's), never the endpoint's
    on_call_ended: Callable[[CallRecord], None] | None = None
    # a call the agent turned away itself (busy, overflow, store down, stopping); runs on a
    # background thread, so a slow store never holds up SIP
    on_call_refused: Callable[[CallRecord], None] | None = None
    # False while the store cannot be written: new calls get 503 with Retry-After
    store_writable: Callable[[], bool] = lambda: True
    # issue 16: one of several workers on a box; the box's admission decides busy (screen.py)
    box_admits: Callable[[], bool] | None = None
    register_timeout_s: int = 300
    user_agent: str = "voiceagent"
    kept_records: int = 1000
