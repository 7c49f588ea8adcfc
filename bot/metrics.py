"""Prometheus metrics for ``serve``: what the bot read, decided, published, and how Slack and the models did.

Most counters are derived from the audit log: every decision is an audit record, and :meth:`Metrics.observe`
is called for each record once it is written (:meth:`bot.audit_log.AuditLog.observe`), so the numbers on
``/metrics`` count exactly what the audit log holds. The rest are measured where they happen: Slack API
errors and rate limits in the Web API client (:mod:`bot.slack.runtime`), scan duration in the service, the
queue and pending proposals read from the state store when scraped. Each instance has its own registry
(tests build as many as they like). The list with an alert for each is in docs/operations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

#: seconds from a group's first alert to the approval that publishes its fix
APPROVAL_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0)
SCAN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """Every metric of one process, in its own registry."""

    def __init__(self, first_alert_at: Callable[[str], float | None] | None = None) -> None:
        r = self.registry = CollectorRegistry()
        #: proposal id → time of the first alert of its group (from the state store)
        self.first_alert_at = first_alert_at or (lambda _pid: None)
        self.alerts_read = Counter("secops_alerts_read", "Alerts read from the alert sources", registry=r)
        self.alerts_malformed = Counter(
            "secops_alerts_malformed", "Alert lines that could not be parsed (skipped)", registry=r
        )
        self.groups = Counter("secops_groups", "Alert groups (one attacker or campaign) formed", registry=r)
        self.proposals = Counter(
            "secops_proposals",
            "New proposals by action (propose, blocked, escalate, suppressed, noop) and source",
            ("action", "source"),
            registry=r,
        )
        self.approvals = Counter(
            "secops_approvals",
            "Approve votes recorded (outcome: recorded or claimed)",
            ("outcome",),
            registry=r,
        )
        self.rejections = Counter("secops_rejections", "Proposals rejected by an approver", registry=r)
        self.prs_opened = Counter(
            "secops_pull_requests_opened", "Approved revisions published (a PR, or a branch)", registry=r
        )
        self.publish_failures = Counter(
            "secops_publish_failures", "Approved revisions whose publication failed", registry=r
        )
        self.prs_merged = Counter("secops_pull_requests_merged", "The bot's pull requests merged", registry=r)
        self.approval_latency = Histogram(
            "secops_alert_to_approval_seconds",
            "Seconds from a group's first alert to the approval that publishes its fix",
            buckets=APPROVAL_BUCKETS,
            registry=r,
        )
        self.slack_api_errors = Counter(
            "secops_slack_api_errors", "Slack Web API calls that failed, by method and error", ("method", "error"),
            registry=r,
        )  # fmt: skip
        self.slack_rate_limited = Counter(
            "secops_slack_rate_limited", "Slack Web API answers 429 (ratelimited), by method", ("method",),
            registry=r,
        )  # fmt: skip
        self.llm_calls = Counter(
            "secops_llm_calls",
            "LLM calls by role (fixer, reviewer) and outcome",
            ("role", "outcome"),
            registry=r,
        )
        self.llm_tokens = Counter(
            "secops_llm_tokens",
            "LLM tokens by role and direction (in, out)",
            ("role", "direction"),
            registry=r,
        )
        self.scan_duration = Histogram(
            "secops_scan_duration_seconds", "Duration of one scan, by trigger", ("trigger",),
            buckets=SCAN_BUCKETS, registry=r,
        )  # fmt: skip
        self.scan_failures = Counter(
            "secops_scan_failures", "Scans that failed, by trigger", ("trigger",), registry=r
        )
        self.queue_length = Gauge(
            "secops_queue_length", "Proposals held back by flood control (not yet posted)", registry=r
        )
        self.pending = Gauge("secops_proposals_pending", "Proposals waiting for a decision", registry=r)
        self.leader = Gauge(
            "secops_leader", "1 while this replica holds the leader lease, 0 on a standby", registry=r
        )

    # --- sources of the gauges -----------------------------------------------------------------------

    def watch_queue(self, length: Callable[[], float]) -> None:
        """Read the held-back queue's length at each scrape."""
        self.queue_length.set_function(_guarded(length))

    def watch_pending(self, count: Callable[[], float]) -> None:
        self.pending.set_function(_guarded(count))

    def watch_leader(self, leading: Callable[[], float]) -> None:
        """Whether this replica leads, read at each scrape (several replicas: exactly one shows 1)."""
        self.leader.set_function(_guarded(leading))

    # --- audit records -------------------------------------------------------------------------------

    def observe(self, ts: str, event: str, fields: Mapping[str, Any]) -> None:
        """Count one written audit record (``ts`` is its ISO time)."""
        if event == "scan":
            self.alerts_read.inc(_number(fields.get("alerts")))
            self.alerts_malformed.inc(_number(fields.get("malformed")))
            self.groups.inc(_number(fields.get("groups")))
        elif event == "proposal":
            source = str(fields.get("source") or "wazuh")
            self.proposals.labels(str(fields.get("action", "?")), source).inc()
        elif event == "approval":
            outcome = str(fields.get("outcome", "?"))
            self.approvals.labels(outcome).inc()
            if outcome == "claimed":
                self._approval_latency(ts, str(fields.get("proposal", "")))
        elif event == "rejection":
            self.rejections.inc()
        elif event == "publish_outcome":
            (self.prs_opened if fields.get("ok") else self.publish_failures).inc()
        elif event == "pr_merged":
            self.prs_merged.inc()
        elif event == "llm_step":
            role = str(fields.get("role", "?"))
            self.llm_calls.labels(role, str(fields.get("outcome", "?"))).inc()
            self.llm_tokens.labels(role, "in").inc(_number(fields.get("tokens_in")))
            self.llm_tokens.labels(role, "out").inc(_number(fields.get("tokens_out")))

    def _approval_latency(self, ts: str, proposal_id: str) -> None:
        first = self.first_alert_at(proposal_id)
        if first is None:
            return
        at = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        self.approval_latency.observe(max(0.0, at - first))

    # --- measured elsewhere --------------------------------------------------------------------------

    def slack_error(self, method: str, error: str) -> None:
        self.slack_api_errors.labels(method, error).inc()

    def slack_ratelimited(self, method: str) -> None:
        self.slack_rate_limited.labels(method).inc()

    def scan_done(self, trigger: str, seconds: float, ok: bool) -> None:
        trigger = trigger.split(":", 1)[0]  # "command:U123" → "command": no user ids as label values
        self.scan_duration.labels(trigger).observe(seconds)
        if not ok:
            self.scan_failures.labels(trigger).inc()

    # --- exposition ----------------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The ``/metrics`` body and its content type (Prometheus text format)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and value > 0 else 0.0


def _guarded(fn: Callable[[], float]) -> Callable[[], float]:
    def read() -> float:
        try:
            return float(fn())
        except Exception as exc:  # a failing store must not fail the scrape; /readyz says why
            log.debug("metrics gauge unavailable: %s", exc.__class__.__name__)
            return float("nan")

    return read
