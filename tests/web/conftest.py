"""A clinic store with one account per role, a settable clock, and a signed-in client."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.frontdesk.conftest import CLINIC, MONDAY_10AM, make_clinic
from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store, open_store
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.web.accounts import add_user

PASSWORD = "correct horse 42"
TOKEN = "integration-token-1"
USERS = {"desk": "front_desk", "thera": "therapist", "bill": "billing", "boss": "admin",
         "desk2": "front_desk"}
CATEGORIES = [*CLINIC["message_categories"],  # type: ignore[misc]
              {"id": "billing", "name": "Billing question", "owner_role": "billing"}]


def workspace_clinic() -> ClinicConfig:
    return make_clinic(message_categories=CATEGORIES,
                       rooms=[{"id": "room-1", "name": "Room 1"}])


@pytest.fixture(scope="session")
def accounts_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once, with the accounts (argon2 is slow on purpose)."""
    path = tmp_path_factory.mktemp("web") / "clinic.db"
    store = open_store(f"sqlite:///{path}")
    for name, role in USERS.items():
        add_user(store, username=name, role=role, password=PASSWORD,
                 display_name=name.title())
    store.dispose()
    return path


@dataclass
class Env:
    store: Store
    clinic: ClinicConfig
    clock: list[datetime]
    frontdesk: FrontDesk

    def client(self, token: str | None = TOKEN) -> TestClient:
        from voiceagent.api.app import create_app

        return TestClient(create_app(frontdesk=self.frontdesk, api_token=token),
                          base_url="http://127.0.0.1")

    def signed_in(self, username: str) -> SignedIn:
        client = self.client()
        response = sign_in(client, username, PASSWORD)
        assert response.status_code == 303, response.text
        return SignedIn(client, csrf_of(client))


@dataclass
class SignedIn:
    client: TestClient
    csrf: str

    def post(self, path: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})


def sign_in(client: TestClient, username: str, password: str, next_path: str = "/"):  # type: ignore[no-untyped-def]
    page = client.get("/app/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post("/app/login", data={"username": username, "password": password,
                                           "login_token": token[1], "next": next_path},
                       follow_redirects=False)


def csrf_of(client: TestClient) -> str:
    page = client.get("/app/")
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found[1]


@pytest.fixture
def env(tmp_path: Path, accounts_db: Path) -> Iterator[Env]:
    shutil.copyfile(accounts_db, tmp_path / "clinic.db")
    store = open_store(f"sqlite:///{tmp_path / 'clinic.db'}", migrate=False)
    clock = [MONDAY_10AM]
    clinic = workspace_clinic()
    yield Env(store, clinic, clock, FrontDesk(store, clinic, clock=lambda: clock[0]))
    store.dispose()
