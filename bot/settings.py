"""Settings, read once at start-up into a frozen, validated object.

Every setting has an environment variable (``SECOPS_<NAME>``, or the name a tool's users already know, such
as ``SLACK_BOT_TOKEN``). Values come from, lowest first: the defaults, a config file (TOML or YAML, keys named
like the environment variables; ``--config`` or ``SECOPS_CONFIG``), the environment, then command-line flags.
Every secret also has a ``<NAME>_FILE`` variant (in the file or the environment) naming a file that holds it,
the way Kubernetes mounts Secrets. Unknown ``SECOPS_*`` variables and unknown file keys fail (a typo must not
silently fall back to a default), secrets are ``SecretStr`` and registered for redaction, and an error names
the variable to fix. :func:`load_settings_with_sources` also says where each value came from
(``secops-bot config show``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.core.checks import GuardPolicy
from bot.core.errors import ConfigError
from bot.core.image_refs import DEFAULT_MUTABLE_TAGS
from bot.core.redact import register_secret
from bot.setting_names import CONFIG_ENV, ENV_NAMES, parse_duration

__all__ = [
    "CONFIG_ENV",
    "ENV_NAMES",
    "FILE_VARIANTS",
    "SECRET_NAMES",
    "Settings",
    "load_settings",
    "parse_duration",
]


class Settings(BaseSettings):
    """All settings of one process.

    Built only by :func:`load_settings` (or from explicit values in tests): constructing it never reads
    the process environment or a file by itself (see ``settings_customise_sources``).
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("~/.local/share/secops-bot").expanduser()
    alerts: Path | None = None
    repo: Path | None = None
    cmdb: Path | None = None
    #: Trivy / trivy-operator reports to read (serve re-reads them when they change); in the environment,
    #: paths separated by ``:`` or ``,``.
    trivy_reports: tuple[Path, ...] = ()
    #: Dependency reports (pip-audit, osv-scanner, npm audit, trivy fs) and the application repository
    #: (inventory ``app_repos:``) each belongs to, as ``REPORT=APP`` pairs separated by ``,`` (issue 18).
    deps_reports: tuple[tuple[Path, str], ...] = ()
    #: The OSV query API the dependency re-audit's pip-audit uses (default: pip-audit's, api.osv.dev).
    osv_url: str | None = None
    window: float = 15 * 60
    min_level: int = 7
    max_changed_lines: int = 20
    #: Image tags that name a moving target: set_image never proposes them (comma-separated in the environment).
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS
    #: Attackers of one /24 (IPv4) or /48 (IPv6) within the window that make one campaign proposal.
    campaign_min_attackers: int = Field(default=5, ge=2)
    log_level: str = "WARNING"
    #: ``json`` (one object a line) or ``text``; unset: json when stderr is not a terminal (a container)
    log_format: str | None = None
    #: Socket Mode: port of the small HTTP server for /healthz, /readyz and /metrics (0: none)
    health_port: int = Field(default=8080, ge=0, le=65535)

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

    # Wazuh indexer pull (issue 15): an OpenSearch URL instead of the alerts file
    indexer: str | None = None
    indexer_index: str = "wazuh-alerts-4.x-*"
    indexer_username: str | None = None
    indexer_password: SecretStr | None = None
    indexer_api_key: SecretStr | None = None
    indexer_ca_bundle: Path | None = None
    indexer_verify_tls: bool = True
    indexer_timeout: float = 30.0
    indexer_page_size: int = Field(default=5000, ge=1, le=10_000)
    indexer_overlap: float = 5 * 60.0

    # Post-merge verification (issue 15): Argo CD (read-only token) and how long to wait and watch
    argocd_url: str | None = None
    argocd_token: SecretStr | None = None
    argocd_ca_bundle: Path | None = None
    argocd_verify_tls: bool = True
    deploy_deadline: float = 30 * 60.0
    verify_period: float = 30 * 60.0

    @field_validator("indexer_timeout", "indexer_overlap", "deploy_deadline", "verify_period", mode="before")
    @classmethod
    def _issue15_durations(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError("must be positive")
        return seconds

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

    @field_validator("deps_reports", mode="before")
    @classmethod
    def _report_app_pairs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        pairs = []
        for item in value:
            if isinstance(item, str):
                path, sep, app = item.rpartition("=")
                if not sep or not path.strip() or not app.strip():
                    raise ValueError(f"{item!r} is not REPORT=APP (a report path, '=', an app_repos name)")
                item = (path.strip(), app.strip())
            path, app = item
            pairs.append((Path(str(path)).expanduser(), str(app)))
        return tuple(pairs)

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError("must be positive")
        return seconds

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> str:
        level = str(value).strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"{value!r} is not a log level (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> str | None:
        if value is None:
            return None
        text = str(value).strip().lower()
        if text not in ("json", "text"):
            raise ValueError(f"{value!r} is not a log format (json or text)")
        return text

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit values: the layers (file, environment, *_FILE, flags) are merged by load_settings,
        # which knows each value's origin; no env read at construction (the wiring rule).
        return (init_settings,)

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


#: the settings that are secrets: each also takes ``<ENV>_FILE``
SECRET_NAMES = tuple(
    name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)
)
FILE_VARIANTS: dict[str, str] = {ENV_NAMES[name] + "_FILE": name for name in SECRET_NAMES}


def _config_values(path: Path) -> dict[str, Any]:
    """The config file's keys (environment variable names, any case), TOML or YAML by its suffix."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{CONFIG_ENV} {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(raw.decode("utf-8"))
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw) or {}
        else:
            raise ConfigError(f"{CONFIG_ENV} {path}: use a .toml, .yaml or .yml file")
    except (ValueError, UnicodeDecodeError) as exc:  # tomllib and yaml errors are ValueError subclasses
        raise ConfigError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from None
    except Exception as exc:  # yaml.YAMLError
        if exc.__class__.__module__.startswith("yaml"):
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        raise
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the file must hold a table of settings (KEY = value)")
    return {str(k).upper(): v for k, v in data.items()}


def _read_secret_file(var: str, path_text: str, base: Path | None) -> str:
    path = Path(str(path_text)).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{var} {path}: {exc.strerror or exc}") from None


def _layer(
    values: Mapping[str, Any], origin: str, *, base: Path | None, strict: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Setting values and their origins from one layer (the file or the environment), by variable name."""
    known_env = {v: k for k, v in ENV_NAMES.items()}
    out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for var, value in values.items():
        if var == CONFIG_ENV:
            continue
        if var in FILE_VARIANTS:
            if value in ("", None):
                continue
            name = FILE_VARIANTS[var]
            direct = ENV_NAMES[name]
            if values.get(direct) not in (None, ""):
                raise ConfigError(f"{direct} and {var} are both set in {origin}; set one")
            out[name] = _read_secret_file(var, value, base)
            sources[name] = f"{origin} {var} ({value})"
        elif var in known_env:
            if value in ("", None):
                continue
            out[known_env[var]] = value
            sources[known_env[var]] = f"{origin} {var}"
        elif strict or var.startswith("SECOPS_"):
            raise ConfigError(f"unknown setting {var}; known: {', '.join(sorted(known_env))}")
    return out, sources


def load_settings_with_sources(
    env: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> tuple[Settings, dict[str, str]]:
    """Settings from the config file, the environment (and *_FILE), then flags; and each value's origin."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config = env.get(CONFIG_ENV, "")
    if config:
        path = Path(config).expanduser()
        file_values, file_sources = _layer(
            _config_values(path), f"file {path}", base=path.parent, strict=True
        )
        values.update(file_values)
        sources.update(file_sources)
    env_values, env_sources = _layer(env, "env", base=None, strict=False)
    values.update(env_values)
    sources.update(env_sources)
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
            sources[k] = "flag --" + k.replace("_", "-")
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        var = ENV_NAMES.get(name, name)
        where = f" [{sources[name]}]" if name in sources and not sources[name].startswith("env ") else ""
        raise ConfigError(f"{var} ({'--' + name.replace('_', '-')}){where}: {err['msg']}") from None
    for value in settings.__dict__.values():
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
    return settings, {name: sources.get(name, "default") for name in Settings.model_fields}


def load_settings(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the config file, the environment (and *_FILE), then flags; secrets registered."""
    return load_settings_with_sources(env, overrides)[0]
