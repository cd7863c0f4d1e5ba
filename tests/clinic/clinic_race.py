"""Race helpers: many threads or processes try to book the same time at the same moment."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import date, datetime

from tests.clinic.clinic_fixtures import NOW, make_clinic
from voiceagent.clinic import scheduling as sch
from voiceagent.clinic.audit import Actor
from voiceagent.clinic.db import Store, open_store
from voiceagent.clinic.errors import ClinicError
from voiceagent.clinic.patients import find_or_create_patient


def attempt(store: Store, worker: int, start: datetime, type_id: str, provider: str | None) -> str:
    """One caller: create their record, hold the time, book it. Returns 'won' or the error code."""
    clinic = make_clinic()
    actor = Actor("assistant", f"call-{worker}")
    try:
        pid = find_or_create_patient(
            store,
            first_name=f"Racer{chr(65 + worker)}",
            last_name="Test",
            dob=date(1990, 1, 1 + worker),
            actor=actor,
        ).patient_id
        held = sch.hold_slot(
            store,
            clinic,
            appointment_type_id=type_id,
            start=start,
            provider_id=provider,
            now=NOW,
            actor=actor,
        )
        booking = sch.book(
            store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=actor
        )
        return (
            f"won:{booking.slot.provider_id}:{booking.slot.room_id}" if provider is None else "won"
        )
    except ClinicError as exc:
        return exc.code


def race_threads(store: Store, start: datetime, plan: list[tuple[str, str | None]]) -> list[str]:
    """``plan``: (type_id, provider_id) per thread; all start at once on one shared store."""
    barrier = threading.Barrier(len(plan))
    results: list[str] = [""] * len(plan)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(store, i, start, *plan[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(plan))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _process_main(
    url: str,
    i: int,
    start: datetime,
    type_id: str,
    provider: str | None,
    barrier: Callable[[], object],
    queue: multiprocessing.Queue,
) -> None:  # type: ignore[type-arg]
    store = open_store(url, migrate=False)
    try:
        barrier()
        queue.put((i, attempt(store, i, start, type_id, provider)))
    except BaseException as exc:  # report, never hang the parent
        queue.put((i, f"crash:{type(exc).__name__}:{exc}"))
    finally:
        store.dispose()


def race_processes(url: str, start: datetime, plan: list[tuple[str, str | None]]) -> list[str]:
    """Like :func:`race_threads` but each caller is a separate process with its own engine."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(plan))
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_process_main, args=(url, i, start, *plan[i], barrier.wait, queue))
        for i in range(len(plan))
    ]
    for p in procs:
        p.start()
    results = [""] * len(plan)
    for _ in procs:
        i, outcome = queue.get(timeout=60)
        results[i] = outcome
    for p in procs:
        p.join(30)
    return results


def _together(n: int, action: Callable[[], object]) -> list[str]:
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            action()
            outcome = "won"
        except ClinicError as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _booked_hold(store: Store, start: datetime) -> tuple[int, sch.SlotHold]:
    actor = Actor("assistant", "call-1")
    pid = find_or_create_patient(
        store, first_name="Maria", last_name="Garcia", dob=date(1980, 5, 1), actor=actor
    ).patient_id
    held = sch.hold_slot(
        store,
        make_clinic(),
        appointment_type_id="evaluation",
        start=start,
        provider_id="pt-a",
        now=NOW,
        actor=actor,
    )
    return pid, held


def race_same_hold(store: Store, start: datetime, n: int) -> list[str]:
    """``n`` requests book the same hold at once (a retried tool call)."""
    pid, held = _booked_hold(store, start)
    clinic, actor = make_clinic(), Actor("assistant", "call-1")
    return _together(
        n,
        lambda: sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=actor),
    )


def race_cancel(store: Store, start: datetime, n: int) -> list[str]:
    """``n`` requests cancel the same appointment at once."""
    pid, held = _booked_hold(store, start)
    clinic, actor = make_clinic(), Actor("assistant", "call-1")
    booking = sch.book(store, clinic, hold_id=held.hold_id, patient_id=pid, now=NOW, actor=actor)
    return _together(
        n,
        lambda: sch.cancel(
            store,
            clinic,
            patient_id=pid,
            appointment_id=booking.appointment_id,
            now=NOW,
            actor=actor,
        ),
    )
