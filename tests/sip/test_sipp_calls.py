"""sipp drives the agent: RFC 2833 DTMF, ten simultaneous calls, refusals (allowlist, busy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sip.conftest import SIPP_PORT, Agent, assert_sipp_ok, require, sipp
from voiceagent.channels.sip import SipOptions, SipStartError

pytestmark = [pytest.mark.sip, pytest.mark.slow]

DTMF_4 = "/usr/share/sip-tester/dtmf_2833_4.pcap"


def test_rfc2833_digit_from_the_caller_reaches_the_call_handler(
    tmp_path: Path, start_agent, peers: list
) -> None:
    require("sipp")
    if not Path(DTMF_4).exists():
        pytest.fail(f"{DTMF_4} is missing: it ships with the Debian package sip-tester")
    agent: Agent = start_agent()
    run = sipp(tmp_path, peers, "uac_dtmf.xml", "-m", "1", "-d", "2500",
               "-key", "pcap", DTMF_4)
    assert_sipp_ok(run)
    [record] = agent.wait_records(1)
    assert record.dtmf == "4"
    assert agent.handlers[0].dtmf == "4"
    assert record.outcome == "caller_hung_up"


def test_four_simultaneous_calls_each_get_their_own_handler_and_end_cleanly(
    tmp_path: Path, start_agent, peers: list
) -> None:
    # 4 is the pjsua2 wheel's per-process limit; ten calls over three processes behind
    # Kamailio's dispatcher are in test_kamailio.py
    agent: Agent = start_agent(max_calls=4)
    run = sipp(tmp_path, peers, "uac_call.xml", "-m", "4", "-l", "4", "-r", "10",
               "-d", "4000")
    assert_sipp_ok(run, timeout=60)
    records = agent.wait_records(4)
    assert len(records) == 4
    assert {r.outcome for r in records} == {"caller_hung_up"}
    assert len({r.call_id for r in records}) == 4
    assert len(agent.handlers) == 4
    latest_start = max(r.started_at for r in records)
    earliest_end = min(r.ended_at for r in records if r.ended_at)
    assert latest_start < earliest_end, "the calls overlapped"
    assert all(h.closed.wait(5) for h in agent.handlers), "every handler was closed"
    assert agent.endpoint.active_calls() == 0


def test_more_calls_than_one_process_can_hold_is_a_start_error_naming_the_fix(
    tmp_path: Path, start_agent
) -> None:
    with pytest.raises(SipStartError, match="Kamailio dispatcher"):
        start_agent(max_calls=10)


def test_invite_from_an_address_outside_the_allowlist_is_refused(
    tmp_path: Path, start_agent, peers: list
) -> None:
    agent: Agent = start_agent(bind="127.0.0.1", allowlist=["127.0.0.2/32"])
    run = sipp(tmp_path, peers, "uac_rejected.xml", "-m", "1", expect=403)
    assert_sipp_ok(run)
    assert agent.records == []
    assert agent.handlers == []


def test_call_past_the_maximum_gets_busy_while_the_first_goes_on(
    tmp_path: Path, start_agent, peers: list
) -> None:
    agent: Agent = start_agent(max_calls=1)
    first = sipp(tmp_path, peers, "uac_call.xml", "-m", "1", "-d", "5000",
                 name="first")
    agent.wait_handlers(1)
    second = sipp(tmp_path, peers, "uac_rejected.xml", "-m", "1", expect=486,
                  port=SIPP_PORT + 2, name="second")
    assert_sipp_ok(second)
    assert_sipp_ok(first)
    records = agent.wait_records(2)
    assert sorted(r.outcome for r in records) == ["busy", "caller_hung_up"], \
        "the agent keeps a record of the caller it turned away"


def test_caller_outside_the_allowlist_with_valid_digest_credentials_is_answered(
    tmp_path: Path, start_agent, peers: list
) -> None:
    options = SipOptions(inbound_credentials={"frontpbx": "pbx-secret-9"})
    agent: Agent = start_agent(options, allowlist=["127.0.0.2/32"])
    run = sipp(tmp_path, peers, "uac_auth.xml", "-m", "1", "-d", "1500",
               "-au", "frontpbx", "-ap", "pbx-secret-9")
    assert_sipp_ok(run)
    [record] = agent.wait_records(1)
    assert record.outcome == "caller_hung_up"


def test_caller_outside_the_allowlist_with_a_wrong_password_is_refused(
    tmp_path: Path, start_agent, peers: list
) -> None:
    options = SipOptions(inbound_credentials={"frontpbx": "pbx-secret-9"})
    agent: Agent = start_agent(options, allowlist=["127.0.0.2/32"])
    run = sipp(tmp_path, peers, "uac_auth.xml", "-m", "1", "-d", "1500",
               "-au", "frontpbx", "-ap", "guess")
    assert run.wait(45) != 0, "sipp expected a 200 and must not get one"
    assert "403" in (tmp_path / "sipp" / "sipp-errors.log").read_text()
    assert agent.records == [] and agent.handlers == []


def test_a_call_limit_the_pjsua_build_cannot_hold_is_a_start_error(
    tmp_path: Path, start_agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEAGENT_PJSUA_MAX_CALLS", "8")  # says 8; the wheel holds 4
    with pytest.raises(SipStartError, match="holds at most 4 calls"):
        start_agent(max_calls=8)
