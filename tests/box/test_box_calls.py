"""`voiceagent serve --workers 3` behind Kamailio's dispatcher: twelve spoken calls at once
all answered and recorded; a worker killed mid-call loses only its own calls."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.box.harness import (
    SIPP_PORT,
    Box,
    caller_wav,
    spoken_calls,
    start_box,
    start_proxy,
)
from tests.sip.conftest import require
from tests.sip.peers import Kamailio

pytestmark = [pytest.mark.models, pytest.mark.sip, pytest.mark.slow]
WORKERS = 3
ENDED = ("caller_hangup", "silence")  # the caller hung up, or went quiet after the reply


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    require("kamailio", "sipp", "sox")
    running = start_box(tmp_path, WORKERS)
    yield running
    running.stop()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Kamailio]:
    kamailio = start_proxy(tmp_path, WORKERS)
    yield kamailio
    kamailio.close()


def test_twelve_simultaneous_spoken_calls_through_kamailio_are_all_answered_and_recorded(
    box: Box, proxy: Kamailio, tmp_path: Path
) -> None:
    peers: list = []
    try:
        run = spoken_calls(tmp_path, peers, caller_wav(tmp_path), 12, 25000, "sipp")
        code = run.wait(150)
        assert code == 0, f"sipp exit {code}:\n{run.proc.output()[-3000:]}"
    finally:
        for peer in peers:
            peer.close()
    calls = box.wait_calls(lambda cs: len(cs) == 12 and all(c.outcome for c in cs), 60,
                           "twelve calls closed")
    assert {c.outcome for c in calls} <= set(ENDED)
    for call in calls:
        said = [t.text for t in call.turns if t.role in ("caller", "user")]
        answered = [t.text for t in call.turns if t.role not in ("caller", "user")]
        assert said and answered, [(t.role, len(t.text)) for t in call.turns]
    assert box.stop() == 0


def test_a_worker_killed_mid_call_loses_only_its_calls_and_the_next_calls_go_elsewhere(
    box: Box, proxy: Kamailio, tmp_path: Path
) -> None:
    peers: list = []
    caller = caller_wav(tmp_path)
    try:
        first = spoken_calls(tmp_path, peers, caller, 6, 25000, "first")
        box.wait_calls(lambda cs: len(cs) == 6, 60, "six calls answered")
        os.kill(box.worker_pid("worker1"), signal.SIGKILL)
        time.sleep(1.5)  # the dispatcher's probe finds it gone
        after = spoken_calls(tmp_path, peers, caller, 3, 5000, "after", SIPP_PORT + 1)
        assert after.wait(120) == 0, after.proc.output()[-3000:]
        first.wait(150)  # its calls on the dead worker fail: sipp's exit says so
    finally:
        for peer in peers:
            peer.close()
    calls = box.wait_calls(lambda cs: len(cs) == 9 and all(c.outcome for c in cs), 90,
                           "nine calls closed")
    crashed = [c for c in calls if c.outcome == "agent_crashed"]
    assert len(crashed) == 2, "the dead worker's two calls, closed by its successor"
    assert all(c.outcome in ENDED for c in calls if c not in crashed)
    assert "[box] worker1 exited with -9; starting it again" in box.output()


def test_a_full_box_refuses_the_next_call_busy_everywhere_and_records_it(
    tmp_path: Path
) -> None:
    require("kamailio", "sipp", "sox")
    box = start_box(tmp_path / "small", WORKERS, box_calls=2)
    kamailio = start_proxy(tmp_path, WORKERS)
    peers: list = []
    try:
        caller = caller_wav(tmp_path)
        held = spoken_calls(tmp_path, peers, caller, 2, 15000, "held")
        box.wait_calls(lambda cs: len(cs) == 2, 60, "two calls answered")
        refused = spoken_calls(tmp_path, peers, caller, 1, 1000, "refused", SIPP_PORT + 1)
        assert refused.wait(60) != 0, "the third call was answered"
        held.wait(90)
        calls = box.wait_calls(lambda cs: len(cs) == 3 and all(c.outcome for c in cs), 60,
                               "three calls closed")
    finally:
        for peer in peers:
            peer.close()
        kamailio.close()
        box.stop()
    # one record for the refused caller, however many workers the dispatcher asked
    assert [c.outcome for c in calls].count("busy") == 1
    assert all(c.outcome in ENDED for c in calls if c.outcome != "busy")
