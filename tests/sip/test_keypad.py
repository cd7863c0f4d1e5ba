"""A caller keys in a date of birth, a member ID and a confirmation over SIP (sipp), as RFC
2833 telephone-events and as SIP INFO: the keys reach the dialog as caller turns, and the
call ends the way the dialog says. The speech models are fakes: the keys are what is tested."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fakes.keypad_dialog import GOODBYE, KeypadDialog
from tests.fakes.speech import FakeSTT, FakeTTS, FakeVAD
from tests.sip.conftest import AGENT_RTP, assert_sipp_ok, sip_config, sipp
from tests.sip.peers import Sipp
from voiceagent.channels.sip import SipEndpoint, SipOptions
from voiceagent.channels.sip.handler import CallRecord
from voiceagent.channels.sip.speech_handler import speech_handler_factory
from voiceagent.speech.memory_log import MemoryCallLog
from voiceagent.speech.resources import PipelineResources
from voiceagent.speech.tts import PhraseCache

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def keyed_call(tmp_path: Path, peers: list,
               scenario: str) -> tuple[KeypadDialog, CallRecord, MemoryCallLog, Sipp]:
    config = sip_config(tmp_path)
    tts = FakeTTS()
    resources = PipelineResources(stt=FakeSTT(), tts=tts, phrases=PhraseCache(tts),
                                  vad_factory=FakeVAD)
    dialogs: list[KeypadDialog] = []

    def new_dialog() -> KeypadDialog:
        dialogs.append(KeypadDialog())
        return dialogs[-1]

    call_log = MemoryCallLog()
    records: list[CallRecord] = []
    # 0 is the front-desk key on this line, and a digit of the member ID keyed in below
    endpoint = SipEndpoint(config, speech_handler_factory(resources, new_dialog, call_log, config),
                           SipOptions(rtp_port=AGENT_RTP, rtp_port_range=100,
                                      transfer_targets={"front_desk": "sip:desk@127.0.0.1:25099"},
                                      on_call_ended=records.append))
    endpoint.start()
    peers.append(type("Stop", (), {"close": lambda self: endpoint.stop(grace_s=1.0)})())
    caller = sipp(tmp_path, peers, scenario, "-m", "1")
    caller.wait(60)
    deadline = time.monotonic() + 10
    while not records and time.monotonic() < deadline:
        time.sleep(0.1)
    [record] = records
    [dialog] = dialogs
    return dialog, record, call_log, caller


@pytest.mark.parametrize("scenario", ["uac_keys_rfc2833.xml", "uac_keys_info.xml"])
def test_keyed_date_of_birth_and_member_id_reach_the_dialog(
    tmp_path: Path, peers: list, scenario: str
) -> None:
    dialog, record, call_log, caller = keyed_call(tmp_path, peers, scenario)

    assert [t.dtmf for t in dialog.turns] == ["03151980", "12304560", "1"]
    assert record.dtmf == "0315198012304560#1"
    assert record.transfer_target is None  # the 0s were digits, not the front desk
    [call] = call_log.calls.values()
    assert call.outcome == "completed"
    assert [t.text for t in call.turns if t.role == "agent"][-1] == GOODBYE
    assert_sipp_ok(caller)  # the caller got the agent's BYE
