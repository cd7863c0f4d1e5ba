"""``voiceagent talk`` on a machine without sound hardware, and the ``call`` CLI's errors."""

from __future__ import annotations

import argparse

import pytest

from voiceagent.channels.file import add_call_arguments, run_call
from voiceagent.channels.local import NoSoundDevice, check_sound_device, run_talk

pytestmark = pytest.mark.unit


def test_talk_without_a_sound_device_exits_with_a_clear_message(capsys):
    try:
        check_sound_device()
    except NoSoundDevice:
        pass
    else:
        pytest.skip("this machine has a sound device")
    assert run_talk(argparse.Namespace()) == 2
    err = capsys.readouterr().err
    assert "no microphone or speaker" in err or "sound is unavailable" in err
    assert "voiceagent call --wav" in err


def test_call_with_a_missing_wav_names_it(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_call_arguments(parser)
    args = parser.parse_args(
        [
            "--wav",
            str(tmp_path / "nope.wav"),
            "--out",
            str(tmp_path / "o.wav"),
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    assert run_call(args) == 2
    assert "nope.wav" in capsys.readouterr().err
