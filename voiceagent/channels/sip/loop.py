"""The SIP thread's own machinery: what other threads hand it, what it frees late, its collector.

Only the SIP thread calls pjsua2. Other threads reach it through :meth:`SipLoop.post` (a
command) and :meth:`SipLoop.queue_leg_event` (what a call leg reported, from pjsua2's
callbacks, DTMF from the media thread); the thread runs both from :meth:`SipLoop.run_queued`
on every round of its loop. pjsua2 objects a call dropped are kept :data:`RELEASE_DELAY_S`
longer (:meth:`SipLoop.release`), and the cyclic collector runs here, on a fixed cadence
(:meth:`SipLoop.collect_garbage`), so that no pjsua2 destructor ever runs on another thread.
"""

from __future__ import annotations

import gc
import logging
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from voiceagent.channels.sip.call import Leg
from voiceagent.channels.sip.leg_events import LegEvent
from voiceagent.logs import log_event

log = logging.getLogger(__name__)

Command = Callable[[], None]

# pjsua objects dropped by a call are freed this long after it ends. Since 2.14 the
# conference bridge removes ports asynchronously on its clock thread (kept running, see
# sndAutoCloseTime in library.py); a port freed 0.5 s after its call once crashed that thread
# on a loaded box. Upstream fixed related races after our wheel (pjproject PRs 4200, 5057).
RELEASE_DELAY_S = 2.0
# the cyclic collector runs on the SIP thread: young generations every GC_EVERY_S, all
# generations every FULL_GC_EVERY rounds (60 s), as automatic collection would
GC_EVERY_S = 0.5
FULL_GC_EVERY = 120


class SipLoop:
    """The SIP thread's queues, its list of pjsua2 objects awaiting release, and its heartbeat.

    ``post`` and ``queue_leg_event`` may be called from any thread; everything else runs on
    the SIP thread.
    """

    def __init__(self) -> None:
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._leg_events: queue.SimpleQueue[tuple[Leg, LegEvent]] = queue.SimpleQueue()
        # pjsua objects whose last reference goes after RELEASE_DELAY_S: since pjsua 2.14 the
        # conference bridge disconnects and removes ports asynchronously on its clock thread,
        # so a port freed right after stopTransmit can still be called (a crash)
        self._released: list[tuple[float, object]] = []
        self._last_gc = 0.0
        self._gc_rounds = 0
        self.went_round_at = time.monotonic()  # when the loop last went round (the watchdog)

    # ------------------------------------------------------------ any thread
    def post(self, command: Command) -> None:
        """Run ``command`` on the SIP thread (soon, in order)."""
        self._commands.put(command)

    def queue_leg_event(self, leg: Leg, event: LegEvent) -> None:
        """What ``leg`` reported; may run on the media thread (DTMF), so it is only queued."""
        self._leg_events.put((leg, event))

    # ------------------------------------------------------------ SIP thread
    def run_queued(self, on_leg_event: Callable[[Leg, LegEvent], None]) -> None:
        """Handle the queued leg events, then the commands, then free what is due."""
        while True:
            try:
                leg, event = self._leg_events.get_nowait()
            except queue.Empty:
                break
            try:
                on_leg_event(leg, event)
            except Exception as exc:
                # one call's event failing (pjsua refuses to connect the media of a call
                # the caller already hung up: PJ_EINVAL) must not stop the SIP thread for
                # every other call; the call's own disconnect event cleans it up
                log_event(log, "sip.leg_event_failed", logging.WARNING,
                          leg_event=type(event).__name__, error=type(exc).__name__)
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            try:
                command()
            except Exception as exc:
                log_event(log, "sip.command_failed", logging.WARNING, error=type(exc).__name__)
        if self._released and self._released[0][0] <= time.monotonic():
            now = time.monotonic()
            self._released = [(t, o) for t, o in self._released if t > now]
            gc.collect()

    def release(self, *objects: object) -> None:
        """Drop ``objects`` (pjsua2 objects, or what holds them) RELEASE_DELAY_S from now."""
        due = time.monotonic() + RELEASE_DELAY_S
        self._released.extend((due, o) for o in objects if o is not None)

    def release_now(self) -> None:
        """At shutdown, once the bridge has had RELEASE_DELAY_S: drop everything held."""
        self._released.clear()
        gc.collect()

    @contextmanager
    def owning_the_collector(self) -> Iterator[None]:
        """While the SIP thread runs, only it collects (from :meth:`collect_garbage`).

        The cyclic collector would otherwise run a pjsua2 destructor wherever an allocation
        triggers it (a pump or model thread, while the SIP thread is inside pjsip: lock-owner
        assertions), so automatic collection is off until the SIP thread leaves."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if was_enabled:
                gc.enable()

    def collect_garbage(self) -> None:
        """The collector's round, when one is due."""
        now = time.monotonic()
        if now - self._last_gc >= GC_EVERY_S:
            self._last_gc = now
            self._gc_rounds += 1
            gc.collect(2 if self._gc_rounds % FULL_GC_EVERY == 0 else 1)

    def went_round(self) -> None:
        self.went_round_at = time.monotonic()

    def went_round_within(self, seconds: float) -> bool:
        return time.monotonic() - self.went_round_at < seconds
