"""A process killed mid-call (SIGKILL: no clean-up of any kind) leaves its call open; the next
start closes it as ``agent_crashed`` at its last turn and leaves the front desk a callback
message with what the caller had said, while another live process keeps its own call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from voiceagent.clinic.models import Call, Message
from voiceagent.config.pipeline import load_pipeline
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.serve import open_call_log

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

MID_CALL = textwrap.dedent("""
    import sys, time
    from voiceagent.config.pipeline import load_pipeline
    from voiceagent.frontdesk.runtime import FrontDesk
    from voiceagent.serve import open_call_log
    config = load_pipeline(sys.argv[1])
    call_log = open_call_log(config, FrontDesk.from_config(config))
    call_id = call_log.open_call("sip", "<sip:+16085550142@trunk.example>")
    call_log.add_turn(call_id, "agent", "Thanks for calling. How can I help?")
    call_log.add_turn(call_id, "caller", "This is Dana Whitfield, born March 3 1961, "
                      "my knee is worse and I need to move my appointment")
    print(call_id, flush=True)
    time.sleep(120)
""")


def mid_call(config: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-c", MID_CALL, str(config)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    assert proc.stdout is not None
    call_id = proc.stdout.readline().strip()
    assert len(call_id) == 36, f"the call process failed: {call_id}{proc.stdout.read()}"
    return proc, call_id


def test_sigkill_mid_call_then_restart_closes_the_call_and_leaves_a_callback(
    tmp_path: Path,
) -> None:
    config_path = tmp_path / "pipeline.yaml"
    config_path.write_text(f"data_dir: {tmp_path / 'data'}\n"
                           f"clinic: {ROOT / 'configs' / 'clinic.yaml'}\n")
    killed, crashed_id = mid_call(config_path)
    alive, live_id = mid_call(config_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        config = load_pipeline(config_path)
        frontdesk = FrontDesk.from_config(config)
        restarted = open_call_log(config, frontdesk)  # the restart
        restarted.health.stop()  # its store monitor has nothing to do in this test
        with frontdesk.store.transaction() as session:
            crashed = session.get(Call, crashed_id)
            live = session.get(Call, live_id)
            assert crashed is not None and live is not None
            assert crashed.outcome == "agent_crashed"
            assert crashed.ended_at is not None and crashed.ended_at >= crashed.started_at
            assert live.outcome is None, "a live process keeps its call"
            [message] = session.scalars(select(Message).where(Message.call_id == crashed_id))
            assert message.callback_phone == "+16085550142"
            assert "Dana Whitfield" in message.body and message.status == "open"
        frontdesk.store.dispose()
    finally:
        for proc in (killed, alive):
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
