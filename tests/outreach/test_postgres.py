"""Several agent processes on one PostgreSQL database send each queued message once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clinic.conftest import pg_url, postgres_server  # noqa: F401 - fixtures
from tests.outreach.conftest import MONDAY_10AM
from tests.outreach.provider import FakeProvider
from voiceagent.clinic.db import open_store
from voiceagent.outreach.jobs import NewJob, enqueue
from voiceagent.outreach.records import Channel, JobKind, JobStatus, OutreachJob

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_three_processes_on_one_postgres_send_each_message_once(pg_url):  # noqa: F811
    store = open_store(pg_url, migrate=False)
    with store.transaction() as session:
        for i in range(60):
            enqueue(session, NewJob(JobKind.REPLY, f"reply:pg:{i}", MONDAY_10AM, Channel.SMS,
                                    f"+1312555{i:04d}", payload={"body": f"hello {i}"}),
                    MONDAY_10AM)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with FakeProvider() as provider:
        agents = [subprocess.Popen(
            [sys.executable, "-m", "tests.outreach.worker_process", pg_url, provider.url,
             MONDAY_10AM.isoformat(), "--passes", "4"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outputs = [a.communicate(timeout=240) for a in agents]
        assert all(a.returncode == 0 for a in agents), [err[-2000:] for _, err in outputs]
        bodies = provider.bodies()
    assert sorted(bodies) == sorted(f"hello {i}" for i in range(60))
    sent_by = [int(out.split("sent=")[1].split()[0]) for out, _ in outputs]
    assert sum(sent_by) == 60, sent_by
    print("sent per process:", sent_by)
    with store.transaction() as session:
        from sqlalchemy import select

        statuses = set(session.scalars(select(OutreachJob.status)))
    assert statuses == {JobStatus.SENT.value}
    store.dispose()
