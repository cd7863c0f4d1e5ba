"""Base class for every configuration section: unknown keys are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section that rejects unknown keys (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
