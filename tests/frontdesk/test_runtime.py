"""Building the front desk from the pipeline config, as `serve` and `call` do."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from voiceagent.config.pipeline import PipelineConfig
from voiceagent.dialog.protocol import ReplyText, UserTurn
from voiceagent.frontdesk.runtime import FrontDesk, phone_dialog

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "clinic.yaml"


def config_for(tmp_path: Path) -> PipelineConfig:
    return PipelineConfig(data_dir=tmp_path, clinic=EXAMPLE)  # type: ignore[call-arg]


def test_front_desk_from_config_uses_the_example_clinic_and_a_fresh_database(tmp_path):
    desk = FrontDesk.from_config(config_for(tmp_path))
    try:
        assert desk.clinic.name == "Riverbend Physical Therapy"
        assert desk.capability == "small"
        assert (tmp_path / "voiceagent.db").exists()
    finally:
        desk.store.dispose()


def test_phone_dialog_factory_gives_a_working_dialog(tmp_path):
    dialog = phone_dialog(config_for(tmp_path), SimpleNamespace(llm=None))
    greeting = " ".join(e.text for e in dialog.greeting() if isinstance(e, ReplyText))
    assert greeting.startswith("Thank you for calling Riverbend Physical Therapy.")
    reply = list(dialog.respond(UserTurn("What are your hours?")))
    assert "Monday to Thursday 7 a.m. to 7 p.m." in " ".join(
        e.text for e in reply if isinstance(e, ReplyText))
    assert dialog.state.channel == "phone"
    dialog.backend.store.dispose()


def test_warming_computes_the_intent_prompt_before_the_first_caller(tmp_path):
    from voiceagent.frontdesk.policy import INTENT_PROMPT
    from voiceagent.llm.timing import TimedLLM

    class Model:
        warmed: list[str] = []

        def warm(self, system_prompt: str) -> float:
            self.warmed.append(system_prompt)
            return 0.0

    model = Model()
    desk = FrontDesk.from_config(config_for(tmp_path), llm=TimedLLM(model))  # type: ignore[arg-type]
    try:
        desk.warm()
    finally:
        desk.store.dispose()
    assert model.warmed == [INTENT_PROMPT]
