"""Load a YAML file into a pydantic model, reporting errors with file, key path and line.

PyYAML's composer keeps the position of every node; we walk the node tree once to build
both the plain data and a map from key path to line, so a validation error deep inside the
data can still name the line a person has to edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from voiceagent.config.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
KeyPath = tuple[str | int, ...]


def format_key(path: KeyPath) -> str:
    """``("providers", 2, "hours")`` -> ``providers[2].hours``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Composer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[KeyPath, int] = {}

    def build(self, node: yaml.Node, at: KeyPath) -> Any:
        self.lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = yaml.safe_load(yaml.serialize(key_node))
                if not isinstance(key, str | int) or isinstance(key, bool):
                    raise ConfigError(
                        self.path, format_key(at), key_node.start_mark.line + 1,
                        f"keys must be text, got {key!r}",
                    )
                key = str(key)
                if key in out:
                    raise ConfigError(
                        self.path, format_key((*at, key)), key_node.start_mark.line + 1,
                        "key appears twice; keep one",
                    )
                self.lines[(*at, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*at, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*at, i)) for i, item in enumerate(node.value)]
        # Scalars: let PyYAML's resolver give them their type (int, bool, str, null...).
        return yaml.safe_load(yaml.serialize(node))


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse ``path`` into plain data plus a key-path -> line map."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "", None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", None, f"not UTF-8 text ({exc.reason})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(path, "", line, f"not valid YAML: {exc.problem}") from None
    if node is None:
        return {}, {}
    composer = _Composer(path)
    return composer.build(node, ()), composer.lines


def _line_for(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key (check its spelling and where it is indented)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("value_error", "assertion_error"):
        return message
    if isinstance(given, dict | list):
        return message
    return f"{message} (got {given!r})"


def validation_error(path: Path, lines: dict[KeyPath, int], exc: ValidationError) -> ConfigError:
    """Turn pydantic's first error into a ConfigError naming key and line."""
    first = exc.errors()[0]
    loc: KeyPath = tuple(
        part for part in first["loc"] if isinstance(part, int) or not part.startswith("function-")
    )
    more = len(exc.errors()) - 1
    extra = f" ({more} more problem(s) after this one)" if more else ""
    return ConfigError(path, format_key(loc), _line_for(lines, loc), _describe(first) + extra)


def load_model(path: Path | str, model: type[M]) -> M:
    """Read ``path`` and validate it as ``model``; raise ConfigError naming file, key and line."""
    path = Path(path)
    data, lines = read_yaml(path)
    return validate(path, data, lines, model)


def validate(path: Path, data: Any, lines: dict[KeyPath, int], model: type[M]) -> M:
    """Validate data read by :func:`read_yaml` (possibly amended) as ``model``."""
    if not isinstance(data, dict):
        raise ConfigError(path, "", 1, "the file must be a mapping of keys to values")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, lines, exc) from None
