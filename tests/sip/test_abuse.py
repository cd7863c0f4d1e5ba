"""Traffic an attacker or a careless peer sends: floods from refused sources, reflection
attempts, and back-to-back short calls. The agent must live through it, answer nothing it
should not, and still answer the next legitimate caller."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.sip.conftest import AGENT_PORT, Agent, assert_sipp_ok, sipp
from tests.sip.peers import RawSip

pytestmark = [pytest.mark.sip, pytest.mark.slow]

AGENT = ("127.0.0.1", AGENT_PORT)
TRUNK_IP = "127.0.0.2"  # the only allowed source in these tests
ATTACKER_IP = "127.0.0.1"


def legitimate_call(tmp_path: Path, peers: list, name: str) -> None:
    run = sipp(tmp_path, peers, "uac_call.xml", "-m", "1", "-d", "1000", name=name,
               source_ip=TRUNK_IP)
    assert_sipp_ok(run)


def test_invite_flood_from_a_refused_source_costs_nothing_and_the_next_call_is_answered(
    tmp_path: Path, start_agent, peers: list
) -> None:
    agent: Agent = start_agent(allowlist=[f"{TRUNK_IP}/32"])
    attacker = RawSip(ATTACKER_IP)
    peers.append(attacker)
    started = time.monotonic()
    for n in range(200):  # 200 INVITEs in 2 s, never ACKed
        attacker.request("INVITE", AGENT, f"flood-{n}")
        time.sleep(max(0.0, started + (n + 1) * 0.01 - time.monotonic()))
    attacker.collect(2.0)
    statuses = attacker.statuses()
    assert statuses and set(statuses) == {403}, "refusals are 403 (or nothing), never more"
    assert len(statuses) <= agent.endpoint.sip.invites_per_minute_per_source, \
        "past the per-source budget a flood gets no answer at all"
    assert agent.endpoint.active_calls() == 0
    legitimate_call(tmp_path, peers, "after-flood")
    [record] = agent.wait_records(1)
    assert record.outcome == "caller_hung_up"
    assert agent.records == [record], "refused sources leave no call records"


@pytest.mark.parametrize("method", ["SUBSCRIBE", "MESSAGE", "OPTIONS", "NOTIFY", "REFER"])
def test_requests_from_a_refused_source_get_nothing_back_anywhere(
    start_agent, peers: list, method: str
) -> None:
    start_agent(allowlist=[f"{TRUNK_IP}/32"])
    attacker, victim = RawSip(ATTACKER_IP), RawSip(ATTACKER_IP)
    peers += [attacker, victim]
    for n in range(3):  # a reflection attempt: the Contact names somebody else
        attacker.request(method, AGENT, f"reflect-{method}-{n}",
                         contact=f"sip:victim@{victim.ip}:{victim.port}")
    assert attacker.collect(2.0) == []
    assert victim.collect(0.5) == [], "nothing is sent to the address a request names"


def test_allowed_source_gets_405_to_subscribe_and_message_and_200_to_options(
    start_agent, peers: list
) -> None:
    start_agent(allowlist=[f"{TRUNK_IP}/32"])
    trunk = RawSip(TRUNK_IP)
    peers.append(trunk)
    for method in ("SUBSCRIBE", "MESSAGE", "OPTIONS"):
        trunk.request(method, AGENT, f"trunk-{method}")
        trunk.collect(0.7)
    assert trunk.statuses() == [405, 405, 200]


def test_fifty_back_to_back_half_second_calls_then_a_legitimate_call_is_answered(
    tmp_path: Path, start_agent, peers: list
) -> None:
    agent: Agent = start_agent(allowlist=[f"{TRUNK_IP}/32"],
                               invites_per_minute_per_source=1000)
    churn = sipp(tmp_path, peers, "uac_call.xml", "-m", "50", "-l", "1", "-d", "500",
                 name="churn", source_ip=TRUNK_IP)
    assert_sipp_ok(churn, timeout=120)
    records = agent.wait_records(50, timeout=30)
    assert {r.outcome for r in records} == {"caller_hung_up"}
    deadline = time.monotonic() + 10
    while agent.endpoint.active_calls() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert agent.endpoint.active_calls() == 0, "every session ended with its call"
    legitimate_call(tmp_path, peers, "after-churn")
    assert len(agent.wait_records(51)) == 51


def test_calls_hung_up_right_after_the_answer_leave_no_session_behind(
    tmp_path: Path, start_agent, peers: list
) -> None:
    agent: Agent = start_agent(allowlist=[f"{TRUNK_IP}/32"],
                               invites_per_minute_per_source=1000)
    churn = sipp(tmp_path, peers, "uac_call.xml", "-m", "60", "-l", "4", "-r", "10",
                 "-d", "0", name="instant", source_ip=TRUNK_IP)
    churn.wait(120)  # some may be answered busy while four are tearing down: that is fine
    deadline = time.monotonic() + 15
    while agent.endpoint.active_calls() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert agent.endpoint.active_calls() == 0
    ended = [r for r in agent.records if r.ended_at is not None]
    assert len(ended) == len(agent.records) >= 60
    legitimate_call(tmp_path, peers, "after-instant")
