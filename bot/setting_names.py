"""The settings' environment variable names and the duration syntax: stdlib only, so that building the CLI
(``secops-bot --help``) does not import pydantic. :mod:`bot.settings` holds the model and re-exports these."""

from __future__ import annotations

import re

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
    # Dependency bumps (issue 18): REPORT=APP pairs serve reads when they change; the re-audit's OSV service
    "deps_reports": "SECOPS_DEPS_REPORTS",
    "osv_url": "SECOPS_OSV_URL",
    "window": "SECOPS_WINDOW",
    "min_level": "SECOPS_MIN_LEVEL",
    "max_changed_lines": "SECOPS_MAX_CHANGED_LINES",
    "mutable_tags": "SECOPS_MUTABLE_TAGS",
    "campaign_min_attackers": "SECOPS_CAMPAIGN_MIN_ATTACKERS",
    "log_level": "SECOPS_LOG_LEVEL",
    # Operations kit (issue 16)
    "log_format": "SECOPS_LOG_FORMAT",
    "health_port": "SECOPS_HEALTH_PORT",
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
    # Wazuh indexer pull (issue 15; docs/alerts.md, "Wazuh indexer"); secrets also take <NAME>_FILE
    "indexer": "SECOPS_INDEXER_URL",
    "indexer_index": "SECOPS_INDEXER_INDEX",
    "indexer_username": "SECOPS_INDEXER_USERNAME",
    "indexer_password": "SECOPS_INDEXER_PASSWORD",
    "indexer_api_key": "SECOPS_INDEXER_API_KEY",
    "indexer_ca_bundle": "SECOPS_INDEXER_CA_BUNDLE",
    "indexer_verify_tls": "SECOPS_INDEXER_VERIFY_TLS",
    "indexer_timeout": "SECOPS_INDEXER_TIMEOUT",
    "indexer_page_size": "SECOPS_INDEXER_PAGE_SIZE",
    "indexer_overlap": "SECOPS_INDEXER_OVERLAP",
    # Post-merge verification (issue 15; docs/verification.md)
    "argocd_url": "SECOPS_ARGOCD_URL",
    "argocd_token": "SECOPS_ARGOCD_TOKEN",
    "argocd_ca_bundle": "SECOPS_ARGOCD_CA_BUNDLE",
    "argocd_verify_tls": "SECOPS_ARGOCD_VERIFY_TLS",
    "deploy_deadline": "SECOPS_DEPLOY_DEADLINE",
    "verify_period": "SECOPS_VERIFY_PERIOD",
    # Scale-out (issue 17): shared PostgreSQL state, one leader among replicas
    "database_url": "SECOPS_DATABASE_URL",
    "database_pool_size": "SECOPS_DATABASE_POOL_SIZE",
    "replica_id": "SECOPS_REPLICA_ID",
    "leader_lease": "SECOPS_LEADER_LEASE",
}


#: the environment variable naming the config file (not a setting itself)
CONFIG_ENV = "SECOPS_CONFIG"
