"""The SIP thread's queues and delayed release, without pjsua."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from voiceagent.channels.sip import loop as sip_loop
from voiceagent.channels.sip.leg_events import LegDisconnected, LegMedia
from voiceagent.channels.sip.loop import SipLoop

pytestmark = pytest.mark.unit


class Held:
    """Stands for a pjsua2 object a call dropped."""


def test_one_failing_event_or_command_does_not_stop_the_others() -> None:
    loop = SipLoop()
    handled: list[str] = []
    leg_a, leg_b = object(), object()

    def on_leg_event(leg: object, event: object) -> None:
        if leg is leg_a:
            raise RuntimeError("PJ_EINVAL")  # e.g. media of a call already hung up
        handled.append(type(event).__name__)

    def failing() -> None:
        raise RuntimeError("boom")

    loop.queue_leg_event(leg_a, LegMedia(0))  # type: ignore[arg-type]
    loop.queue_leg_event(leg_b, LegDisconnected(200))  # type: ignore[arg-type]
    loop.post(failing)
    loop.post(lambda: handled.append("command"))
    loop.run_queued(on_leg_event)  # type: ignore[arg-type]
    assert handled == ["LegDisconnected", "command"]  # leg events first, then commands


def test_a_command_posted_from_another_thread_runs_on_the_loops_thread_in_order() -> None:
    loop = SipLoop()
    ran: list[tuple[int, str]] = []

    def post_two() -> None:
        for n in (1, 2):
            loop.post(lambda n=n: ran.append((n, threading.current_thread().name)))

    poster = threading.Thread(target=post_two, name="pump")
    poster.start()
    poster.join()
    assert ran == []  # nothing runs on the posting thread
    loop.run_queued(lambda leg, event: None)
    assert ran == [(1, threading.current_thread().name), (2, threading.current_thread().name)]


def test_a_released_object_is_kept_for_the_release_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sip_loop, "RELEASE_DELAY_S", 0.2)
    loop = SipLoop()
    held = Held()
    ref = weakref.ref(held)
    loop.release(held, None)
    del held
    loop.run_queued(lambda leg, event: None)
    gc.collect()
    assert ref() is not None  # the conference bridge may still call it
    time.sleep(0.25)
    loop.run_queued(lambda leg, event: None)
    assert ref() is None
