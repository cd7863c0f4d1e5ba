"""Queued messages go out once: concurrent workers, leases, and an agent killed mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.outreach.conftest import BOOKING, CREDENTIALS, JANE, pipeline, web_chat
from tests.outreach.provider import FakeProvider
from voiceagent.outreach import jobs
from voiceagent.outreach.jobs import NewJob, enqueue
from voiceagent.outreach.records import Channel, JobKind, OutreachJob
from voiceagent.outreach.routes import build_outreach

ROOT = Path(__file__).resolve().parents[2]


def _queue_replies(frontdesk, clock, n: int) -> None:
    with frontdesk.store.transaction() as session:
        for i in range(n):
            enqueue(session, NewJob(JobKind.REPLY, f"reply:test:{i}", clock.now, Channel.SMS,
                                    f"+1312555{i:04d}", payload={"body": f"hello {i}"}),
                    clock.now)


@pytest.mark.unit
def test_queuing_the_same_job_twice_keeps_one(frontdesk, clock):
    _queue_replies(frontdesk, clock, 3)
    _queue_replies(frontdesk, clock, 3)
    with frontdesk.store.transaction() as session:
        assert len(list(session.scalars(select(OutreachJob)))) == 3


@pytest.mark.unit
def test_two_workers_racing_send_each_message_once(frontdesk, provider, clock):
    _queue_replies(frontdesk, clock, 30)
    workers = [build_outreach(pipeline(provider.url), frontdesk, credentials=CREDENTIALS,
                              clock=clock).worker for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(worker):
        barrier.wait()
        for _ in range(3):
            worker.run_due()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(provider.bodies()) == sorted(f"hello {i}" for i in range(30))


@pytest.mark.unit
def test_a_claim_whose_worker_vanished_returns_after_its_lease(frontdesk, provider, clock):
    _queue_replies(frontdesk, clock, 1)
    lost = jobs.claim_due(frontdesk.store, worker="dead-worker", now=clock.now, lease_s=120)
    assert len(lost) == 1
    worker = build_outreach(pipeline(provider.url), frontdesk, credentials=CREDENTIALS,
                            clock=clock).worker
    worker.run_due()
    assert provider.bodies() == []
    clock.advance(seconds=121)
    worker.run_due()
    worker.run_due()
    assert provider.bodies() == ["hello 0"]


@pytest.mark.unit
def test_provider_errors_are_retried_with_backoff_then_sent_once(frontdesk, provider, clock):
    _queue_replies(frontdesk, clock, 1)
    worker = build_outreach(pipeline(provider.url), frontdesk, credentials=CREDENTIALS,
                            clock=clock).worker
    provider.fail_next = [503, 429]
    assert worker.run_due().retried == 1
    clock.advance(minutes=2)
    assert worker.run_due().retried == 1
    assert worker.run_due().sent == 0  # backoff not over
    clock.advance(minutes=4)
    assert worker.run_due().sent == 1
    assert provider.bodies() == ["hello 0"]


@pytest.mark.slow
def test_killing_the_agent_between_queuing_and_sending_loses_and_duplicates_nothing(
        client, frontdesk, provider: FakeProvider, clock, db_url):
    web_chat(client, BOOKING)  # booked; nothing sent yet: no worker has run
    provider.hold.clear()  # the provider takes the confirmation and does not answer
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    agent = subprocess.Popen([sys.executable, "-m", "tests.outreach.worker_process", db_url,
                              provider.url, clock.now.isoformat()], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert provider.received.wait(60), agent.stderr.read1(4000) if agent.stderr else ""
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    provider.hold.set()
    with frontdesk.store.transaction() as session:
        states = {j.kind: j.status for j in session.scalars(select(OutreachJob))}
    assert states == {"confirmation": "sending", "reminder": "pending"}

    later = clock.advance(hours=10)  # Monday 20:00 in Chicago: the reminder is due
    for _ in range(2):  # the restarted agent, twice over
        out = subprocess.run([sys.executable, "-m", "tests.outreach.worker_process", db_url,
                              provider.url, later.isoformat()], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
    bodies = provider.bodies(JANE)
    assert len(bodies) == 2 and bodies[0].startswith("Hi Jane, you're booked")
    assert bodies[1].startswith("Reminder from")
    with frontdesk.store.transaction() as session:
        states = {j.kind: j.status for j in session.scalars(select(OutreachJob))}
    assert states == {"confirmation": "uncertain", "reminder": "sent"}
    listed = client.get("/api/outreach/jobs", params={"status": "uncertain"}).json()
    assert [j["kind"] for j in listed] == ["confirmation"]


@pytest.mark.unit
def test_a_job_that_crashes_is_marked_failed_and_the_rest_still_go(frontdesk, provider, clock):
    _queue_replies(frontdesk, clock, 3)
    with frontdesk.store.transaction() as session:
        broken = session.scalars(select(OutreachJob).order_by(OutreachJob.id)).first()
        broken.payload = {"body": None, "oops": object.__name__}
        broken.channel = "pigeon"  # not a channel: processing it raises
    worker = build_outreach(pipeline(provider.url), frontdesk, credentials=CREDENTIALS,
                            clock=clock).worker
    report = worker.run_due()
    assert (report.failed, report.sent) == (1, 2)
    assert sorted(provider.bodies()) == ["hello 1", "hello 2"]
