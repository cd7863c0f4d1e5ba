"""The front desk for a process: clinic, store, model; makes one dialog per call or chat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voiceagent.clinic.audit import Actor
from voiceagent.clinic.config import ClinicConfig, load_clinic
from voiceagent.clinic.db import Store, open_store
from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.calllog import CallLog
from voiceagent.frontdesk.backend import FrontDeskBackend
from voiceagent.frontdesk.policy import INTENT_PROMPT, Capability, FrontDeskDialog
from voiceagent.frontdesk.state import ConversationState
from voiceagent.llm.protocol import LLM


@dataclass
class FrontDesk:
    """Shared by every conversation in the process (all state lives in the store)."""

    store: Store
    clinic: ClinicConfig
    llm: LLM | None = None
    capability: Capability = "small"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    hangup_after_silences: int = 2

    @classmethod
    def from_config(cls, config: PipelineConfig, llm: LLM | None = None,
                    store: Store | None = None) -> FrontDesk:
        """Load the clinic file and open (and migrate) the database the config names."""
        clinic = load_clinic(config.clinic)
        return cls(
            store=store or open_store(config.database_url()), clinic=clinic, llm=llm,
            capability=config.models.llm.capability,
            hangup_after_silences=config.endpointing.hangup_after_reprompts,
        )

    def warm(self) -> None:
        """Compute the intent prompt's KV state now, so the first caller does not wait."""
        warm = getattr(self.llm, "warm", None)
        if warm is not None:
            warm(INTENT_PROMPT)

    def dialog(
        self,
        *,
        channel: str = "phone",
        call_id: str | None = None,
        call_log: CallLog | None = None,
        state: ConversationState | None = None,
        caller_id: str | None = None,
    ) -> FrontDeskDialog:
        """A dialog for one conversation; ``call_log`` records its turns and tool calls."""
        backend = FrontDeskBackend(self.store, self.clinic, Actor("assistant", call_id),
                                   clock=self.clock)
        state = state or ConversationState(channel=channel, caller_id=caller_id)
        return FrontDeskDialog(
            backend, llm=self.llm, capability=self.capability, state=state, call_log=call_log,
            call_id=call_id, hangup_after_silences=self.hangup_after_silences,
        )


_shared: dict[str, FrontDesk] = {}


def phone_dialog(
    config: PipelineConfig, resources: Any, call_id: str | None = None
) -> FrontDeskDialog:
    """A ``DialogFactory`` for the speech channels: ``(config, resources) -> Dialog``.

    The front desk (clinic file, store) is loaded once per process and database. With
    ``call_id`` (the CallLog's id for this call) the audit log ties every record the call
    touches to it; the speech session records the turns itself.
    """
    key = f"{config.clinic}|{config.database_url()}"
    llm = getattr(resources, "llm", None)
    if key not in _shared:
        _shared[key] = FrontDesk.from_config(config, llm=llm)
        _shared[key].warm()
    desk = _shared[key]
    if desk.llm is not llm:  # other models loaded since (the benchmark's next combination)
        desk.llm = llm
        desk.warm()
    return desk.dialog(channel="phone", call_id=call_id)
