"""The CallControl a call's handler gets: each request becomes a command on the SIP thread."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from voiceagent.channels.sip.call import CallerSession
from voiceagent.channels.sip.loop import Command


class SipCallControl:
    """Transfer, hang up and send keys for one caller; thread-safe, returns at once.

    ``post`` queues a command for the SIP thread; ``transfer`` (the endpoint's transfers) and
    the session's own hang-up and keys run there.
    """

    def __init__(self, session: CallerSession, post: Callable[[Command], None],
                 transfer: Callable[[CallerSession, str, bytes, bool], None]) -> None:
        # weak: a handler kept by its owner after the call must not keep the pjsua2 Call
        # alive past libDestroy (its destructor would then abort the process)
        self._session = weakref.ref(session)
        self._post = post
        self._transfer = transfer

    def transfer(self, target: str, summary_pcm: bytes = b"", warm: bool = True) -> None:
        self._run(lambda s: self._transfer(s, target, summary_pcm, warm))

    def hangup(self, reason: str = "completed") -> None:
        session = self._session()
        if session is not None and session.pump is not None:
            session.pump.hangup_when_drained(reason)  # after the agent's last words
        else:
            self._run(lambda s: s.hang_up(reason))

    def send_dtmf(self, digits: str) -> None:
        self._run(lambda s: s.send_dtmf(digits))

    def _run(self, action: Callable[[CallerSession], None]) -> None:
        def command() -> None:
            session = self._session()
            if session is not None and not session.ended:
                action(session)

        self._post(command)
