"""The memory of past fixes as a service: the scanner's :class:`~bot.pipeline.DedupGate`.

For each proposal that passed routing: derive its exact effects (operations applied to the parsed files),
record them, look up past outcomes by effect id (SQLite, sub-millisecond) and, only when the proposal has an
effect that exact ids cannot compare (a key set, not an address blocked), embed its canonical description
and ask the fix store for neighbours. The pure rule in :mod:`bot.core.dedup` decides.

The fix store is optional at run time: when Chroma is unreachable, the check degrades to exact effects with
one warning and never blocks a proposal. New outcomes (recorded by the Slack and publishing flows) are
indexed into the store lazily, when an embedding is needed anyway, or by :meth:`DedupService.sync`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot import messages
from bot.clock import Clock
from bot.core.dedup import DedupPolicy, Neighbour, PastFix, Verdict, decide
from bot.core.effects import (
    POLICY_KIND,
    Effect,
    Where,
    describe_fix,
    effect_ids,
    effects_of_operations,
    policy_behaviour,
)
from bot.core.errors import DocumentError, FixStoreError
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.state import StateStore
from bot.yaml_edit import ReadFile
from tools.embedder import Embedder
from tools.fix_store import FixRecord, FixStore

log = logging.getLogger(__name__)

#: proposals a repeat is folded into: still awaiting a decision or on their way to being merged
FOLD_STATUSES = ("pending", "blocked", "approved", "published")
_SKIP_GROUPS = frozenset({"syslog", "ossec", "wazuh", "local", "json", "accesslog", "windows", "linux"})
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARSED_CACHE = 256  # parsed config files kept (a few KB each), by text


def where_map(inventory: Inventory) -> dict[str, Where]:
    """Each config path the inventory lists → its server, config kind and block-list key."""
    out: dict[str, Where] = {}
    for server in inventory.servers:
        for cfg in server.configs:
            out.setdefault(cfg.path, Where(server=server.name, kind=cfg.kind, list_key=cfg.block_key))
    for d in inventory.policy_directories:
        out.setdefault(d.path.rstrip("/"), Where(server=d.cluster, kind=POLICY_KIND))
    return out


def defends(proposal: Proposal) -> str:
    """What a fix defends against, from the alerts' specific rule groups and MITRE ids (never alert text)."""
    groups = sorted({g for g in proposal.group.rule_groups if g not in _SKIP_GROUPS})
    return " ".join([*groups, *sorted(proposal.group.mitre)])


class DedupService:
    """Suppresses repeats of merged or rejected fixes, folds repeats of pending ones, notes related ones."""

    def __init__(
        self,
        *,
        state: StateStore,
        inventory: Inventory,
        read_file: ReadFile,
        clock: Clock,
        store: FixStore | None,
        embedder: Embedder | None,
        policy: DedupPolicy | None = None,
        neighbours: int = 10,
        repo_root: Path | None = None,
    ) -> None:
        self.state = state
        self.where = where_map(inventory)
        self.read_file = read_file
        self.clock = clock
        self.store = store
        self.embedder = embedder
        self.policy = policy or DedupPolicy()
        self.k = neighbours
        self.store_error: str | None = None
        self._docs: dict[str, Any] = {}
        # the checkout whose manifests define an add_policy's behaviour (none: add_policy has no effect)
        self.repo_root = repo_root

    @property
    def calls_model(self) -> bool:
        """True when a check may embed text or query the vector store (seconds, not microseconds)."""
        return self.embedder is not None or self.store is not None

    # --- the gate --------------------------------------------------------------------------------------

    def check(self, proposal: Proposal) -> Proposal:
        """The proposal, possibly suppressed, folded or annotated with related past fixes."""
        effects = self.effects_of(proposal)
        self.state.set_effects(proposal.id, effect_rows(effects))
        verdict = self.verdict(proposal, effects)
        return self.apply(proposal, verdict)

    def effects_of(self, proposal: Proposal) -> tuple[Effect, ...]:
        """The exact effects of a proposal's operations on the files as they are now."""
        docs: dict[str, Any] = {}
        for path in sorted({str(op.get("file")) for op in proposal.operations if op.get("file")}):
            try:
                docs[path] = self._parsed(self.read_file(path))
            except (DocumentError, yaml.YAMLError):
                continue
        behaviours = self._policy_behaviours(proposal.operations)
        return effects_of_operations(proposal.operations, docs, self.where, behaviours)

    def _policy_behaviours(self, operations: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Each ``add_policy``'s behaviour (file → :func:`~bot.core.effects.policy_behaviour`) from the engine's
        verdicts on the catalogue's fixtures and the checkout's manifests (loaded once per check)."""
        adds = [o for o in operations if o.get("op") == "add_policy" and isinstance(o.get("policy"), dict)]
        if not adds or self.repo_root is None:
            return {}
        from bot.policy_proof import load_repository

        repo = load_repository(self.repo_root)
        return {str(o.get("file", "")): behaviour_of(o["policy"], repo) for o in adds}

    def _parsed(self, text: str) -> Any:
        """The parsed document, cached by the file's text (a scan asks for the same few files per group).

        Keyed by text, not path, so an edited file is parsed again; the documents are only read, never
        changed (:func:`effects_of_operations` copies what it edits).
        """
        if text not in self._docs:
            if len(self._docs) >= _PARSED_CACHE:
                self._docs.clear()
            self._docs[text] = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
        return self._docs[text]

    def verdict(self, proposal: Proposal, effects: Sequence[Effect]) -> Verdict:
        now = self.clock.now()
        ids = list(effect_ids(effects))
        exact = {eid: tuple(self._past(rows)) for eid, rows in self.state.outcomes_by_effect(ids).items()}
        pending = self.state.open_proposals_by_effect(ids, FOLD_STATUSES)
        neighbours: list[Neighbour] = []
        same_address: list[PastFix] = []
        if any(not e.is_address for e in effects):  # short values: only to show related fixes
            neighbours = self.similar(describe_fix(effects, defends(proposal)))
        addresses = sorted({e.value for e in effects if e.is_address})
        if addresses:
            same_address = self._past(self.state.outcomes_by_address(addresses))
        return decide(
            effects, exact, neighbours, now, self.policy, pending=pending, own_id=proposal.id,
            same_address=same_address,
        )  # fmt: skip

    def apply(self, proposal: Proposal, verdict: Verdict) -> Proposal:
        if verdict.action == "fold" and verdict.fold_into:
            return proposal.model_copy(
                update={
                    "action": "suppressed",
                    "reason": (
                        messages.dedup_folded_policy(verdict.fold_into)
                        if _is_policy(proposal)
                        else messages.dedup_folded_findings(verdict.fold_into)
                        if proposal.group.is_findings
                        else messages.dedup_folded(verdict.fold_into)
                    ),
                    "folded_into": verdict.fold_into,
                }
            )
        if verdict.action == "suppressed" and verdict.fix is not None:
            fix = verdict.fix
            label = messages.dedup_fix_label(fix.fix_id, fix.pr_url)
            if fix.outcome == "merged":
                reason = messages.dedup_suppressed_merged(label, verdict.similarity)
            else:
                until = datetime.fromtimestamp(fix.at + self.policy.reject_period, UTC)
                reason = messages.dedup_suppressed_rejected(
                    label, fix.by, fix.reason, until.strftime("%Y-%m-%d %H:%M UTC"), verdict.similarity
                )
            log.info("proposal %s suppressed by %s (%s)", proposal.id, fix.fix_id, verdict.basis)
            return proposal.model_copy(update={"action": "suppressed", "reason": reason})
        notes = []
        for rel in verdict.related:
            label = messages.dedup_fix_label(rel.fix.fix_id, rel.fix.pr_url)
            if rel.similarity is None:
                notes.append(messages.dedup_note_shared(label, rel.fix.outcome))
            else:
                notes.append(messages.dedup_note_similar(label, rel.similarity))
        if not notes:
            return proposal
        return proposal.model_copy(update={"notes": (*proposal.notes, *notes)})

    # --- the fix store ---------------------------------------------------------------------------------

    def similar(self, description: str) -> list[Neighbour]:
        """Neighbours of a description in the fix store; empty (with one warning) when it is unavailable."""
        if self.store is None or self.embedder is None:
            return []
        try:
            self.sync()
            vector = self.embedder.embed([description])[0]
            found = self.store.nearest(vector, self.k)
        except FixStoreError as exc:
            self._store_down(str(exc))
            return []
        self.store_error = None
        return [n for n, _doc in found]

    def sync(self, batch: int = 64) -> int:
        """Index outcomes recorded since the last sync into the fix store; returns how many."""
        if self.store is None or self.embedder is None:
            return 0
        done = 0
        while rows := self.state.unindexed_outcomes(batch):
            records = self._records(rows)
            if records:
                vectors = self.embedder.embed([r.description for r in records])
                self.store.upsert(records, vectors)
            self.state.mark_indexed([r["fix_id"] for r in rows])
            done += len(rows)
            if len(rows) < batch:
                break
        return done

    def remember(self, records: Sequence[FixRecord]) -> None:
        """Write fixes to the fix store now (back-fill); raises :class:`FixStoreError`."""
        if self.store is None or self.embedder is None or not records:
            return
        vectors = self.embedder.embed([r.description for r in records])
        self.store.upsert(records, vectors)

    def query(self, text: str, k: int = 5) -> list[tuple[Neighbour, str]]:
        """The past fixes most similar to a free text (for ``dedup query``); raises :class:`FixStoreError`."""
        if self.store is None or self.embedder is None:
            return []
        self.sync()
        return self.store.nearest(self.embedder.embed([text])[0], k, documents=True)

    # --- helpers ---------------------------------------------------------------------------------------

    def _store_down(self, why: str) -> None:
        if self.store_error is None:
            where = self.store.where if self.store is not None else "?"
            log.warning(messages.dedup_store_down(where, why))
        self.store_error = why

    def _past(self, rows: Sequence[Mapping[str, Any]]) -> list[PastFix]:
        scopes = self.state.effect_scopes([str(r["fix_id"]) for r in rows])
        out = []
        for r in rows:
            sc, addrs = scopes.get(str(r["fix_id"]), (set(), set()))
            out.append(
                PastFix(
                    fix_id=str(r["fix_id"]),
                    outcome=r["outcome"],
                    at=float(r["at"]),
                    pr_url=r["pr_url"],
                    reason=r["reason"] or "",
                    by=r["by"] or "",
                    scopes=tuple(sorted(sc)),
                    addresses=tuple(sorted(addrs)),
                    servers=tuple(sorted({s.split("|", 1)[0] for s in sc})),
                    ineffective=self._still_firing(str(r["fix_id"])),
                )
            )
        return out

    def _still_firing(self, fix_id: str) -> bool:
        """Post-merge verification found this merged fix deployed and its attacker still firing."""
        verification = self.state.verification(fix_id)
        return verification is not None and verification.phase == "still_firing"

    def _records(self, rows: Sequence[Mapping[str, Any]]) -> list[FixRecord]:
        """Fix-store records for outcomes of stored proposals (their effects were recorded at check time)."""
        records = []
        for fix in self._past(rows):
            # the effects as recorded when the proposal was checked (once merged, the files already hold them)
            effects = [Effect.model_validate_json(d) for d in self.state.effect_details(fix.fix_id)]
            stored = self.state.get(fix.fix_id)
            if not effects or stored is None:
                continue  # imported fixes are written to the store when they are imported
            p = stored.proposal
            records.append(fix_record(fix, effects, defends(p), p.id, p.group.attacker))
        return records


def _is_policy(proposal: Proposal) -> bool:
    return any(o.get("op") in ("add_policy", "set_policy_mode") for o in proposal.operations)


def catalogue_fixtures() -> list[dict[str, Any]]:
    """Every vetted template's must-pass and must-fail resources, in catalogue order: the fixed half of the
    resources a policy's behaviour is measured on (the same for every policy, whoever wrote it)."""
    from agents.policy_catalog import templates

    return [r for t in templates() for r in (*t.must_pass, *t.must_fail)]


def behaviour_of(policy: dict[str, Any], repo: Any) -> str:
    """What ``policy`` does: the resources it flags among the catalogue's fixtures (by content digest) and
    ``repo``'s manifests (by path and ``namespace/Kind/name``); see :func:`bot.core.effects.policy_behaviour`."""
    from bot.core.operations.policies import policy_digest
    from bot.policy_proof import effect

    fixtures = catalogue_fixtures()
    names = [f"fixture {policy_digest(r)}" for r in fixtures]
    names += [f"{m.path}: {m.ref}" for m in repo.manifests]
    verdicts = effect(policy, [*fixtures, *(m.doc for m in repo.manifests)])
    flagged = None if verdicts is None else [n for n, hit in zip(names, verdicts, strict=True) if hit]
    return policy_behaviour(flagged, policy_digest(policy))


def effect_rows(effects: Sequence[Effect]) -> list[tuple[str, str, str | None, str]]:
    """State-store rows for effects: id, scope, address (for address effects), the effect as JSON."""
    return [(e.id, e.scope, e.value if e.is_address else None, e.model_dump_json()) for e in effects]


def fix_record(
    fix: PastFix,
    effects: Sequence[Effect],
    defends_text: str,
    proposal_id: str = "",
    attacker: str | None = None,
) -> FixRecord:
    """The fix-store record of a past fix with its effects."""
    return FixRecord(
        fix=fix.model_copy(
            update={
                "scopes": tuple(sorted({e.scope for e in effects})),
                "addresses": tuple(sorted({e.value for e in effects if e.is_address})),
                "servers": tuple(sorted({e.server for e in effects if e.server})),
            }
        ),
        description=describe_fix(effects, defends_text),
        proposal_id=proposal_id,
        attacker=attacker or "",
        kinds=tuple(sorted({e.kind for e in effects if e.kind})),
        keys=tuple(sorted({e.key for e in effects})),
        effect_ids=effect_ids(effects),
    )
