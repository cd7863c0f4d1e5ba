"""``voiceagent users``: the first admin from the shell; passwords never on the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.frontdesk.conftest import MONDAY_10AM
from voiceagent.cli import main
from voiceagent.clinic.db import open_store
from voiceagent.web.accounts import authenticate

pytestmark = pytest.mark.unit


def test_users_add_list_disable_and_enable(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["--config", str(config), "users", "add", "Alice", "--role", "admin",
                 "--name", "Alice Admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--config", str(config), "users", "add", "bob", "--role", "billing",
                 "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["--config", str(config), "users", "list"]) == 0
    listed = capsys.readouterr().out
    assert "alice" in listed and "admin" in listed and "active" in listed
    assert "bob" not in listed and "secret" not in listed
    assert main(["--config", str(config), "users", "disable", "alice"]) == 0
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'voiceagent.db'}")
    try:
        assert authenticate(store, "alice", "a long enough secret", now=MONDAY_10AM).user is None
        assert main(["--config", str(config), "users", "enable", "alice"]) == 0
        signed = authenticate(store, "alice", "a long enough secret", now=MONDAY_10AM)
        assert signed.user is not None and signed.user.display_name == "Alice Admin"
    finally:
        store.dispose()
    assert main(["--config", str(config), "users", "disable", "nobody"]) == 2
