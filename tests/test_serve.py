"""`voiceagent serve` (what `make run` starts): it comes up on the embedded defaults, the
doctor is green against it, a SIP call is answered and recorded, and SIGTERM stops it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fast_models import FAST_LLM
from voiceagent.clinic.db import open_store
from voiceagent.clinic.models import Call

pytestmark = [pytest.mark.models, pytest.mark.sip, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
SIP_PORT, HTTP_PORT, SIPP_PORT = 25950, 28090, 25952


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"clinic: {ROOT / 'configs' / 'clinic.yaml'}\n"
        f"sip: {{port: {SIP_PORT}, rtp_port: 25960}}\n"
        f"models: {{llm: {{model: {FAST_LLM}}}}}\n"
        f"http: {{port: {HTTP_PORT}}}\n"
    )
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voiceagent", "--config", str(config), "serve"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, env=env,
        )
    try:
        deadline = time.monotonic() + 180
        while "is up" not in log.read_text():
            assert proc.poll() is None, f"serve exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "serve did not come up in 180 s"
            time.sleep(0.5)
        yield proc, config, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_serve_comes_up_prints_how_to_call_and_doctor_is_green(served) -> None:  # type: ignore[no-untyped-def]
    proc, config, log = served
    banner = log.read_text()
    assert f"SIP    udp 127.0.0.1:{SIP_PORT}" in banner
    assert f"http://127.0.0.1:{HTTP_PORT}" in banner
    assert f"/dial sip:agent@127.0.0.1:{SIP_PORT}" in banner
    assert httpx.get(f"http://127.0.0.1:{HTTP_PORT}/api/health").json()["status"] == "ok"
    doctor = subprocess.run(
        [sys.executable, "-m", "voiceagent", "--config", str(config), "doctor"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert doctor.returncode == 0, doctor.stdout
    assert "FAIL" not in doctor.stdout
    assert "in use by this agent" in doctor.stdout


def test_a_sip_call_is_answered_recorded_and_sigterm_exits_cleanly(
    served, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    proc, config, log = served
    sipp = shutil.which("sipp")
    assert sipp, "apt-get install sip-tester"
    scenario = ROOT / "tests" / "sip" / "scenarios" / "uac_call.xml"
    run = subprocess.run(
        [sipp, "-sf", str(scenario), "-m", "1", "-d", "4000", "-s", "agent",
         "-i", "127.0.0.1", "-p", str(SIPP_PORT), "-mp", "25970", "-nostdin",
         f"127.0.0.1:{SIP_PORT}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stdout[-2000:]

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert "Traceback" not in log.read_text()
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'voiceagent.db'}")
    try:
        with store.transaction() as session:
            calls = session.query(Call).all()
            assert [c.channel for c in calls] == ["sip"]
            assert calls[0].ended_at is not None and calls[0].outcome
            assert calls[0].caller_id and "sipp@127.0.0.1" in calls[0].caller_id
    finally:
        store.dispose()
