"""The one error a bad configuration file raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ConfigError(Exception):
    """A configuration file is invalid.

    Attributes:
        path: the file.
        key: the key path inside it, e.g. ``providers[2].hours.tue`` ('' for the whole file).
        line: 1-based line of the offending key or value, when known.
        problem: what is wrong and what was expected.
    """

    path: Path
    key: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.problem}"
