"""SIGTERM: the agent stops accepting calls, lets the live one finish, then exits cleanly."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.sip.conftest import SIPP_PORT, Voice, assert_sipp_ok, sipp
from tests.sip.peers import AgentProcess

pytestmark = [pytest.mark.sip, pytest.mark.slow]

NODE = 25061


def test_sigterm_refuses_new_calls_and_lets_the_live_call_finish(
    tmp_path: Path, voice: Voice, peers: list
) -> None:
    agent = AgentProcess(tmp_path / "node", sys.executable, NODE, 25500,
                         voice.dir / "greeting.wav", voice.dir / "reply.wav", grace_s=15)
    peers.append(agent)
    live = sipp(tmp_path, peers, "uac_call.xml", "-m", "1", "-d", "5000", target_port=NODE,
                name="live")
    agent.wait_output("sip.call_answered", 15)
    agent.proc.proc.send_signal(signal.SIGTERM)
    agent.wait_output("sip.stopping", 5)
    late = sipp(tmp_path, peers, "uac_rejected.xml", "-m", "1", target_port=NODE,
                port=SIPP_PORT + 2, name="late", expect=503)
    assert_sipp_ok(late)
    assert_sipp_ok(live, timeout=30)  # the caller, not the agent, ended the live call
    assert agent.proc.wait(20) == 0
    outcomes = sorted(str(r["outcome"]) for r in agent.records())
    assert outcomes == ["caller_hung_up", "shutting_down"], "the refused caller is recorded too"
    output = agent.proc.output()
    assert "sip.stopped" in output
    assert "Traceback" not in output and "Assertion" not in output
