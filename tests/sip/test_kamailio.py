"""Kamailio as registrar and dispatcher (sip/kamailio/kamailio.cfg) in front of the agent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.sip.conftest import (
    KAMAILIO_PORT,
    SIPP_PORT,
    Agent,
    Voice,
    assert_sipp_ok,
    require,
    sipp,
)
from tests.sip.peers import AgentProcess, Kamailio

pytestmark = [pytest.mark.sip, pytest.mark.slow]

CONFIG = Path(__file__).resolve().parents[2] / "sip" / "kamailio" / "kamailio.cfg"
PASSWORD = "test-secret-7"


def kamailio(tmp_path: Path, peers: list, nodes: list[int]) -> Kamailio:
    require("kamailio")
    proxy = Kamailio(tmp_path / "kamailio", CONFIG, KAMAILIO_PORT, PASSWORD, nodes)
    peers.append(proxy)
    return proxy


def test_agent_registers_with_digest_and_answers_a_call_routed_by_kamailio(
    tmp_path: Path, start_agent, peers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    kamailio(tmp_path, peers, nodes=[])
    monkeypatch.setenv("VOICEAGENT_SIP_PASSWORD", PASSWORD)
    agent: Agent = start_agent(mode="register", registrar=f"sip:127.0.0.1:{KAMAILIO_PORT}",
                               username="agent", allowlist=["127.0.0.2/32"])
    assert agent.endpoint.wait_registered(15), (
        f"registration status {agent.endpoint.registration_status}")
    run = sipp(tmp_path, peers, "uac_call.xml", "-m", "1", "-d", "2000",
               target_port=KAMAILIO_PORT, service="agent")
    assert_sipp_ok(run)
    [record] = agent.wait_records(1)
    assert record.outcome == "caller_hung_up"
    # the call came through the registrar, whose address the agent trusts once registered
    assert record.remote_address == "127.0.0.1"


def test_wrong_password_leaves_the_agent_unregistered(
    tmp_path: Path, start_agent, peers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    kamailio(tmp_path, peers, nodes=[])
    monkeypatch.setenv("VOICEAGENT_SIP_PASSWORD", "wrong")
    agent: Agent = start_agent(mode="register", registrar=f"sip:127.0.0.1:{KAMAILIO_PORT}",
                               username="agent")
    assert not agent.endpoint.wait_registered(4)
    assert agent.endpoint.registration_status in (401, 403, 407)


def test_ten_simultaneous_calls_are_spread_over_three_agent_nodes_and_all_answered(
    tmp_path: Path, voice: Voice, peers: list
) -> None:
    nodes = [25061, 25062, 25063]
    greeting = voice.dir / "greeting.wav"
    reply = voice.dir / "reply.wav"
    agents = []
    for i, port in enumerate(nodes):
        agent = AgentProcess(tmp_path / f"node{i}", sys.executable, port, 25500 + 200 * i,
                             greeting, reply, max_calls=4)
        peers.append(agent)
        agents.append(agent)
    kamailio(tmp_path, peers, nodes=nodes)
    run = sipp(tmp_path, peers, "uac_call.xml", "-m", "10", "-l", "10", "-r", "10",
               "-d", "4000", target_port=KAMAILIO_PORT, service="clinic", port=SIPP_PORT)
    assert_sipp_ok(run, timeout=60)
    for agent in agents:  # SIGTERM: each node finishes its calls and writes its records
        agent.close()
    records = [r for agent in agents for r in agent.records()]
    assert len(records) == 10
    assert {r["outcome"] for r in records} == {"caller_hung_up"}
    assert all(agent.records() for agent in agents), "every node took calls"
