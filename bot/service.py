"""The proposal service: what Slack (and any other front end) can ask of the bot.

No Slack here: methods take plain values (user ids, proposal ids, revision hashes) and return results the
Slack layer renders. Every decision is appended to the audit log with the acting user's id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot import messages
from bot.approvals import ApprovalStore, OutboxEntry
from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.core.errors import AuditError, StateError
from bot.core.instructions import (
    apply_instruction,
    changed_labels,
    parse_instruction,
    restore_target,
)
from bot.core.proposal import LlmUsage, Proposal
from bot.database import driver_errors
from bot.pipeline import Scanner, ScanReport, Since
from bot.publishing import Approval, Publisher, PublishResult
from bot.settings import Settings
from bot.state import StateStore, StoredProposal
from tools.sources.wazuh_indexer import IndexerReader

if TYPE_CHECKING:
    from bot.dependency_serve import DependencyReports

log = logging.getLogger(__name__)

POSTED_ACTIONS = ("propose", "blocked", "escalate")
# Failures of the bot's own storage (full disk, unwritable audit log): a publication hit by one stays queued in
# the outbox and is retried on the next pass instead of sending the proposal back to pending.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (AuditError, StateError, *driver_errors(), OSError)
# Escalation buttons (issue 12): the action id's verb → the decision recorded; a mute lasts 24 hours.
ESCALATION_DECISIONS = {"acknowledge": "acknowledged", "assign": "assigned", "mute": "muted"}
ESCALATION_KINDS = tuple(ESCALATION_DECISIONS.values())
MUTE_SECONDS = 24 * 3600


@dataclass
class ScanOutcome:
    """One scan, for the poller and ``/secops-scan``."""

    report: ScanReport | None
    new: list[Proposal] = field(default_factory=list)
    error: str | None = None
    folded: list[Proposal] = field(default_factory=list)  # repeats counted into a pending proposal
    revised: list[Proposal] = field(default_factory=list)  # pending proposals a newer scan gave a revision

    def count(self, action: str) -> int:
        return sum(1 for p in self.new if p.action == action)

    @property
    def suppressed(self) -> int:
        if self.report is None:
            return 0
        return sum(
            1 for p in self.report.proposals if p.action == "suppressed" and p.id in self.report.new_ids
        )

    @property
    def malformed(self) -> int:
        return self.report.read.malformed_count if self.report else 0


@dataclass(frozen=True)
class ActionResult:
    """What happened when someone clicked, submitted or asked; ``kind`` picks the message shown."""

    kind: str
    proposal: Proposal | None = None
    status: str = ""
    approvers: tuple[str, ...] = ()
    publish: PublishResult | None = None
    text: str = ""
    previous_revision: int | None = None


class ProposalService:
    """Scans, approvals, rejections, revisions and status, over the state store and the audit log."""

    def __init__(
        self,
        *,
        settings: Settings,
        scanner: Scanner,
        state: StateStore,
        approvals: ApprovalStore,
        audit: AuditLog,
        clock: Clock,
        publisher: Publisher | None,
        alerts_path: Path | None,
        before_scan: Callable[[], None] | None = None,
        report_paths: Sequence[Path] = (),
        indexer: IndexerReader | None = None,
        replica: str = "local",
        deps: DependencyReports | None = None,
    ) -> None:
        self.settings = settings
        self.replica = replica  # this replica's name on the outbox's publishing claims
        self.scanner = scanner
        self.state = state
        self.approvals = approvals
        self.audit = audit
        self.clock = clock
        self.publisher = publisher
        self.alerts_path = alerts_path
        self.report_paths = tuple(report_paths)
        self.before_scan = before_scan
        self.indexer = indexer  # the Wazuh indexer instead of the alerts file (issue 15)
        self.deps = deps  # dependency reports of application repositories (issue 18)
        self._scan_lock = threading.Lock()
        # (proposal id, revision hash) being voted on or published in this process: one publisher per revision
        self._inflight: set[tuple[str, str]] = set()
        self._inflight_changed = threading.Condition()
        self._closing = False
        # approver ids → Slack display names for PR bodies; the Slack app sets it (users.info)
        self.display_names: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda ids: ()
        # told each scan's trigger, duration (s) and success (metrics); set by the runtime
        self.on_scan: Callable[[str, float, bool], None] | None = None

    # --- scanning --------------------------------------------------------------------------------------

    def scan(self, trigger: str) -> ScanOutcome:
        """Pull new alerts from the stored offset; one scan at a time (the poller and the command share it)."""
        started = time.perf_counter()
        outcome = self._scan(trigger)
        if self.on_scan is not None:
            self.on_scan(trigger, time.perf_counter() - started, outcome.error is None)
        return outcome

    def _scan(self, trigger: str) -> ScanOutcome:
        with self._scan_lock:
            if self.before_scan is not None:
                try:
                    self.before_scan()  # e.g. bring the scan checkout to the latest default branch
                except Exception as exc:  # a stale checkout is better than no scan; publishing re-checks
                    log.warning(
                        "refreshing the GitOps checkout failed (%s); scanning the last one",
                        exc.__class__.__name__,
                    )
            try:
                report = self._scan_sources()
            except Exception as exc:  # a bad file or repo must not kill the poller: report it
                log.warning("scan failed (%s): %s", trigger, exc.__class__.__name__)
                return ScanOutcome(report=None, error=messages.scan_failed(str(exc)))
            self.state.set_meta("last_poll", {"at": self.clock.now(), "trigger": trigger})
            new = [p for p in report.proposals if p.id in report.new_ids and p.action in POSTED_ACTIONS]
            new = self._without_muted(new)  # escalation mutes (issue 12)
            folded = [p for p in report.proposals if p.id in report.new_ids and p.folded_into]
            return ScanOutcome(report=report, new=new, folded=folded, revised=list(report.revised))

    def _scan_sources(self) -> ScanReport:
        """The alerts file from its offset, then the scanner reports that changed since the last scan, as one
        report (the poller posts both the same way)."""
        report: ScanReport | None = None
        if self.indexer is not None:  # the Wazuh indexer instead of the alerts file (issue 15)
            pulled = self.scanner.scan_indexer(self.indexer, Since("offset"))
            for note in pulled.pull.notes:
                log.warning("%s", note)
            report = pulled
        elif self.alerts_path is not None:
            report = self.scanner.scan_file(self.alerts_path, Since("offset"))
        if self.report_paths:
            found = self.scanner.scan_reports(self.report_paths, Since("offset"))
            if report is None:
                return found
            report.proposals.extend(found.proposals)
            report.new_ids |= found.new_ids
            report.groups += found.groups
            report.reports, report.unchanged, report.findings = found.reports, found.unchanged, found.findings
            report.revised.extend(found.revised)
        if self.deps is not None:
            deps = self.deps.scan(self.scanner, Since("offset"))
            if report is None:
                return deps
            report.proposals.extend(deps.proposals)
            report.new_ids |= deps.new_ids
            report.groups += deps.groups
            report.reports = [*report.reports, *deps.reports]
            report.unchanged = [*report.unchanged, *deps.unchanged]
            report.findings += deps.findings
            report.revised.extend(deps.revised)
        assert report is not None, (
            "serve needs SECOPS_ALERTS, SECOPS_INDEXER_URL, SECOPS_TRIVY_REPORTS or SECOPS_DEPS_REPORTS"
        )
        return report

    def last_poll(self) -> float | None:
        raw = self.state.get_meta("last_poll")
        return float(json.loads(raw)["at"]) if raw else None

    def pending(self) -> list[StoredProposal]:
        return self.state.list("pending")

    # --- approval --------------------------------------------------------------------------------------

    def approve(
        self,
        proposal_id: str,
        revision_hash: str,
        user: str,
        *,
        authorized: bool,
        thread_url: str | None = None,
    ) -> ActionResult:
        """One Approve click. Publishes exactly once, when the last required approver agrees."""
        now = self.clock.now()
        checked = self._checked(proposal_id, revision_hash, user, authorized, "approval_refused")
        if isinstance(checked, ActionResult):
            return checked
        stored, proposal = checked, checked.proposal
        if proposal.action != "propose":
            return ActionResult(
                "closed", proposal, stored.status, text=messages.not_approvable(proposal.action)
            )
        if stored.status == "pending" and now - stored.updated_at > self.settings.proposal_expiry:
            self._audit("approval_refused", proposal, user, {"why": "expired"})
            return ActionResult("expired", proposal, stored.status, text=messages.expired())
        key = (proposal_id, revision_hash)
        if not self._hold(key, wait=True):
            return ActionResult("closed", proposal, stored.status, text=messages.shutting_down())
        try:
            return self._vote(proposal, revision_hash, user, thread_url, now)
        finally:
            self._release(key)

    def _vote(
        self, proposal: Proposal, revision_hash: str, user: str, thread_url: str | None, now: float
    ) -> ActionResult:
        vote = self.approvals.vote(
            proposal.id, revision_hash, user, self.settings.approvals_required, now, thread_url
        )
        if vote.outcome == "stale":
            return ActionResult(
                "stale", proposal, vote.status, text=messages.stale_revision(proposal.revision)
            )
        if vote.outcome == "closed":
            entry = self.approvals.outbox_entry(proposal.id, revision_hash)
            if entry is not None and entry.state == "queued" and self.publisher is not None:
                # Approved before a crash and never published: this click finishes the job.
                return self._publish(proposal, entry, resumed=True)
            return ActionResult(
                "closed", proposal, vote.status, vote.approvers, text=messages.already_decided(vote.status)
            )
        if vote.outcome == "duplicate":
            return ActionResult(
                "duplicate", proposal, vote.status, vote.approvers, text=messages.already_voted()
            )
        self._audit("approval", proposal, user, {"approvers": list(vote.approvers), "outcome": vote.outcome})
        if vote.outcome == "recorded":
            need = self.settings.approvals_required - len(vote.approvers)
            return ActionResult(
                "recorded", proposal, vote.status, vote.approvers, text=messages.approval_recorded(need)
            )
        self.approvals.decide(proposal.id, "approved", user, {"approvers": list(vote.approvers)}, now)
        if self.publisher is None:
            return ActionResult(
                "approved", proposal, "approved", vote.approvers, text=messages.no_publisher()
            )
        entry = self.approvals.outbox_entry(proposal.id, revision_hash)
        assert entry is not None  # written by the claim, in the same transaction
        return self._publish(proposal, entry, resumed=False)

    # --- the publication outbox ------------------------------------------------------------------------

    def resume_publications(self) -> list[ActionResult]:
        """Publish every approved revision whose publication was interrupted (a crash, a full disk).

        Called on start and on every poll and sync pass; a revision another thread is publishing is skipped.
        Publishing is idempotent (deterministic branch, push with lease, the open pull request is found
        again), so resuming after a crash at any point opens at most one pull request per revision.
        """
        if self.publisher is None:
            return []
        results = []
        for entry in self.approvals.queued():
            key = (entry.proposal_id, entry.revision_hash)
            if not self._hold(key, wait=False):
                continue
            try:
                current = self.approvals.outbox_entry(*key)
                stored = self.state.get(entry.proposal_id)
                if current is None or current.state != "queued" or stored is None:
                    continue
                if stored.proposal.revision_hash != entry.revision_hash:
                    continue  # cannot happen while approved (revisions need an undecided proposal)
                results.append(self._publish(stored.proposal, current, resumed=True))
            finally:
                self._release(key)
        return results

    def drain(self, timeout: float) -> bool:
        """Refuse new publications and wait up to ``timeout`` s for those in flight; True when none is left."""
        with self._inflight_changed:
            self._closing = True
            return self._inflight_changed.wait_for(lambda: not self._inflight, timeout)

    def _hold(self, key: tuple[str, str], *, wait: bool) -> bool:
        with self._inflight_changed:
            while key in self._inflight and not self._closing:
                if not wait:
                    return False
                self._inflight_changed.wait()
            if self._closing:
                return False
            self._inflight.add(key)
            return True

    def _release(self, key: tuple[str, str]) -> None:
        with self._inflight_changed:
            self._inflight.discard(key)
            self._inflight_changed.notify_all()

    def _publish(self, proposal: Proposal, entry: OutboxEntry, *, resumed: bool) -> ActionResult:
        """One publication attempt of an outbox entry; the caller holds its key."""
        assert self.publisher is not None
        approvers = entry.approvers
        approval = Approval(
            proposal_id=proposal.id,
            revision=proposal.revision,
            revision_hash=proposal.revision_hash,
            approvers=approvers,
            approver_names=self.display_names(approvers),
            approved_at=entry.approved_at,
            thread_url=entry.thread_url,
        )
        if not self.approvals.claim_publishing(
            proposal.id, entry.revision_hash, self.replica, self.clock.now()
        ):
            # another replica publishes it (the claimer of the vote, or the leader resuming it)
            return ActionResult(
                "closed", proposal, "approved", approvers, text=messages.publishing_elsewhere()
            )
        self.approvals.attempt(proposal.id, entry.revision_hash, self.clock.now())
        if resumed:
            self._audit("publish_resumed", proposal, ",".join(approvers), {"attempt": entry.attempts + 1})
        try:
            result = self.publisher.publish(proposal, approval)
        except STORAGE_ERRORS:
            raise  # the entry stays queued; the next pass retries once the disk has room
        except Exception as exc:  # the approval stands; publishing can be retried
            log.warning(
                "publish failed for %s: %s",
                proposal.id,
                exc.__class__.__name__,
                extra={"proposal_id": proposal.id, "revision": proposal.revision},
            )
            result = PublishResult(ok=False, message=str(exc))
        fields = {
            "ok": result.ok,
            "branch": result.branch,
            "commit": result.commit,
            "pr_url": result.pr_url,
            "message": result.message,
            "approvers": list(approvers),
        }
        self._audit("publish_outcome", proposal, ",".join(approvers), fields)
        log.info(
            "publication %s",
            "done" if result.ok else "failed",
            extra={"proposal_id": proposal.id, "revision": proposal.revision, "pr": result.pr_url},
        )
        now = self.clock.now()
        if result.ok:
            self.approvals.decide(proposal.id, "published", approvers[-1], fields, now)
            self.approvals.finish(proposal.id, entry.revision_hash, ok=True, error="", now=now)
            where = result.pr_url or f"branch {result.branch}"
            text = messages.publish_resumed(proposal.revision, where) if resumed else ""
            return ActionResult("published", proposal, "published", approvers, publish=result, text=text)
        # Nothing was pushed: back to pending so an approver can retry once the cause is fixed.
        self.approvals.finish(proposal.id, entry.revision_hash, ok=False, error=result.message, now=now)
        return ActionResult(
            "publish_failed",
            proposal,
            "pending",
            approvers,
            publish=result,
            text=messages.publish_failed(result.message),
        )

    # --- rejection -------------------------------------------------------------------------------------

    def may_reject(
        self, proposal_id: str, revision_hash: str, user: str, *, authorized: bool
    ) -> ActionResult:
        """Whether ``user`` may open the rejection form for this exact revision (refusals are audited)."""
        checked = self._checked(proposal_id, revision_hash, user, authorized, "rejection_refused")
        if isinstance(checked, ActionResult):
            return checked
        return ActionResult("allowed", checked.proposal, checked.status)

    def reject(
        self, proposal_id: str, revision_hash: str, user: str, reason: str, *, authorized: bool
    ) -> ActionResult:
        now = self.clock.now()
        checked = self._checked(proposal_id, revision_hash, user, authorized, "rejection_refused")
        if isinstance(checked, ActionResult):
            return checked
        stored, proposal = checked, checked.proposal
        if not self.approvals.close(proposal_id, revision_hash, "rejected", now):
            return ActionResult(
                "closed", proposal, stored.status, text=messages.already_decided(stored.status)
            )
        reason = reason.strip()[:1000]
        self.state.record_outcome(proposal_id, "rejected", at=now, reason=reason, by=user)
        self.approvals.decide(proposal_id, "rejected", user, {"reason": reason}, now)
        self._audit("rejection", proposal, user, {"reason": reason})
        return ActionResult("rejected", proposal, "rejected", (user,), text=reason)

    # --- blocks that expire ----------------------------------------------------------------------------

    def keep(self, proposal: Proposal, user: str, status: str) -> ActionResult:
        """``keep`` from an approver: the proposal's block entries never expire (bot/expiry.py)."""
        from bot.expiry import keep

        entries = keep(self.state, proposal.id)
        self._audit("block_kept", proposal, user, {"entries": entries})
        return ActionResult("kept", proposal, status, text=messages.blocks_kept(entries))

    # --- revisions -------------------------------------------------------------------------------------

    def revise(self, proposal_id: str, user: str, text: str, *, authorized: bool) -> ActionResult:
        """A thread instruction from an approver: a new revision, guarded again, adopted only if it passes.

        A revision the guard blocks (or that cannot be applied) is not adopted: the current revision, and
        the Approve buttons that carry its hash, stay valid. ``undo`` and ``revert to rN`` re-apply an
        earlier adopted revision's operations to the repository as it is now, as a new revision number.
        """
        stored = self.state.get(proposal_id)
        if stored is None:
            return ActionResult("unknown", text=messages.unknown_proposal(proposal_id))
        proposal = stored.proposal
        if not authorized:
            self._audit(
                "revision_refused", proposal, user, {"why": "not an approver", "instruction": text[:500]}
            )
            return ActionResult(
                "not_authorized", proposal, stored.status, text=messages.revise_not_authorized()
            )
        if parse_instruction(text).kind == "keep":  # also after a merge: that is when entries are recorded
            return self.keep(proposal, user, stored.status)
        if stored.status not in ("pending", "blocked", "escalated", "publish_failed"):
            return ActionResult(
                "closed", proposal, stored.status, text=messages.already_decided(stored.status)
            )
        instruction = parse_instruction(text)
        note = messages.revision_note(user, text)
        usage = proposal.llm
        kind, restored = "instruction", None
        if instruction.kind in ("undo", "revert"):
            history = dict(self.approvals.revision_operations(proposal_id))
            history.setdefault(proposal.revision, proposal.operations)
            try:
                restored = restore_target(instruction, list(history), proposal.revision)
            except ValueError as exc:
                return ActionResult(
                    "not_understood", proposal, stored.status, text=messages.instruction_refused(str(exc))
                )
            ops = [dict(o) for o in history[restored]]
            kind = instruction.kind
        elif instruction.kind == "unknown":
            # Playbook parameters cannot express it: the LLM fixer, when configured, may.
            decision = self.scanner.fixer_revision(proposal, text)
            if decision is None:
                return ActionResult(
                    "not_understood", proposal, stored.status, text=messages.instructions_help()
                )
            if decision.escalation:
                return ActionResult(
                    "not_understood",
                    proposal,
                    stored.status,
                    text=messages.fixer_declined(decision.fixer, decision.escalation),
                )
            ops = decision.operations
            note = messages.revision_note_llm(user, decision.fixer)
            usage = LlmUsage(
                calls=usage.calls + decision.llm_calls, tokens=usage.tokens + decision.llm_tokens
            )
        else:
            try:
                ops = apply_instruction(instruction, proposal.operations, proposal.group.attacker)
            except ValueError as exc:
                return ActionResult(
                    "not_understood", proposal, stored.status, text=messages.instruction_refused(str(exc))
                )
        revised = self.scanner.revise(proposal.model_copy(update={"llm": usage}), ops, note)
        revised = revised.model_copy(
            update={
                "revision_note": self._what_changed(proposal, revised, kind, restored),
                "revised_by": user,
            }
        )
        fields: dict[str, object] = {
            "previous_revision": proposal.revision,
            "instruction": text[:500],
            "kind": kind,
            "operations": list(revised.operations),
            "action": revised.action,
            "guard_passed": revised.guard.passed if revised.guard else False,
        }
        if restored is not None:
            fields["restored_revision"] = restored
        if revised.action in ("blocked", "escalate"):
            # Not adopted: audited against the revision that stays current, with what was tried.
            failing = revised.guard.summary() if revised.guard is not None else revised.reason
            self._audit(
                "revision_refused", proposal, user, {**fields, "why": revised.action, "failing": failing}
            )
            why = (
                messages.revision_blocked_why(failing)
                if revised.action == "blocked"
                else messages.revision_escalated_why(revised.reason)
            )
            return ActionResult(
                "not_adopted",
                proposal,
                stored.status,
                text=messages.revision_not_adopted(proposal.revision, why, proposal.action == "propose"),
            )
        if not self.approvals.adopt_revision(revised, proposal, kind=kind, user=user, now=self.clock.now()):
            return ActionResult(
                "closed", proposal, stored.status, text=messages.already_decided(stored.status)
            )
        event = {"instruction": "revision", "undo": "revision_undo", "revert": "revision_revert"}[kind]
        self._audit(event, revised, user, fields)
        self.approvals.decide(
            proposal_id, "revised", user, {"revision": revised.revision, "kind": kind}, self.clock.now()
        )
        return ActionResult("revised", revised, "", previous_revision=proposal.revision)

    @staticmethod
    def _what_changed(before: Proposal, after: Proposal, kind: str, restored: int | None) -> str:
        """The card's line saying what this revision changed."""
        if kind == "undo" and restored is not None:
            return messages.revision_undo_note(restored)
        if kind == "revert" and restored is not None:
            return messages.revision_revert_note(restored)
        added, removed = changed_labels(before.operations, after.operations)
        return messages.revision_change(added, removed)

    # --- escalations people can act on (issue 12) -------------------------------------------------------

    def act_on_escalation(self, proposal_id: str, what: str, user: str, *, authorized: bool) -> ActionResult:
        """Acknowledge, assign to ``user``, or mute (approvers only) an escalation; audited, shown on its card.

        A mute covers each (rule, host) pair of the escalation for :data:`MUTE_SECONDS`; later escalations
        whose pairs are all muted are not posted (:meth:`_without_muted`, at scan time, on this clock).
        """
        kind = ESCALATION_DECISIONS[what]
        stored = self.state.get(proposal_id)
        if stored is None:
            return ActionResult("unknown", text=messages.unknown_proposal(proposal_id))
        p, now = stored.proposal, self.clock.now()
        if p.action != "escalate":
            return ActionResult("closed", p, stored.status, text=messages.esc_not_an_escalation())
        if kind == "muted" and not authorized:
            self._audit("escalation_refused", p, user, {"why": "not an approver", "wanted": kind})
            return ActionResult("not_authorized", p, stored.status, text=messages.esc_mute_refused())
        earlier = self.approvals.decisions_for(proposal_id)
        if any(d["kind"] == kind and (d["user"] == user or kind == "muted") for d in earlier):
            return ActionResult("duplicate", p, stored.status, text=messages.esc_already(kind))
        detail: dict[str, object] = {}
        if kind == "muted":
            pairs = [(r, h) for r in p.group.rule_ids for h in p.group.targets]
            until = now + MUTE_SECONDS
            self.approvals.mute(proposal_id, pairs, until, user)
            detail = {"pairs": [list(pair) for pair in pairs], "until": until}
        self._audit(f"escalation_{kind}", p, user, detail)
        self.approvals.decide(proposal_id, kind, user, detail, now)
        return ActionResult("escalation", p, stored.status)

    def escalation_decisions(self, proposal_id: str) -> list[dict[str, object]]:
        """Acknowledgements, assignments and mutes of one escalation, oldest first."""
        return [d for d in self.approvals.decisions_for(proposal_id) if d["kind"] in ESCALATION_KINDS]

    def host_owners(self, proposal: Proposal) -> dict[str, str | None]:
        """Each target's owner from the inventory (None: not in it, or no owner there)."""
        owners: dict[str, str | None] = {}
        for target in proposal.group.targets:
            server = self.scanner.inventory.server(target)
            owners[target] = server.owner if server is not None else None
        return owners

    def open_escalations(self, limit: int = 500) -> list[tuple[StoredProposal, list[dict[str, object]]]]:
        """Escalations still open (posted or held back), each with its decisions so far."""
        return [(s, self.escalation_decisions(s.proposal.id)) for s in self.state.list("escalated", limit)]

    def recent_decisions(self, limit: int = 10) -> list[tuple[dict[str, object], Proposal | None]]:
        """The last decisions, newest first, each with the proposal it is about (None: no longer stored)."""
        out: list[tuple[dict[str, object], Proposal | None]] = []
        for d in self.approvals.decisions(limit):
            stored = self.state.get(str(d["proposal_id"]))
            out.append((d, stored.proposal if stored else None))
        return out

    def _without_muted(self, proposals: list[Proposal]) -> list[Proposal]:
        """This scan's new escalations that a mute covers are not posted: status "muted", audited."""
        now, kept = self.clock.now(), []
        for p in proposals:
            if p.action == "escalate" and self.approvals.is_muted(p.group.rule_ids, p.group.targets, now):
                self.state.set_status(p.id, "muted", now)
                self._audit("escalation_muted_repeat", p, "", {"rules": list(p.group.rule_ids)})
            else:
                kept.append(p)
        return kept

    # --- App Home ----------------------------------------------------------------------------------------

    def suppressed_today(self) -> int:
        """Repeats and already-fixed groups since midnight UTC (counted in the store, nothing parsed)."""
        now = self.clock.now()
        start = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.state.count_since("suppressed", start.timestamp())

    def today_counts(self) -> dict[str, float]:
        now = self.clock.now()
        start = (
            datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        )
        proposals = [p for p in self.state.list(limit=5000) if p.created_at >= start]
        decisions = self.approvals.decisions(limit=5000, since=start)
        alerts = sum(p.proposal.group.alert_count for p in proposals)
        approved = [d for d in decisions if d["kind"] == "approved"]
        latencies = []
        for d in approved:
            stored = self.state.get(d["proposal_id"])
            if stored and stored.proposal.group.first_ts:
                latencies.append(d["at"] - stored.proposal.group.first_ts)
        return {
            "alerts": alerts,
            "proposals": sum(1 for p in proposals if p.proposal.action in ("propose", "blocked")),
            "approvals": len(approved),
            "rejections": sum(1 for d in decisions if d["kind"] == "rejected"),
            "escalations": sum(1 for p in proposals if p.proposal.action == "escalate"),
            "suppressed": sum(1 for p in proposals if p.proposal.action == "suppressed"),
            "mean_time_to_approval_s": (sum(latencies) / len(latencies)) if latencies else -1.0,
        }

    def _checked(
        self, proposal_id: str, revision_hash: str, user: str, authorized: bool, refused_event: str
    ) -> StoredProposal | ActionResult:
        """The stored proposal when ``user`` may decide on exactly this revision, else the refusal."""
        stored = self.state.get(proposal_id)
        if stored is None:
            return ActionResult("unknown", text=messages.unknown_proposal(proposal_id))
        proposal = stored.proposal
        if not authorized:
            self._audit(refused_event, proposal, user, {"why": "not an approver"})
            return ActionResult("not_authorized", proposal, stored.status, text=messages.not_authorized())
        if proposal.revision_hash != revision_hash:
            self._audit(refused_event, proposal, user, {"why": "stale revision", "clicked": revision_hash})
            return ActionResult(
                "stale", proposal, stored.status, text=messages.stale_revision(proposal.revision)
            )
        return stored

    # --- audit -------------------------------------------------------------------------------------------

    def _audit(self, event: str, proposal: Proposal, user: str, fields: dict[str, object]) -> None:
        self.audit.append(
            event,
            {
                "proposal": proposal.id,
                "revision": proposal.revision,
                "revision_hash": proposal.revision_hash,
                "user": user,
                **fields,
            },
        )
