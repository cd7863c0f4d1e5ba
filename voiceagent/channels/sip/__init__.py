"""SIP channel: pjsua2 endpoint, per-call media ports, security, transfers."""

from voiceagent.channels.sip.endpoint import SipEndpoint, SipOptions, SipStartError, run_sip
from voiceagent.channels.sip.handler import (
    CallControl,
    CallHandler,
    CallInfo,
    CallRecord,
    HandlerFactory,
    TransferOutcome,
)

__all__ = [
    "CallControl",
    "CallHandler",
    "CallInfo",
    "CallRecord",
    "HandlerFactory",
    "SipEndpoint",
    "SipOptions",
    "SipStartError",
    "TransferOutcome",
    "run_sip",
]
