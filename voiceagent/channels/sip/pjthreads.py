"""Keep pjlib's rule: every thread that calls into pjsua2 must be registered first.

Python may run a pjsua2 object's destructor on any thread (the garbage collector runs where
an allocation triggers it), so the objects we own register the current thread before dying.
"""

from __future__ import annotations

import threading

import pjsua2 as pj

_state = {"alive": False}
_lock = threading.Lock()


def set_library_alive(alive: bool) -> None:
    """Called by the SIP thread after libInit and before libDestroy."""
    with _lock:
        _state["alive"] = alive


def register_this_thread() -> bool:
    """Register the calling thread with pjlib if the library is up; False when it is not."""
    with _lock:
        if not _state["alive"]:
            return False
        endpoint = pj.Endpoint.instance()
        if not endpoint.libIsThreadRegistered():
            endpoint.libRegisterThread(f"py-{threading.current_thread().name}"[:30])
        return True
