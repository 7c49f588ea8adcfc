"""The scan pipeline: read → group → route → apply → guard → record. No Slack, no git writes.

:class:`Scanner` is wired once (inventory, repo reader, catalog, state, audit, clock) and used by the CLI,
the Slack poller and ``/secops-scan`` alike. ``scan`` never writes to the GitOps repository.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agents.playbooks import Playbook
from agents.router import (
    FindingContext,
    LongTailFixer,
    RouteDecision,
    concat_operations,
    list_styles,
    route,
)
from agents.workspace import Workspace
from bot import messages
from bot.approvals import ApprovalStore
from bot.audit_log import AuditLog
from bot.change import TriedChange, describe_unchanged, try_operations
from bot.clock import Clock
from bot.core.alert import Alert
from bot.core.campaigns import DEFAULT_MIN_ATTACKERS, find_campaigns
from bot.core.errors import StorageError
from bot.core.finding_groups import group_findings
from bot.core.grouping import AlertGroup, group_alerts
from bot.core.guard import GuardPolicy
from bot.core.image_refs import compare_tags, parse_image
from bot.core.inventory import Inventory
from bot.core.proposal import Action, LlmUsage, Proposal, Review, UnfixedTarget, proposal_id
from bot.core.sanitize import plain
from bot.state import Offset, StateStore
from bot.yaml_edit import ReadFile, repo_reader
from tools.sources.wazuh import MAX_REPORTED_MALFORMED, AlertStream, ReadResult
from tools.sources.wazuh_indexer import IndexerReader, PullNotes, Watermark

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

log = logging.getLogger(__name__)


#: How long one transaction of a scan's groups may stay open (see ``Scanner._decide_groups``).
CHUNK_S = 0.02


class Reviewer(Protocol):
    """A second opinion on a proposal (the cross-family LLM reviewer implements this)."""

    def review(self, proposal: Proposal) -> tuple[Review, LlmUsage]:
        """The verdict, and the LLM calls and tokens it cost (added to the proposal's ``llm``)."""
        ...


#: makes ``revised`` (from the newer report's ``fresh``) the stored revision of ``old``: the revision, or None
Adopt = Callable[[Proposal, Proposal, Proposal], "Proposal | None"]


class DependencyBuilder(Protocol):
    """Turns a routed dependency group into its proposal (``bot.dependency_bump.DependencyBumper``)."""

    def build(
        self, group: AlertGroup, decision: RouteDecision, make: Callable[..., Proposal]
    ) -> Proposal: ...

    def candidate(self, proposal: Proposal, adopt: Adopt) -> Proposal:
        """A new group's proposal that a pending card of the same package takes in as its next revision
        (``adopt(old, revised, fresh)``): the proposal to store for the group."""
        ...


class DedupGate(Protocol):
    """Memory of past fixes: may turn a proposal into ``suppressed`` or add notes to it."""

    def check(self, proposal: Proposal) -> Proposal: ...


@dataclass(frozen=True)
class Since:
    """Where a scan starts: the stored watermark (``offset``), the whole file (``all``), or a time."""

    mode: str = "offset"  # offset | all | time
    ts: float | None = None


@dataclass
class ScanReport:
    """What one scan read and decided."""

    read: ReadResult
    groups: int = 0
    alerts: int = 0
    proposals: list[Proposal] = field(default_factory=list)
    new_ids: set[str] = field(default_factory=set)
    #: Scanner reports read by :meth:`Scanner.scan_reports` (one per file), and those skipped as unchanged.
    reports: list[FindingsRead] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    findings: int = 0
    #: Pending proposals this scan gave a new revision (a newer scan proved a better candidate).
    revised: list[Proposal] = field(default_factory=list)
    #: What could not be read of the ``--policy-reports`` files, each naming its file.
    policy_report_problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.proposals:
            out[p.action] = out.get(p.action, 0) + 1
        return out


@dataclass
class IndexerScanReport(ScanReport):
    """What one indexer pull read and decided: pages, repeats skipped in the overlap window, notes."""

    pages: int = 0
    repeats: int = 0
    pull: PullNotes = field(default_factory=PullNotes)


class Scanner:
    """Turns alert groups into guarded proposals and records every decision."""

    def __init__(
        self,
        *,
        inventory: Inventory,
        repo_root: Path,
        catalog: Sequence[Playbook],
        state: StateStore,
        audit: AuditLog,
        clock: Clock,
        policy: GuardPolicy | None = None,
        window_s: float = 15 * 60,
        min_level: int = 7,
        long_tail: LongTailFixer | None = None,
        reviewer: Reviewer | None = None,
        dedup: DedupGate | None = None,
        read_file: ReadFile | None = None,
        campaign_min_attackers: int = DEFAULT_MIN_ATTACKERS,
    ) -> None:
        self.inventory = inventory
        self.repo_root = repo_root
        self.catalog = catalog
        self.state = state
        self.audit = audit
        self.clock = clock
        self.policy = policy or GuardPolicy()
        self.window_s = window_s
        self.min_level = min_level
        self.long_tail = long_tail
        self.reviewer = reviewer
        self.dedup = dedup
        self.read_file = read_file or repo_reader(repo_root)
        self.campaign_min_attackers = campaign_min_attackers
        #: Set for the duration of a scan of scanner reports (candidate scans of other tags).
        self._findings: FindingContext | None = None
        #: Bumps dependency groups in application repositories (issue 18; set by bot.dependency_scan).
        self.dependencies: DependencyBuilder | None = None

    # --- one group ---------------------------------------------------------------------------------

    def build(self, group: AlertGroup) -> Proposal:
        """Decide one group: a proposal, a blocked change, an escalation, or nothing to do.

        Whatever goes wrong while deciding (any exception) becomes an escalation of this group only.
        """
        pid = proposal_id(group)
        try:
            return self._build(group, pid)
        except StorageError:
            raise  # the bot's own disk: the scan stops cleanly and the next one retries (nothing is decided)
        except Exception as exc:
            return self._failed(group, pid, "router", exc)

    def _build(self, group: AlertGroup, pid: str) -> Proposal:
        decision = route(
            group,
            self.inventory,
            self.catalog,
            self.long_tail,
            self._workspace(group),
            self.policy,
            self._findings or FindingContext(read_file=self.read_file),
        )
        if group.family == "dependency" and self.dependencies is not None:
            fixer = decision.fixer
            return self.dependencies.build(
                group,
                decision,
                lambda action, **f: Proposal(id=pid, group=group, action=action, fixer=fixer, **f),
            )
        notes = " ".join(decision.notes)
        usage = LlmUsage(
            calls=decision.llm_calls, tokens=decision.llm_tokens, answer_format=decision.llm_format
        )
        unfixed = list(decision.unfixed)

        def escalate(reason: str) -> Proposal:
            return Proposal(
                id=pid,
                group=group,
                action="escalate",
                fixer=decision.fixer,
                reason=f"{reason} {notes}".strip(),
                llm=usage,
                unfixed=tuple(unfixed),
            )

        if decision.escalation:
            return escalate(decision.escalation)
        if decision.suppressed:
            return Proposal(
                id=pid, group=group, action="suppressed", fixer=decision.fixer, reason=decision.suppressed
            )
        per_target = dict(decision.per_target)
        operations: list[dict[str, str]] = (
            concat_operations(per_target.values()) if per_target else decision.operations
        )
        tried = self._try(operations, group, decision.list_styles)
        # A target whose file cannot be read or edited exactly is left open, with the file's error as the
        # reason; the other targets are still fixed. At most one retry per target.
        while per_target and tried.error is not None and tried.error_file is not None:
            bad = tried.error_file
            broken = [t for t, ops in per_target.items() if any(o.get("file") == bad for o in ops)]
            if not broken:
                break
            for target in broken:
                unfixed.append(UnfixedTarget(target=target, reason=messages.unfixed_document(tried.error)))
                del per_target[target]
            if not per_target:
                if len(unfixed) == 1:
                    return escalate(messages.esc_document(tried.error))
                return escalate(messages.esc_no_fixable_target([(u.target, u.reason) for u in unfixed]))
            tried = self._try(concat_operations(per_target.values()), group, decision.list_styles)
        if tried.error is not None:
            return escalate(messages.esc_document(tried.error))
        if tried.escalation is not None:
            return escalate(tried.escalation)
        if len(per_target) > 1 and tried.report is not None and not tried.report.passed:
            tried = self._without_refused_targets(tried, per_target, unfixed, group, decision.list_styles)
        proposed = (
            messages.proposed_llm(decision.fixer.removeprefix("llm:"))
            if decision.fixer.startswith("llm:")
            else messages.proposed(decision.fixer.removeprefix("playbook:"))
        )

        def make(action: Action, **fields: Any) -> Proposal:
            return Proposal(
                id=pid,
                group=group,
                action=action,
                fixer=decision.fixer,
                llm=usage,
                unfixed=tuple(unfixed),
                notes=(decision.campaign,) if decision.campaign else (),  # shown on the card
                **fields,
            )

        outcome = _outcome(tried, make, ok_reason=proposed, notes=notes, read_file=self.read_file)
        return with_policy_notes(outcome, tried)

    def _without_refused_targets(
        self,
        tried: TriedChange,
        per_target: dict[str, list[dict[str, str]]],
        unfixed: list[UnfixedTarget],
        group: AlertGroup,
        styles: dict[str, str],
    ) -> TriedChange:
        """A blocked change for several targets, tried target by target: the targets the guard refuses on
        their own (a mis-inventoried Deployment, say) are listed as not fixed with the guard's reason, and
        the others are guarded again together. When every target (or no target) is refused alone, the
        change stays blocked as a whole: the guard's verdict on the whole change is never skipped."""
        refused: dict[str, str] = {}
        for target, ops in per_target.items():
            alone = self._try(ops, group, styles)
            if alone.report is not None and not alone.report.passed:
                refused[target] = alone.report.summary()
        if not refused or len(refused) == len(per_target):
            return tried
        kept = {t: ops for t, ops in per_target.items() if t not in refused}
        retried = self._try(concat_operations(kept.values()), group, styles)
        if retried.report is None or retried.error is not None:
            return tried
        for target, summary in refused.items():
            unfixed.append(UnfixedTarget(target=target, reason=messages.unfixed_guard(summary)))
            del per_target[target]
        return retried

    def _failed(self, group: AlertGroup, pid: str, fixer: str, exc: Exception, **fields: Any) -> Proposal:
        """The escalation for a group whose decision raised: class and redacted message, logged by id."""
        log.warning("proposal %s: deciding failed (%s)", pid, exc.__class__.__name__)
        return Proposal(
            id=pid,
            group=group,
            action="escalate",
            fixer=fixer,
            reason=messages.esc_internal(exc.__class__.__name__, plain(str(exc), 300)),
            **fields,
        )

    def revise(self, proposal: Proposal, operations: Sequence[dict[str, str]], note: str) -> Proposal:
        """A new revision of ``proposal`` with other operations, applied to the repo as it is now and guarded.

        Used for thread instructions ("also block ...", "refresh"). The revision number grows, so the
        revision hash (what an Approve button carries) changes and earlier revisions can no longer be approved.
        """
        group = proposal.group

        def make(action: Action, **fields: Any) -> Proposal:
            return Proposal(
                id=proposal.id,
                group=group,
                fixer=proposal.fixer,
                revision=proposal.revision + 1,
                action=action,
                llm=proposal.llm,
                unfixed=proposal.unfixed,
                **fields,
            )

        tried = self._try(list(operations), group, list_styles(self.inventory, group.targets))
        if tried.error is not None or tried.escalation is not None:
            return make("escalate", reason=messages.esc_document(tried.error or tried.escalation or ""))
        revised = _outcome(tried, make, ok_reason=note, notes="", read_file=self.read_file)
        if self.reviewer is not None and revised.action in ("propose", "blocked"):
            review, spent = self.reviewer.review(revised)
            llm = revised.llm.model_copy(
                update={"calls": revised.llm.calls + spent.calls, "tokens": revised.llm.tokens + spent.tokens}
            )
            revised = revised.model_copy(update={"review": review, "llm": llm})
        return revised

    def _try(self, operations: Any, group: AlertGroup, styles: dict[str, str]) -> TriedChange:
        return try_operations(
            operations,
            read_file=self.read_file,
            inventory=self.inventory,
            targets=group.targets,
            policy=self.policy,
            list_styles=styles,
            # a set_image's evidence must name findings of this group (the guard's image_evidence)
            finding_ids=group.rule_ids if group.is_findings else None,
            policy_env=self._findings.policy_env if self._findings is not None else None,
        )

    def fixer_revision(self, proposal: Proposal, request: str) -> RouteDecision | None:
        """Ask the long-tail (LLM) fixer to revise a fix after a thread instruction; None without one."""
        if self.long_tail is None:
            return None
        group = proposal.group
        return self.long_tail.fix(
            group, self.inventory, self._workspace(group), request=request, current=proposal.operations
        )

    def finish(self, proposal: Proposal) -> Proposal:
        """After the guard: consult the memory of past fixes, then the reviewer (informative only).

        If either raises, this proposal becomes an escalation (the other groups are decided as usual).
        """
        try:
            if self.dedup is not None and proposal.action in ("propose", "blocked"):
                proposal = self.dedup.check(proposal)
            if self.reviewer is not None and proposal.action in ("propose", "blocked"):
                review, spent = self.reviewer.review(proposal)
                llm = proposal.llm.model_copy(
                    update={
                        "calls": proposal.llm.calls + spent.calls,
                        "tokens": proposal.llm.tokens + spent.tokens,
                    }
                )
                proposal = proposal.model_copy(update={"review": review, "llm": llm})
        except StorageError:
            raise
        except Exception as exc:
            return self._failed(
                proposal.group, proposal.id, proposal.fixer, exc, llm=proposal.llm, unfixed=proposal.unfixed
            )
        return self._still_firing(proposal)

    def _still_firing(self, proposal: Proposal) -> Proposal:
        """A repeat of a block that post-merge verification found deployed but not working is no longer
        suppressed (already in place, or by the merged fix): it is escalated once, saying so; later
        repeats point at that escalation (bot/verification.py)."""
        attacker = proposal.group.attacker
        if proposal.action != "suppressed" or proposal.folded_into or not attacker:
            return proposal
        firing = self.state.still_firing(attacker)
        if firing is None:
            return proposal
        key = f"still_firing_escalated:{firing.proposal_id}"
        earlier = self.state.get_meta(key)
        if earlier is not None:
            reason = messages.suppressed_still_firing_escalated(str(json.loads(earlier)))
            return proposal.model_copy(update={"reason": reason})
        self.state.set_meta(key, proposal.id)
        reason = messages.esc_still_firing(firing.proposal_id, firing.alerts, attacker)
        return proposal.model_copy(update={"action": "escalate", "reason": reason, "diff": "", "files": ()})

    def _workspace(self, group: AlertGroup) -> Workspace:
        """What the long-tail fixer may see and try for this group; the guard judges every try."""
        return Workspace(
            inventory=self.inventory,
            targets=group.targets,
            read_file=self.read_file,
            policy=self.policy,
            attacker=None if group.attackers else group.attacker,  # a campaign's attacker is a network
            list_styles=list_styles(self.inventory, group.targets),
            policy_env=self._findings.policy_env if self._findings is not None else None,
        )

    # --- a batch -----------------------------------------------------------------------------------

    def decide(self, alerts: Iterable[Alert], report: ScanReport) -> None:
        # Thousands of groups build tens of thousands of small, acyclic models that the report keeps: with
        # the cyclic GC running, each full collection re-walks all of them (a third of a big scan's time).
        # Paused for the loop; anything cyclic is collected when it is enabled again.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        # The repository does not change during a scan (serve refreshes its clone between scans): each
        # config is read (and its path checked for links) once per scan, not once per group.
        reader, self.read_file = self.read_file, _read_once(self.read_file)
        try:
            groups = group_alerts(alerts, window_s=self.window_s, min_level=self.min_level)
            # Many attackers of one /24 or /48 at once: one group (one card, one PR) instead of one each.
            groups = find_campaigns(
                groups,
                min_attackers=self.campaign_min_attackers,
                window_s=self.window_s,
                protected=self.inventory.protected,
            )
            report.groups = len(groups)
            self._decide_groups(groups, report)
        finally:
            self.read_file = reader
            if gc_was_enabled:
                gc.enable()

    def _decide_groups(self, groups: Sequence[AlertGroup], report: ScanReport) -> None:
        # Without a model in the loop a group takes a fraction of a millisecond: its writes share one
        # transaction with its neighbours' (committed every CHUNK_S), so the lock other threads (Slack
        # clicks) wait on is held for milliseconds. A model call (LLM fixer, reviewer, an embedding or a vector
        # store query in dedup) can take seconds: then each group commits on its own.
        chunked = (
            self.long_tail is None
            and self.reviewer is None
            and not getattr(self.dedup, "calls_model", False)  # a gate without the attribute calls none
        )
        start = 0
        while start < len(groups):
            if not chunked:
                self._decide_one(groups[start], report)
                start += 1
                continue
            with self.state.transaction():
                began = time.perf_counter()
                while start < len(groups) and time.perf_counter() - began < CHUNK_S:
                    self._decide_one(groups[start], report)
                    start += 1

    def _decide_one(self, group: AlertGroup, report: ScanReport) -> None:
        """Decide one group that is not stored yet, store it and record it (a stored one is reported)."""
        pid = proposal_id(group)
        known = self.state.get(pid)
        if known is not None:
            if group.is_findings and known.status == "pending" and known.proposal.action == "propose":
                revised = self._revise_known(known.proposal, group)
                if revised is not None:
                    report.revised.append(revised)
                    report.proposals.append(revised)
                    return
            report.proposals.append(known.proposal)
            return
        try:
            proposal = self.finish(self.build(group))
        except StorageError:
            raise
        except Exception as exc:  # build and finish contain their own; this is the last line
            proposal = self._failed(group, pid, "router", exc)
        if group.family == "dependency" and self.dependencies is not None:
            proposal = self.dependencies.candidate(proposal, self._adopt)
        elif group.is_findings and proposal.action == "propose":
            proposal = self._better_candidate(proposal)
        if self.state.add_proposal(proposal, self.clock.now()):
            report.new_ids.add(proposal.id)
            # a repeat of a pending proposal: count its alerts there, once (a newer report of an image
            # restates its findings rather than adding to them)
            if proposal.folded_into and not group.is_findings:
                self.state.fold_alerts(proposal.folded_into, proposal.group.alert_count, self.clock.now())
            self._record(proposal)
        report.proposals.append(proposal)

    def _revise_known(self, old: Proposal, group: AlertGroup) -> Proposal | None:
        """The same image read again (a changed report, the same day) with a better candidate: a new revision of
        the pending proposal, adopted and audited; None when there is nothing better."""
        try:
            fresh = self.build(group)
        except StorageError:
            raise
        except Exception:  # the pending proposal stays as it is; the next scan tries again
            log.warning("proposal %s: re-deciding a newer report failed", old.id)
            return None
        before, after = _bumps(old.operations), _bumps(fresh.operations)
        if fresh.action != "propose" or not after or set(before) != set(after) or not _better(after, before):
            return None
        return self._adopt_candidate(old, fresh)

    def _adopt_candidate(self, old: Proposal, fresh: Proposal) -> Proposal | None:
        """``fresh``'s operations as the next revision of ``old`` when the guard passes them; None otherwise."""
        bumps = _bumps(fresh.operations)
        note = messages.candidate_revision(
            [str(o.get("value", "")) for o in bumps.values()], fresh.group.reports
        )
        revised = self.revise(old, fresh.operations, note)
        if revised.action != "propose":
            return None
        return self._adopt(old, revised.model_copy(update={"revision_note": note, "revised_by": ""}), fresh)

    def _adopt(self, old: Proposal, revised: Proposal, fresh: Proposal) -> Proposal | None:
        """``revised`` (made from the newer report's ``fresh``) as the stored revision of ``old``, audited."""
        if not ApprovalStore(self.state).adopt_revision(
            revised, old, kind="candidate", user="", now=self.clock.now()
        ):
            return None
        self.audit.append(
            "revision_candidate",
            {
                "proposal": old.id,
                "revision": revised.revision,
                "revision_hash": revised.revision_hash,
                "previous_revision": old.revision,
                "operations": list(revised.operations),
                "from_group": fresh.group.id,
                "reports": list(fresh.group.reports),
            },
        )
        return revised

    def _better_candidate(self, proposal: Proposal) -> Proposal:
        """A newer report of an image whose bump is still pending (a new group: another day): a better candidate becomes
        a new revision of that proposal (the card is updated, its Approve buttons carry the new hash), never a
        second card; any other bump of the same references folds into it (see ``_better``). Returns the proposal to store for this group."""
        bumps = _bumps(proposal.operations)
        if not bumps:
            return proposal
        for stored in self.state.by_subject(proposal.group.subject, ("pending",)):
            old = stored.proposal
            before = _bumps(old.operations)
            if old.id == proposal.id or old.action != "propose" or set(before) != set(bumps):
                continue
            if not _better(bumps, before):
                return proposal.model_copy(
                    update={
                        "action": "suppressed",
                        "folded_into": old.id,
                        "reason": messages.candidate_not_better(old.id, old.revision),
                    }
                )
            revised = self._adopt_candidate(old, proposal)
            if revised is None:
                return proposal  # the better candidate does not pass the guard on the old card: its own card
            return proposal.model_copy(
                update={
                    "action": "suppressed",
                    "folded_into": old.id,
                    "reason": messages.candidate_became_revision(old.id, revised.revision),
                    "revision_note": revised.revision_note,
                }
            )
        return proposal

    def scan_file(
        self,
        path: Path,
        since: Since | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ScanReport:
        """Read new alerts from ``path`` and decide them; the watermark moves only after decisions are stored."""
        since = since or Since()
        source = f"wazuh:{path.resolve()}"
        stored = self.state.get_offset(source) if since.mode == "offset" else None
        stream = AlertStream(
            path,
            offset=stored.offset if stored else 0,
            start_line=stored.line if stored else 0,
            inode=stored.inode if stored else None,
            progress=progress,
        )
        read = stream.result
        alerts: Iterable[Alert] = stream  # grouped as they are read: no file-sized list in memory
        kept = _Count()
        if since.mode == "time" and since.ts is not None:
            cutoff = since.ts
            alerts = (a for a in alerts if a.ts is None or a.ts >= cutoff)
        report = ScanReport(read=read)
        self.audit.flush()  # records kept from a write that found the disk full; raises while it still is
        # One audit batch: every record of the scan in one write + fsync, before the caller posts anything.
        # It is written even when deciding fails half-way (what was stored is recorded); the watermark
        # moves only once the records are durable, so a scan cut short by a full disk is read again.
        with self.audit.batch():
            self.decide(kept.through(alerts), report)
            report.alerts = kept.n
            late = self._unrecorded(str(path), report)
            for p in late:
                self._record(p)
            self.audit.append(
                "scan",
                {
                    "source": str(path),
                    "alerts": kept.n,
                    "malformed": read.malformed_count,
                    "groups": report.groups,
                    "new_proposals": sorted(report.new_ids),
                    "offset": [read.start_offset, read.end_offset],
                    **({"recorded_late": [p.id for p in late]} if late else {}),
                },
            )
        self.state.set_offset(source, Offset(read.inode, read.end_offset, read.end_line), self.clock.now())
        return report

    def scan_indexer(self, reader: IndexerReader, since: Since | None = None) -> IndexerScanReport:
        """Pull new alerts from the Wazuh indexer and decide them page by page.

        Each page's proposals, its audit records and its watermark are stored together: the audit batch is
        written inside the page's state transaction, and the transaction (proposals + watermark) commits
        after it, so a crash before the commit re-reads that page (its proposals are decided again, never
        lost) and one after it neither repeats nor skips it.
        """
        since = since or Since()
        source = reader.source
        stored = self.state.get_watermark(source) if since.mode == "offset" else None
        watermark = Watermark.from_json(stored) if stored else None
        since_ms = int(since.ts * 1000) if since.mode == "time" and since.ts is not None else None
        read = ReadResult(path=reader.describe())
        report = IndexerScanReport(read=read)
        self.audit.flush()
        for page in reader.pages(watermark, since_ms, report.pull):
            groups = report.groups
            with self.state.transaction(), self.audit.batch():
                new_before = set(report.new_ids)
                self.decide(page.alerts, report)
                report.groups += groups
                self.audit.append(
                    "scan",
                    {
                        "source": reader.describe(),
                        "alerts": len(page.alerts),
                        "malformed": page.malformed_count,
                        "repeats": page.repeats,
                        "new_proposals": sorted(report.new_ids - new_before),
                        "watermark": page.watermark.after,
                    },
                )
                self.state.set_watermark(source, page.watermark.to_json(), self.clock.now())
            report.alerts += len(page.alerts)
            report.pages += 1
            report.repeats += page.repeats
            read.alert_count += len(page.alerts)
            read.lines += page.hits
            read.malformed_count += page.malformed_count
            read.malformed.extend(page.malformed[: max(0, MAX_REPORTED_MALFORMED - len(read.malformed))])
        return report

    def scan_reports(
        self,
        paths: Sequence[Path],
        since: Since | None = None,
        policy_reports: Sequence[Path] = (),
        promote_after_days: int = 14,
    ) -> ScanReport:
        """Read scanner reports (Trivy, trivy-operator) and decide one proposal per subject.

        A report is a snapshot, not a stream: its watermark is its identity (inode, size, modification time).
        When no report changed since the last scan there is nothing to read (``--since all`` decides them again);
        when one changed, all of them are read again, because they are evidence for each other (a new scan of a
        candidate tag can prove a bump for an image in an unchanged cluster report). Groups are keyed by subject
        and report day, so reading a report twice proposes nothing twice; a better candidate becomes a new
        revision of the pending proposal. Reports of images that no listed workload runs are candidate scans:
        evidence for a bump of another tag of the same repository, not proposals of their own.
        """
        from agents.image_context import candidate_scans
        from agents.policy_catalog import by_check
        from bot.policy_env import PolicyEnv
        from tools.sources.findings_file import read_findings
        from tools.sources.policy_reports import read_policy_reports

        since = since or Since()
        report = ScanReport(read=ReadResult(path=""))
        reads: list[FindingsRead] = []
        marks: list[tuple[str, Offset | None]] = [(f"report:{p.resolve()}", _report_mark(p)) for p in paths]
        if since.mode == "offset" and all(
            mark is not None and self.state.get_offset(source) == mark for source, mark in marks
        ):
            report.unchanged = [str(p) for p in paths]
            paths = ()
        for path, (_source, mark) in zip(paths, marks, strict=False):
            read = read_findings(path)
            if mark is not None and any(f.ts is None for f in read.findings):
                # an undated report (trivy k8s writes no CreatedAt) is as old as its file
                when = mark.line / 1e9
                read.findings = [f._replace(ts=when) if f.ts is None else f for f in read.findings]
            reads.append(read)
        report.reports = reads
        findings = [f for r in reads for f in r.findings]
        if since.mode == "time" and since.ts is not None:
            cutoff = since.ts
            findings = [f for f in findings if f.ts is None or f.ts >= cutoff]
        report.findings = len(findings)
        self.audit.flush()
        with self.audit.batch():
            reader, self.read_file = self.read_file, _read_once(self.read_file)
            try:
                groups = group_findings(
                    findings, self.inventory, min_level=self.min_level, by_check=by_check()
                )
                evidence = read_policy_reports(list(policy_reports)) if policy_reports else None
                report.policy_report_problems = evidence.problems if evidence else []
                env = PolicyEnv(
                    root=self.repo_root,
                    now=self.clock.now(),
                    reports=evidence.results if evidence else (),
                    period_days=promote_after_days,
                )
                self._findings = FindingContext(
                    read_file=self.read_file, candidates=candidate_scans(reads), policy_env=env
                )
                groups = self._with_users(groups)
                if policy_reports:
                    groups += promotion_groups(env, self.inventory)
                report.groups = len(groups)
                self._decide_groups(groups, report)
            finally:
                self._findings = None
                self.read_file = reader
            self.audit.append(
                "scan",
                {
                    "source": "reports",
                    "reports": [r.source for r in reads],
                    "unchanged": report.unchanged,
                    "findings": report.findings,
                    "malformed": sum(r.malformed for r in reads),
                    "groups": report.groups,
                    "new_proposals": sorted(report.new_ids),
                },
            )
        for source, mark in marks if reads else ():
            if mark is not None:
                self.state.set_offset(source, mark, self.clock.now())
        return report

    def _with_users(self, groups: Sequence[AlertGroup]) -> list[AlertGroup]:
        """Image groups without a workload (a ``trivy image`` report names none) get the listed workloads
        whose files hold that image; those no listed workload runs are dropped when they are a candidate scan
        for another group's image (evidence), and escalate otherwise."""
        from agents.image_context import image_users

        wanted = {_repository(g.subject) for g in groups if g.family == "image" and g.targets}
        out: list[AlertGroup] = []
        for g in groups:
            if g.family != "image" or g.targets:
                out.append(g)
                continue
            users = image_users(g.subject, self.inventory, self.read_file)
            if users:
                out.append(g.model_copy(update={"targets": tuple(users)}))
            elif _repository(g.subject) not in wanted:
                out.append(g)
        return out

    def _unrecorded(self, source: str, report: ScanReport) -> list[Proposal]:
        """Known proposals of this scan that an earlier scan stored but could not record (its audit write
        failed: a full disk). They were stored after the last completed scan of this source and appear in
        no record since; they are recorded now, so nothing decided is missing from the audit log."""
        known = [p for p in report.proposals if p.id not in report.new_ids]
        if not known:
            return []
        last, after = self.audit.since_last("scan", source=source)
        since = 0.0
        recorded: set[str] = set()
        if last is not None:
            since = datetime.strptime(last["ts"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() - 1
            recorded.update(last.get("new_proposals", ()))
        recorded.update(str(r.get("proposal")) for r in after if r.get("event") == "proposal")
        out = []
        for p in known:
            stored = self.state.get(p.id) if p.id not in recorded else None
            if stored is not None and stored.created_at >= since:
                out.append(stored.proposal)
        return out

    def _record(self, p: Proposal) -> None:
        self.audit.append(
            "proposal",
            {
                "proposal": p.id,
                "revision": p.revision,
                "revision_hash": p.revision_hash,
                "action": p.action,
                "fixer": p.fixer,
                "source": p.group.source,
                "subject": p.group.subject,
                "group": p.group.id,
                "attacker": p.group.attacker,
                "targets": list(p.group.targets),
                "alert_count": p.group.alert_count,
                "rule_ids": list(p.group.rule_ids),
                "alert_ids": list(p.group.alert_ids[:20]),
                "operations": list(p.operations),
                "files": list(p.files),
                "diff_sha256": hashlib.sha256(p.diff.encode()).hexdigest(),
                "reason": p.reason,
                "unfixed": [u.model_dump() for u in p.unfixed],
            },
        )
        if p.guard is not None:
            self.audit.append(
                "guard",
                {
                    "proposal": p.id,
                    "revision": p.revision,
                    "passed": p.guard.passed,
                    "checks": [c.model_dump() for c in p.guard.checks],
                },
            )


def _outcome(
    tried: TriedChange, make: Callable[..., Proposal], *, ok_reason: str, notes: str, read_file: ReadFile
) -> Proposal:
    """The proposal for a tried change: nothing to do (already in place), guarded, or refused by the guard."""
    if tried.nothing_to_do:
        return make(
            "suppressed",
            operations=tried.operations,
            reason=messages.suppressed_already(describe_unchanged(tried.ops, read_file)),
        )
    report = tried.report
    assert report is not None
    reason = ok_reason if report.passed else messages.blocked_by_guard(report.summary())
    return make(
        "propose" if report.passed else "blocked",
        operations=tried.operations,
        files=tuple(c.path for c in tried.changed),
        diff=tried.diff,
        guard=report,
        reason=f"{reason} {notes}".strip(),
    )


def _bumps(operations: Sequence[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(o.get("file")), str(o.get("target"))): o for o in operations if o.get("op") == "set_image"}


def _better(new: dict[tuple[str, str], dict[str, Any]], old: dict[tuple[str, str], dict[str, Any]]) -> bool:
    """A better candidate for every bump: it fixes more of the findings (a strict superset), or the same ones
    with a smaller step (an older tag of the same style). A bigger step for the same fixes is not better."""
    if set(new) != set(old):
        return False
    better = False
    for key, op in new.items():
        fixes, fixed_before = _fixes(op), _fixes(old[key])
        if fixes > fixed_before or (fixes == fixed_before and _newer(op, old[key]) is False):
            better = True
        elif fixes != fixed_before or op.get("value") != old[key].get("value"):
            return False
    return better


def _fixes(op: dict[str, Any]) -> frozenset[str]:
    evidence = op.get("evidence")
    return frozenset(str(i) for i in (evidence.get("findings", ()) if isinstance(evidence, dict) else ()))


def _newer(new: dict[str, Any], old: dict[str, Any]) -> bool | None:
    """Whether ``new`` bumps to a newer tag than ``old`` (None: the same tag, or tags that do not compare)."""
    a, b = parse_image(str(old.get("value", ""))), parse_image(str(new.get("value", "")))
    if a is None or b is None or a.name != b.name or not a.tag or not b.tag:
        return None
    order = compare_tags(a.tag, b.tag)
    return None if order in (None, 0) else order == -1


def with_policy_notes(proposal: Proposal, tried: TriedChange) -> Proposal:
    """A policy proposal's card: the impact preview (a note) and the proof table's rows."""
    proof = next(iter(tried.proofs.values()), None) if tried.proofs else None
    if proof is None or not proof.rows:
        return proposal
    preview = messages.impact_preview(
        proof.flagged_count, proof.namespaces, list(proof.flagged), proof.manifests, proof.unsupported
    )
    rows = tuple((r.source, plain(r.resource, 200), r.expected, r.actual) for r in proof.rows)
    return proposal.model_copy(update={"notes": (*proposal.notes, preview), "proof": rows})


def promotion_groups(env: Any, inventory: Inventory) -> list[AlertGroup]:
    """One group per policy in a listed kyverno-policies directory that is in Audit (one field) and has
    evidence of zero violations (:meth:`bot.policy_env.PolicyEnv.promotion`)."""
    from bot.core.operations.policies import actions, policy_directory

    out: list[AlertGroup] = []
    for m in env.repo.policies:
        name = str((m.doc.get("metadata") or {}).get("name", ""))
        if policy_directory(inventory, m.path) is None or actions(m.doc) != ["Audit"] or not name:
            continue
        evidence = env.promotion(name, m.doc)
        if not evidence:
            continue
        subject = f"promote:{m.path}#{name}"
        day = datetime.fromtimestamp(env.now, UTC).strftime("%Y%m%d")
        key = f"pol:{subject}:{day}"
        out.append(
            AlertGroup(
                id="g-" + hashlib.sha256(key.encode()).hexdigest()[:10],
                key=key,
                attacker=None,
                family="policy-promotion",
                targets=(),
                alert_count=1,
                rule_ids=(name,),
                rule_descriptions={name: plain(evidence, 300)},
                rule_groups=("policy-promotion",),
                max_level=7,
                mitre=(),
                first_ts=env.now,
                last_ts=env.now,
                alert_ids=(name,),
                samples=(),
                source="policy-reports",
                subject_key=subject,
            )
        )
    return out


def _report_mark(path: Path) -> Offset | None:
    """A report's identity for the watermark: inode, size and modification time (ns)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return Offset(st.st_ino, st.st_size, st.st_mtime_ns)


def _repository(subject: str) -> str:
    ref = parse_image(subject)
    return ref.name if ref is not None else subject


def _read_once(read: ReadFile) -> ReadFile:
    """``read`` remembering what it returned (errors are not remembered: they are raised every time)."""
    seen: dict[str, str] = {}

    def read_once(path: str) -> str:
        text = seen.get(path)
        if text is None:
            text = seen[path] = read(path)
        return text

    return read_once


class _Count:
    """Counts the alerts that pass through a generator (the scan's alert total, without a list)."""

    def __init__(self) -> None:
        self.n = 0

    def through(self, alerts: Iterable[Alert]) -> Iterator[Alert]:
        for alert in alerts:
            self.n += 1
            yield alert
