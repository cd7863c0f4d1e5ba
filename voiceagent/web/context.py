"""What every workspace request works with: the store, the clinic, the clock, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from voiceagent.clinic.config import ClinicConfig
from voiceagent.clinic.db import Store
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.web.accounts import LockoutPolicy
from voiceagent.web.live import LiveBoard


@dataclass
class WorkspaceSettings:
    """Access rules. ``idle`` signs a browser out after that long without a request."""

    idle: timedelta = timedelta(minutes=15)
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    cookie_name: str = "va_session"


@dataclass
class Workspace:
    frontdesk: FrontDesk
    api_token: str | None
    settings: WorkspaceSettings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    live: Callable[[], LiveBoard | None] = field(default=lambda: None)
    config: PipelineConfig | None = None

    @property
    def store(self) -> Store:
        return self.frontdesk.store

    @property
    def clinic(self) -> ClinicConfig:
        return self.frontdesk.clinic

    def now(self) -> datetime:
        return self.clock()
