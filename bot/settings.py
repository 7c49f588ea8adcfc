"""Settings, read once at start-up into a frozen, validated object.

Every setting has an environment variable (``SECOPS_<NAME>``, or the name a tool's users already know, such
as ``SLACK_BOT_TOKEN``); command-line flags override the environment. Unknown ``SECOPS_*`` variables fail
(a typo must not silently fall back to a default), secrets are ``SecretStr`` and registered for redaction,
and an error names the variable to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from bot.core.errors import ConfigError
from bot.core.redact import register_secret

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str | float | int) -> float:
    """``90s``, ``15m``, ``2h``, ``1d`` or a number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration (use 90s, 15m, 2h or 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


#: setting name → environment variable
ENV_NAMES: dict[str, str] = {
    "data_dir": "SECOPS_DATA_DIR",
    "alerts": "SECOPS_ALERTS",
    "repo": "SECOPS_REPO",
    "cmdb": "SECOPS_CMDB",
    "window": "SECOPS_WINDOW",
    "min_level": "SECOPS_MIN_LEVEL",
    "max_changed_lines": "SECOPS_MAX_CHANGED_LINES",
    "log_level": "SECOPS_LOG_LEVEL",
}


class Settings(BaseModel):
    """All settings of one process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("~/.local/share/secops-bot").expanduser()
    alerts: Path | None = None
    repo: Path | None = None
    cmdb: Path | None = None
    window: float = 15 * 60
    min_level: int = 7
    max_changed_lines: int = 20
    log_level: str = "WARNING"

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError("must be positive")
        return seconds

    @field_validator("data_dir", "alerts", "repo", "cmdb", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.db"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.jsonl"

    def require(self, *names: str) -> None:
        """Fail with the variable's name when a setting a command needs is missing."""
        for name in names:
            if getattr(self, name) is None:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} (or {ENV_NAMES[name]}) is required")


def load_settings(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the environment, then flags; secrets registered for redaction."""
    known_env = {v: k for k, v in ENV_NAMES.items()}
    values: dict[str, Any] = {}
    for var, text in env.items():
        if var.startswith("SECOPS_") and var not in known_env:
            raise ConfigError(f"unknown setting {var}; known: {', '.join(sorted(known_env))}")
        if var in known_env and text != "":
            values[known_env[var]] = text
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        var = ENV_NAMES.get(name, name)
        raise ConfigError(f"{var} ({'--' + name.replace('_', '-')}): {err['msg']}") from None
    for value in settings.__dict__.values():
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
    return settings
