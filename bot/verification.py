"""Post-merge verification: follow a merged fix into the cluster and check that it worked.

When sync records a merge (:meth:`bot.sync.Syncer._merged`) it calls :meth:`Verifier.start`. Each sync pass
then calls :meth:`Verifier.run`, which moves every open verification one step (docs/verification.md):

1. ``deploying``: poll the Argo CD Application(s) the inventory names for the fix's files (read-only,
   ``GET /api/v1/applications/{name}``) until each is Healthy with a synced revision containing the merge
   commit (asked of git), or ``SECOPS_DEPLOY_DEADLINE`` passes → ``not_deployed``.
2. ``watching``: once ``SECOPS_VERIFY_PERIOD`` has passed since deployment, count the alerts from the blocked
   addresses to the targeted hosts in that period (the Wazuh indexer, or the alerts file) →
   ``verified`` (none) or ``still_firing``. A still-firing fix no longer suppresses new proposals for that
   attacker (``Scanner.finish`` escalates them, saying so; the dedup rule stops counting the fix).

Every step is posted in the proposal's thread (which also updates the card's status line) and recorded in
the audit log. An image bump (or a policy) is watched differently: its findings must be gone from the first
scanner report (``SECOPS_TRIVY_REPORTS``) written after deployment
(:func:`bot.core.verification.findings_remaining`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bot import messages
from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.core.errors import SourceError
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.core.verification import block_outcome, finding_outcome, findings_remaining, is_deployed
from bot.publishing import Notifier, NullNotifier
from bot.state import StateStore, Verification
from tools.argocd import AppState

log = logging.getLogger(__name__)

#: phases a pass still works on
OPEN_PHASES = ("deploying", "watching")
#: (addresses, targets, since, until) → alerts in that window
AlertCounter = Callable[[tuple[str, ...], tuple[str, ...], float, float], int]
#: (workloads, after) → the finding keys of the first report written after that time, or None (none yet)
FindingReports = Callable[[tuple[str, ...], float], "set[str] | None"]
#: operations whose fix is checked against the next report (the finding is gone), not against alerts
FINDING_OPERATIONS = ("set_image", "add_policy")


class Applications(Protocol):
    """The one Argo CD call the verifier makes (tools/argocd.py implements it; tests use a loopback server)."""

    def application(self, name: str) -> AppState: ...


def apps_for(proposal: Proposal, inventory: Inventory) -> tuple[str, ...]:
    """The Argo CD Applications that deploy a proposal's files: the servers' (block lists) and the
    workloads' (images) ``argocd_app`` in the inventory."""
    files = set(proposal.files) or {str(op.get("file")) for op in proposal.operations if op.get("file")}
    apps: set[str] = set()
    for server in inventory.servers:
        if server.argocd_app and any(cfg.path in files for cfg in server.configs):
            apps.add(server.argocd_app)
    for workload in inventory.workloads:
        if workload.argocd_app and any(image.path in files for image in workload.images):
            apps.add(workload.argocd_app)
    return tuple(sorted(apps))


def blocked_addresses(proposal: Proposal) -> tuple[str, ...]:
    """The attacker addresses a block proposal covers (a campaign's every address); empty for other fixes."""
    if not any(op.get("op") == "add_cidr" for op in proposal.operations):
        return ()
    group = proposal.group
    if group.attackers:
        return tuple(group.attackers)
    return (group.attacker,) if group.attacker else ()


def fixed_findings(proposal: Proposal) -> tuple[str, ...]:
    """The finding keys an image bump (or a policy) fixes (``CVE-…:package``, as its group lists them)."""
    if not any(op.get("op") in FINDING_OPERATIONS for op in proposal.operations):
        return ()
    return tuple(proposal.group.alert_ids)


def findings_in_reports(paths: Sequence[Path]) -> FindingReports:
    """The next report of the finding sources (``SECOPS_TRIVY_REPORTS``): the finding keys of the given
    workloads in the reports written after a time; None while no report is that new."""
    from tools.sources.findings_file import read_findings

    def next_report(targets: tuple[str, ...], after: float) -> set[str] | None:
        fresh = [p for p in paths if p.is_file() and p.stat().st_mtime >= after]
        if not fresh:
            return None
        wanted = set(targets)
        keys: set[str] = set()
        for path in fresh:
            for f in read_findings(path).findings:
                ref = f"{f.namespace}/{f.workload}" if f.workload else ""
                if not wanted or ref in wanted:
                    keys.add(f"{f.id}:{f.package}" if f.package else f.id)
        return keys

    return next_report


def count_in_file(path: Path) -> AlertCounter:
    """Counting alerts in the alerts file (one read of the file per question; verification is rare)."""
    from tools.sources.wazuh import AlertStream

    def count(addresses: tuple[str, ...], targets: tuple[str, ...], since: float, until: float) -> int:
        wanted, hosts = set(addresses), set(targets)
        return sum(
            1
            for a in AlertStream(path)
            if a.srcip in wanted
            and (not hosts or a.agent in hosts)
            and a.ts is not None
            and since <= a.ts < until
        )

    return count


class Verifier:
    """Moves verifications from merge to deployed to verified (or not), one step per pass."""

    def __init__(
        self,
        *,
        state: StateStore,
        audit: AuditLog,
        clock: Clock,
        inventory: Inventory,
        apps: Applications,
        contains: Callable[[str, str], bool],
        count_alerts: AlertCounter | None,
        notifier: Notifier | None = None,
        findings: FindingReports | None = None,
        deadline_s: float = 30 * 60.0,
        period_s: float = 30 * 60.0,
    ) -> None:
        self.state = state
        self.audit = audit
        self.clock = clock
        self.inventory = inventory
        self.apps = apps
        self.contains = contains
        self.count_alerts = count_alerts
        self.findings = findings
        self.notifier = notifier or NullNotifier()
        self.deadline_s = deadline_s
        self.period_s = period_s

    # --- from sync --------------------------------------------------------------------------------------

    def start(self, proposal_id: str, merge_commit: str | None) -> Verification | None:
        """Begin following a merged proposal (None when it is unknown or already followed)."""
        stored = self.state.get(proposal_id)
        if stored is None or self.state.verification(proposal_id) is not None:
            return None
        p = stored.proposal
        apps = apps_for(p, self.inventory)
        addresses = blocked_addresses(p)
        now = self.clock.now()
        phase = "deploying" if apps and merge_commit else "no_app"
        v = Verification(
            proposal_id=p.id,
            phase=phase,
            merge_commit=merge_commit or "",
            app=",".join(apps),
            attacker=p.group.attacker if addresses else None,
            merged_at=now,
            deployed_at=None,
            alerts=0,
            updated_at=now,
        )
        self.state.record_verification(v)
        self.audit.append(
            "verification_started",
            {"proposal": p.id, "commit": v.merge_commit, "apps": list(apps), "phase": phase},
        )
        if phase == "no_app":
            self._note(
                v, messages.verify_no_app(p.group.targets) if merge_commit else messages.verify_no_commit()
            )
        return v

    # --- one pass ---------------------------------------------------------------------------------------

    def run(self) -> int:
        """One step for every open verification; returns how many changed phase. A failing Argo CD or
        alert source is recorded and retried on the next pass (the deadline still applies)."""
        changed = 0
        for v in self.state.verifications(OPEN_PHASES):
            try:
                after = self._deploying(v) if v.phase == "deploying" else self._watching(v)
            except SourceError as exc:
                self.audit.append("verification_error", {"proposal": v.proposal_id, "error": str(exc)})
                log.warning("verification of %s: %s", v.proposal_id, exc)
                after = self._late(v, str(exc)) if v.phase == "deploying" else None
            if after is not None and after.phase != v.phase:
                changed += 1
        return changed

    def _deploying(self, v: Verification) -> Verification | None:
        now = self.clock.now()
        states = [self.apps.application(name) for name in v.app.split(",") if name]
        deployed = [s for s in states if is_deployed(s.health, s.revisions, v.merge_commit, self._contains)]
        if len(deployed) == len(states) and states:
            times = [self._deployed_at(s, v.merge_commit) for s in states]
            at = max([t for t in times if t is not None], default=now)
            stored = self.state.get(v.proposal_id)
            has_block = stored is not None and bool(blocked_addresses(stored.proposal))
            fixed = fixed_findings(stored.proposal) if stored is not None else ()
            watch = (has_block and self.count_alerts is not None) or (
                bool(fixed) and self.findings is not None
            )
            out = self._save(v, phase="watching" if watch else "deployed", deployed_at=at)
            if watch and has_block:
                self._note(out, messages.verify_deployed_watching(_hm(at), v.attacker or "", self.period_s))
            elif watch:
                self._note(out, messages.verify_deployed_findings(_hm(at), len(fixed)))
            else:
                self._note(out, messages.verify_deployed(_hm(at)))
            return out
        pending = next(s for s in states if s not in deployed) if states else None
        if now - v.merged_at >= self.deadline_s:
            why = (
                messages.verify_app_state(
                    pending.name, pending.sync_status, pending.health, pending.revisions
                )
                if pending
                else ""
            )
            return self._late(v, why)
        return None

    def _late(self, v: Verification, why: str) -> Verification | None:
        if self.clock.now() - v.merged_at < self.deadline_s:
            return None
        out = self._save(v, phase="not_deployed")
        self._note(out, messages.verify_not_deployed(self.deadline_s, why))
        return out

    def _watching(self, v: Verification) -> Verification | None:
        assert v.deployed_at is not None
        stored = self.state.get(v.proposal_id)
        if stored is not None and not blocked_addresses(stored.proposal):
            return self._next_report(v, stored.proposal)
        until = v.deployed_at + self.period_s
        if self.clock.now() < until or self.count_alerts is None:
            return None
        stored = self.state.get(v.proposal_id)
        if stored is None:
            return None
        p = stored.proposal
        n = self.count_alerts(blocked_addresses(p), tuple(p.group.targets), v.deployed_at, until)
        outcome = block_outcome(n)
        out = self._save(v, phase=outcome, alerts=n)
        if outcome == "verified":
            self._note(out, messages.verify_quiet(_hm(v.deployed_at), v.attacker or "", self.period_s))
        else:
            self._note(out, messages.verify_still_firing(n, self.period_s))
        return out

    def _next_report(self, v: Verification, p: Proposal) -> Verification | None:
        """An image bump or policy: are its findings gone from the first report written after deployment?"""
        assert v.deployed_at is not None
        fixed = fixed_findings(p)
        keys = self.findings(tuple(p.group.targets), v.deployed_at) if self.findings is not None else None
        if keys is None or not fixed:
            return None
        remaining = findings_remaining(fixed, keys)
        out = self._save(v, phase=finding_outcome(fixed, keys), alerts=len(remaining))
        if remaining:
            self._note(out, messages.verify_findings_remain(remaining))
        else:
            self._note(out, messages.verify_findings_gone(_hm(v.deployed_at), len(fixed)))
        return out

    # --- helpers ----------------------------------------------------------------------------------------

    def _contains(self, revision: str, commit: str) -> bool:
        try:
            return self.contains(revision, commit)
        except Exception:  # an unknown revision (not fetched, another repository): not this fix
            return False

    @staticmethod
    def _deployed_at(state: AppState, commit: str) -> float | None:
        for rev in state.revisions:
            at = state.deployed_at(rev)
            if at is not None:
                return at
        return state.deployed_at(commit)

    def _save(self, v: Verification, **changes: object) -> Verification:
        fields = {**v.__dict__, **changes, "updated_at": self.clock.now()}
        out = Verification(**fields)
        self.state.record_verification(out)
        self.audit.append(
            "verification",
            {
                "proposal": v.proposal_id,
                "phase": out.phase,
                "commit": out.merge_commit,
                "apps": out.app.split(",") if out.app else [],
                "deployed_at": out.deployed_at,
                "alerts": out.alerts,
            },
        )
        return out

    def _note(self, v: Verification, text: str) -> None:
        self.notifier.thread_note(v.proposal_id, text)


def _hm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def build_verifier(
    settings: object,
    *,
    state: StateStore,
    audit: AuditLog,
    clock: Clock,
    inventory: Inventory,
    contains: Callable[[str, str], bool],
    notifier: Notifier | None,
) -> Verifier | None:
    """The verifier the settings allow: None without ``SECOPS_ARGOCD_URL`` and its token."""
    from tools.argocd import argocd_from_settings
    from tools.sources.wazuh_indexer import reader_from_settings

    apps = argocd_from_settings(settings)
    if apps is None:
        return None
    reader = reader_from_settings(settings)
    alerts_path = getattr(settings, "alerts", None)
    reports = getattr(settings, "trivy_reports", ())
    counter: AlertCounter | None = (
        reader.count
        if reader is not None
        else count_in_file(alerts_path)
        if alerts_path is not None
        else None
    )
    return Verifier(
        state=state,
        audit=audit,
        clock=clock,
        inventory=inventory,
        apps=apps,
        contains=contains,
        count_alerts=counter,
        notifier=notifier,
        findings=findings_in_reports(tuple(reports)) if reports else None,
        deadline_s=float(getattr(settings, "deploy_deadline", 1800.0)),
        period_s=float(getattr(settings, "verify_period", 1800.0)),
    )
