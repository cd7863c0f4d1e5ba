"""Configuration files: YAML with line-aware validation errors."""

from voiceagent.config.errors import ConfigError
from voiceagent.config.yamlfile import load_model

__all__ = ["ConfigError", "load_model"]
