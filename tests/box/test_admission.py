"""The box's admission: its SIP workers share one count of calls; a full box refuses (and
records) a call, a full worker passes it on unrecorded, a dead worker stops counting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sip.test_security import request
from voiceagent.box.admission import BoxAdmission
from voiceagent.channels.sip.gate import Action
from voiceagent.channels.sip.screen import Capacity, Refusal, Screen
from voiceagent.channels.sip.security import Allowlist, InviteRateLimiter

pytestmark = pytest.mark.unit


def test_workers_of_one_box_share_its_capacity(tmp_path: Path) -> None:
    first, second = BoxAdmission(tmp_path, 3), BoxAdmission(tmp_path, 3)
    try:
        assert first.admits() and first.admits()
        first.call_started()
        first.call_started()
        assert second.admits()
        second.call_started()
        assert not second.admits() and not first.admits()
        assert second.box_calls() == 3
        first.call_ended()
        assert second.admits()
    finally:
        first.close()
        second.close()


def test_a_dead_workers_calls_stop_counting_at_once(tmp_path: Path) -> None:
    dead, alive = BoxAdmission(tmp_path, 2), BoxAdmission(tmp_path, 2)
    try:
        assert dead.admits() and dead.admits()
        assert not alive.admits()
        dead._alive.close()  # noqa: SLF001 - the kernel drops a dead process's lock like this
        assert alive.box_calls() == 0
        assert alive.admits()
    finally:
        alive.close()


def test_a_worker_cleanly_stopped_leaves_nothing_counted(tmp_path: Path) -> None:
    stopped = BoxAdmission(tmp_path, 1)
    assert stopped.admits()
    stopped.close()
    other = BoxAdmission(tmp_path, 1)
    try:
        assert other.admits()
    finally:
        other.close()


def box_screen(active: int, box_admits: bool, refused: list[Refusal],
               overflow: str | None = None) -> Screen:
    return Screen(
        Allowlist(["10.0.0.0/24"]), InviteRateLimiter(30),
        Capacity(lambda: active, lambda: active, lambda: True, lambda: True,
                 box_admits=lambda: box_admits),
        max_calls=4, call_slots=4, overflow_target=overflow, on_refused=refused.append,
    )


def test_a_full_box_answers_busy_everywhere_and_the_refusal_is_recorded() -> None:
    refused: list[Refusal] = []
    verdict = box_screen(active=1, box_admits=False, refused=refused)(request())
    assert (verdict.action, verdict.status) == (Action.RESPOND, 600)
    assert [(r.outcome, r.status) for r in refused] == [("busy", 600)]


def test_a_full_box_with_an_overflow_target_redirects_the_caller() -> None:
    refused: list[Refusal] = []
    verdict = box_screen(1, False, refused, overflow="sip:desk@pbx")(request())
    assert (verdict.status, verdict.headers) == (302, (("Contact", "<sip:desk@pbx>"),))
    assert [r.outcome for r in refused] == ["overflow"]


def test_a_full_worker_on_a_box_with_room_passes_the_call_on_without_a_record() -> None:
    refused: list[Refusal] = []
    verdict = box_screen(active=4, box_admits=True, refused=refused)(request())
    assert (verdict.action, verdict.status) == (Action.RESPOND, 486)
    assert refused == []
    assert box_screen(active=3, box_admits=True, refused=refused)(request()).action is (
        Action.PASS)
