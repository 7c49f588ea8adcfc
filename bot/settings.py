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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.core.checks import GuardPolicy
from bot.core.errors import ConfigError
from bot.core.image_refs import DEFAULT_MUTABLE_TAGS
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
    "trivy_reports": "SECOPS_TRIVY_REPORTS",
    "window": "SECOPS_WINDOW",
    "min_level": "SECOPS_MIN_LEVEL",
    "max_changed_lines": "SECOPS_MAX_CHANGED_LINES",
    "mutable_tags": "SECOPS_MUTABLE_TAGS",
    "campaign_min_attackers": "SECOPS_CAMPAIGN_MIN_ATTACKERS",
    "log_level": "SECOPS_LOG_LEVEL",
    # Slack (issue: Slack app)
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "slack_channel": "SECOPS_SLACK_CHANNEL",
    "approvers": "SECOPS_APPROVERS",
    "poll_interval": "SECOPS_POLL_INTERVAL",
    "approvals_required": "SECOPS_APPROVALS_REQUIRED",
    "proposal_expiry": "SECOPS_PROPOSAL_EXPIRY",
    "reject_period": "SECOPS_REJECT_PERIOD",
    "slack_posts_per_poll": "SECOPS_SLACK_POSTS_PER_POLL",
    "slack_posts_per_hour": "SECOPS_SLACK_POSTS_PER_HOUR",
    # LLM fixer and reviewer (issue: LangChain + Ollama)
    "ollama_host": "OLLAMA_HOST",
    "fixer_model": "SECOPS_FIXER_MODEL",
    "reviewer_model": "SECOPS_REVIEWER_MODEL",
    "llm_timeout": "SECOPS_LLM_TIMEOUT",
    "num_ctx": "SECOPS_NUM_CTX",
    "max_steps": "SECOPS_MAX_STEPS",
    "token_budget": "SECOPS_TOKEN_BUDGET",
    # Publishing (issue: GitHub PRs)
    "github_token": "GITHUB_TOKEN",
    "github_repository": "GITHUB_REPOSITORY",
    "github_api_url": "GITHUB_API_URL",
    "github_webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "git_remote_url": "SECOPS_GIT_REMOTE_URL",
    "git_default_branch": "SECOPS_GIT_DEFAULT_BRANCH",
    "git_author_name": "SECOPS_GIT_AUTHOR_NAME",
    "git_author_email": "SECOPS_GIT_AUTHOR_EMAIL",
    "pr_draft": "SECOPS_PR_DRAFT",
    "pr_reviewers": "SECOPS_PR_REVIEWERS",
    "sync_interval": "SECOPS_SYNC_INTERVAL",
    # Memory of past fixes (issue: dedup)
    "chroma_url": "SECOPS_CHROMA_URL",
    "dedup_threshold": "SECOPS_DEDUP_THRESHOLD",
    "dedup_show_threshold": "SECOPS_DEDUP_SHOW_THRESHOLD",
    # Kyverno engine
    "kyverno_bin": "SECOPS_KYVERNO_BIN",
    # Scale-out (issue 17): shared PostgreSQL state, one leader among replicas
    "database_url": "SECOPS_DATABASE_URL",
    "database_pool_size": "SECOPS_DATABASE_POOL_SIZE",
    "replica_id": "SECOPS_REPLICA_ID",
    "leader_lease": "SECOPS_LEADER_LEASE",
}


class Settings(BaseModel):
    """All settings of one process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("~/.local/share/secops-bot").expanduser()
    alerts: Path | None = None
    repo: Path | None = None
    cmdb: Path | None = None
    #: Trivy / trivy-operator reports to read (serve re-reads them when they change); in the environment,
    #: paths separated by ``:`` or ``,``.
    trivy_reports: tuple[Path, ...] = ()
    window: float = 15 * 60
    min_level: int = 7
    max_changed_lines: int = 20
    #: Image tags that name a moving target: set_image never proposes them (comma-separated in the environment).
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS
    #: Attackers of one /24 (IPv4) or /48 (IPv6) within the window that make one campaign proposal.
    campaign_min_attackers: int = Field(default=5, ge=2)
    log_level: str = "WARNING"

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None
    approvers: tuple[str, ...] = ()
    poll_interval: float = 60.0
    approvals_required: int = 1
    proposal_expiry: float = 24 * 3600
    reject_period: float = 30 * 86400
    # Flood control: channel messages the bot posts on its own per poll and per sliding hour (the rest is
    # held back, stored, summed up in one digest message and posted on request with `/secops-scan queue next`)
    slack_posts_per_poll: int = Field(default=20, ge=1)
    slack_posts_per_hour: int = Field(default=100, ge=1)

    ollama_host: str = "http://127.0.0.1:11434"
    fixer_model: str | None = None
    reviewer_model: str | None = None
    llm_timeout: float = 120.0
    num_ctx: int = 8192
    max_steps: int = 3
    token_budget: int = 6000

    github_token: SecretStr | None = None
    github_repository: str | None = None
    github_api_url: str = "https://api.github.com"
    github_webhook_secret: SecretStr | None = None
    git_remote_url: str | None = None
    git_default_branch: str = "main"
    git_author_name: str = "secops-bot"
    git_author_email: str = "secops-bot@users.noreply.github.com"
    pr_draft: bool = False
    pr_reviewers: str = ""  # inventory owner → GitHub reviewers: "team-shop=alice,@org/shop;team-data=bob"
    sync_interval: float = 300.0

    chroma_url: str | None = None
    dedup_threshold: float = 0.9
    dedup_show_threshold: float = 0.75

    kyverno_bin: str | None = None

    #: PostgreSQL for several replicas (``postgresql://user:password@host/db``); unset: SQLite in the data
    #: directory. With it the audit chain is kept in the database too (``audit export`` writes JSON lines).
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=8, ge=1)
    #: this replica's name in the leader lease (default: the host name, a pod's name in Kubernetes)
    replica_id: str | None = None
    #: how long a leader's lease lasts without renewal (another replica takes over after it)
    leader_lease: float = 30.0

    @field_validator("approvers", mode="before")
    @classmethod
    def _split_approvers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.replace(" ", ",").split(",") if v.strip())
        bad = [v for v in value if not re.match(r"^[UWS][A-Z0-9]{2,}$", str(v))]
        if bad:
            raise ValueError(f"{', '.join(map(str, bad))}: not Slack user (U…/W…) or user group (S…) ids")
        return value

    @field_validator(
        "poll_interval",
        "proposal_expiry",
        "reject_period",
        "llm_timeout",
        "sync_interval",
        "leader_lease",
        mode="before",
    )
    @classmethod
    def _durations(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError("must be positive")
        return seconds

    @field_validator("mutable_tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(t.strip() for t in value.split(",") if t.strip())
        return tuple(str(t).lower() for t in value)

    def guard_policy(self) -> GuardPolicy:
        """The guard's limits from these settings (the same everywhere the guard runs)."""
        return GuardPolicy(max_changed_lines=self.max_changed_lines, mutable_tags=self.mutable_tags)

    @field_validator("trivy_reports", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(p.strip() for p in re.split(r"[:,]", value) if p.strip())
        return tuple(Path(str(v)).expanduser() for v in value)

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
