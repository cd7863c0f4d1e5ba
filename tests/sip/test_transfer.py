"""Transfers to staff: warm (summary, then connect), nobody answers (a message), toll fraud."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sip.conftest import (
    AGENT_PORT,
    CALLER_CTRL,
    CALLER_SIP,
    SIPP_STAFF_PORT,
    STAFF_CTRL,
    STAFF_SIP,
    Agent,
    Voice,
    assert_sipp_ok,
    sipp,
)
from tests.sip.peers import Baresip, voiced_seconds
from voiceagent.channels.sip import SipOptions, TransferOutcome

pytestmark = [pytest.mark.sip, pytest.mark.slow]

DTMF_4 = "/usr/share/sip-tester/dtmf_2833_4.pcap"


def test_warm_transfer_speaks_the_summary_to_staff_then_connects_the_caller(
    tmp_path: Path, voice: Voice, start_agent, peers: list
) -> None:
    silence = voice.caller_wav("", "staff-mic", rate=8000, tail_s=30)
    staff = Baresip(tmp_path / "staff", STAFF_SIP, STAFF_CTRL, silence, user="frontdesk",
                    answermode="auto")
    peers.append(staff)
    options = SipOptions(transfer_targets={"front_desk": f"sip:frontdesk@127.0.0.1:{STAFF_SIP}"},
                         ring_timeout_s=10)
    agent: Agent = start_agent(options, actions={"4": "transfer:front_desk"})
    caller = sipp(tmp_path, peers, "uac_dtmf.xml", "-m", "1", "-d", "9000",
                  "-key", "pcap", DTMF_4)
    staff.wait_event("CALL_ESTABLISHED", 15)
    assert_sipp_ok(caller, timeout=40)
    staff.wait_event("CALL_CLOSED", 15)  # the caller hung up: the agent ends the staff leg
    [record] = agent.wait_records(1)

    assert record.transfer_target == "front_desk"
    assert record.transfer_outcome == "connected"
    assert record.outcome == "transferred"
    assert agent.handlers[0].transfer_outcomes == [TransferOutcome.CONNECTED]
    # staff heard the one-sentence summary (~2 s of speech) before the caller was put through
    assert voiced_seconds(staff.received()) > 1.0


def test_transfer_nobody_answers_comes_back_and_takes_a_message(
    tmp_path: Path, voice: Voice, start_agent, peers: list
) -> None:
    ringing = sipp(tmp_path, peers, "uas_no_answer.xml", "-m", "1", port=SIPP_STAFF_PORT,
                   name="staff")
    options = SipOptions(
        transfer_targets={"front_desk": f"sip:frontdesk@127.0.0.1:{SIPP_STAFF_PORT}"},
        ring_timeout_s=3,
    )
    agent: Agent = start_agent(options, actions={"4": "transfer:front_desk"})
    caller = sipp(tmp_path, peers, "uac_dtmf.xml", "-m", "1", "-d", "9000",
                  "-key", "pcap", DTMF_4)
    assert_sipp_ok(caller, timeout=40)
    assert_sipp_ok(ringing, timeout=10)  # the staff phone rang and was cancelled (487)
    [record] = agent.wait_records(1)
    handler = agent.handlers[0]

    assert record.transfer_outcome == "no_answer"
    assert record.outcome == "caller_hung_up"
    assert handler.transfer_outcomes == [TransferOutcome.NO_ANSWER]
    assert handler.message_frames_sent == len(handler.after_failed_frames) > 0


def test_transfer_to_a_number_that_is_not_a_configured_target_is_refused(
    tmp_path: Path, start_agent, peers: list
) -> None:
    options = SipOptions(transfer_targets={"front_desk": "sip:frontdesk@127.0.0.1:25099"})
    agent: Agent = start_agent(options, actions={"4": "transfer:sip:900123@127.0.0.1:25099"})
    caller = sipp(tmp_path, peers, "uac_dtmf.xml", "-m", "1", "-d", "2500",
                  "-key", "pcap", DTMF_4)
    assert_sipp_ok(caller)
    [record] = agent.wait_records(1)
    assert record.transfer_outcome == "refused"
    assert agent.handlers[0].transfer_outcomes == [TransferOutcome.REFUSED]


def test_blind_transfer_refers_the_caller_to_staff_and_hangs_up_after_notify_200(
    tmp_path: Path, voice: Voice, start_agent, peers: list
) -> None:
    silence = voice.caller_wav("", "staff-mic", rate=8000, tail_s=30)
    staff = Baresip(tmp_path / "staff", STAFF_SIP, STAFF_CTRL, silence, user="frontdesk",
                    answermode="auto")
    peers.append(staff)
    options = SipOptions(transfer_targets={"front_desk": f"sip:frontdesk@127.0.0.1:{STAFF_SIP}"})
    agent: Agent = start_agent(options, first_turn_action="blind:front_desk")
    source = voice.caller_wav("I want to talk to a person.", "caller", tail_s=20)
    caller = Baresip(tmp_path / "caller", CALLER_SIP, CALLER_CTRL, source)
    peers.append(caller)
    caller.dial(f"sip:agent@127.0.0.1:{AGENT_PORT}")
    caller.wait_event("CALL_ESTABLISHED", 15)
    staff.wait_event("CALL_ESTABLISHED", 20)  # the caller followed the REFER to staff
    [record] = agent.wait_records(1, timeout=20)  # and the agent left the call

    assert record.transfer_target == "front_desk"
    assert record.transfer_outcome == "connected"
    assert record.outcome == "transferred"


def test_key_zero_at_any_time_sends_the_caller_to_the_front_desk(
    tmp_path: Path, start_agent, peers: list
) -> None:
    # this caller declines the REFER, so the agent stays on the line and says so
    options = SipOptions(transfer_targets={"front_desk": "sip:frontdesk@127.0.0.1:25099"})
    agent: Agent = start_agent(options)
    caller = sipp(tmp_path, peers, "uac_dtmf_refer_declined.xml", "-m", "1", "-d", "2000",
                  "-key", "pcap", "/usr/share/sip-tester/dtmf_2833_0.pcap")
    assert_sipp_ok(caller)
    [record] = agent.wait_records(1)
    assert record.dtmf == "0"
    assert record.transfer_target == "front_desk"
    assert record.transfer_outcome in ("failed", "no_answer")
    assert record.outcome == "caller_hung_up"
    assert agent.handlers[0].transfer_outcomes and (
        agent.handlers[0].transfer_outcomes[0] is not TransferOutcome.CONNECTED)
