"""The dedup service inside the scan pipeline: real SQLite, a deterministic embedder, an in-memory store."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from pathlib import Path

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.dedup import DedupPolicy, Neighbour
from bot.core.errors import FixStoreError
from bot.dedup import DedupService
from bot.pipeline import Scanner, ScanReport
from bot.state import StateStore
from bot.yaml_edit import repo_reader
from tests.conftest import make_alert
from tools.fix_store import FixRecord, FixStore

DAY = 86400.0
T0 = 1_795_000_000.0


class WordsEmbedder:
    """Deterministic: a normalised bag of hashed words (similar words → similar vectors)."""

    name = "words"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vec = [0.0] * 64
            for word in text.lower().split():
                vec[int(hashlib.sha256(word.encode()).hexdigest(), 16) % 64] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


class MemoryFixStore(FixStore):
    """A fix store kept in a dict (same interface, no Chroma)."""

    def __init__(self) -> None:
        super().__init__(path=Path("memory"))
        self.records: dict[str, tuple[FixRecord, list[float]]] = {}
        self.down = False

    def upsert(self, records: Sequence[FixRecord], vectors: Sequence[Sequence[float]]) -> None:
        if self.down:
            raise FixStoreError("cannot write to the fix store at memory: ConnectError")
        for r, v in zip(records, vectors, strict=True):
            self.records[r.fix.fix_id] = (r, list(v))

    def nearest(
        self, vector: Sequence[float], k: int = 10, *, documents: bool = False
    ) -> list[tuple[Neighbour, str]]:
        if self.down:
            raise FixStoreError("cannot query the fix store at memory: ConnectError")
        scored = [
            (
                Neighbour(fix=r.fix, similarity=sum(a * b for a, b in zip(vector, v, strict=True))),
                r.description,
            )
            for r, v in self.records.values()
        ]
        return sorted(scored, key=lambda nd: -nd[0].similarity)[:k]


def _scanner(gitops: Path, inventory, data: Path, clock: FixedClock, store: FixStore) -> Scanner:
    state = StateStore(data / "state.db")
    dedup = DedupService(
        state=state, inventory=inventory, read_file=repo_reader(gitops), clock=clock, store=store,
        embedder=WordsEmbedder(), policy=DedupPolicy(reject_period=30 * DAY),
    )  # fmt: skip
    return Scanner(
        inventory=inventory, repo_root=gitops, catalog=load_catalog(), state=state,
        audit=AuditLog(data / "audit.jsonl", clock), clock=clock, dedup=dedup,
    )  # fmt: skip


def _scan(scanner: Scanner, *alerts):
    report = ScanReport(read=None)  # type: ignore[arg-type]
    scanner.decide(list(alerts), report)
    return report.proposals


def _day(n: int, **kw):
    return make_alert(ts=T0 + n * DAY, alert_id=f"{n}.{kw.get('agent', 'web-01')}", **kw)


def test_merged_fix_same_attacker_next_day_is_suppressed(gitops, inventory, tmp_path):
    clock = FixedClock(T0)
    s = _scanner(gitops, inventory, tmp_path, clock, MemoryFixStore())
    (first,) = _scan(s, _day(0))
    s.state.record_outcome(first.id, "merged", at=T0 + 3600, pr_url="https://github.com/o/r/pull/12")
    clock.advance(DAY)
    (again,) = _scan(s, _day(1))
    assert again.action == "suppressed"
    assert again.reason == (
        "Same fix as PR #12 (merged): every change it makes is already merged; not proposed again."
    )


def test_same_attacker_on_another_server_is_proposed_with_note(gitops, inventory, tmp_path):
    clock = FixedClock(T0)
    s = _scanner(gitops, inventory, tmp_path, clock, MemoryFixStore())
    (first,) = _scan(s, _day(0))
    s.state.record_outcome(first.id, "merged", at=T0 + 3600, pr_url="https://github.com/o/r/pull/12")
    clock.advance(DAY)
    (other,) = _scan(s, _day(1, agent="web-02"))
    assert other.action == "propose"
    assert other.notes == ("related to PR #12 (merged: same address or change)",)


def test_rejected_fix_is_suppressed_with_reason_until_expiry(gitops, inventory, tmp_path):
    clock = FixedClock(T0)
    s = _scanner(gitops, inventory, tmp_path, clock, MemoryFixStore())
    (first,) = _scan(s, _day(0))
    s.state.set_status(first.id, "rejected", T0)  # what the Slack flow does next to recording the outcome
    s.state.record_outcome(first.id, "rejected", at=T0, reason="it is our scanner", by="U042")
    clock.advance(29 * DAY)
    (again,) = _scan(s, _day(29))
    assert again.action == "suppressed"
    assert again.reason == (
        "Same fix as proposal " + first.id + ", rejected by U042: it is our scanner. "
        "Not proposed again until 2026-12-18 11:06 UTC."
    )
    clock.advance(2 * DAY)
    (later,) = _scan(s, _day(31))
    assert later.action == "propose", later.reason


def test_repeat_of_pending_proposal_is_folded_into_its_alert_count(gitops, inventory, tmp_path):
    clock = FixedClock(T0)
    s = _scanner(gitops, inventory, tmp_path, clock, MemoryFixStore())
    (first,) = _scan(s, _day(0))
    (repeat,) = _scan(s, _day(1), _day(1))
    assert (repeat.action, repeat.folded_into) == ("suppressed", first.id)
    assert s.state.get(first.id).proposal.group.alert_count == first.group.alert_count + 2
    _scan(s, _day(1), _day(1))  # the same alerts again are not counted twice
    assert s.state.get(first.id).proposal.group.alert_count == first.group.alert_count + 2


def test_memory_survives_a_restart(gitops, inventory, tmp_path):
    store = MemoryFixStore()
    s = _scanner(gitops, inventory, tmp_path, FixedClock(T0), store)
    (first,) = _scan(s, _day(0))
    s.state.record_outcome(first.id, "merged", at=T0, pr_url="https://github.com/o/r/pull/7")
    s.state.close()
    restarted = _scanner(gitops, inventory, tmp_path, FixedClock(T0 + DAY), store)
    (again,) = _scan(restarted, _day(1))
    assert again.action == "suppressed" and "PR #7" in again.reason


def test_set_key_written_differently_is_the_same_fix(gitops, inventory, tmp_path):
    store = MemoryFixStore()
    s = _scanner(gitops, inventory, tmp_path, FixedClock(T0), store)
    (first,) = _scan(s, _day(0))
    op = {
        "op": "set_key",
        "file": "clusters/prod/web-01/ingress-nginx-controller.yaml",
        "key": "hsts",
    }
    merged = first.model_copy(update={"id": "p-merged", "operations": ({**op, "value": "true"},)})
    s.dedup.check(merged)
    s.state.add_proposal(merged, T0)
    s.state.record_outcome("p-merged", "merged", at=T0, pr_url="https://github.com/o/r/pull/3")
    reordered = first.model_copy(update={"id": "p-new", "operations": ({**op, "value": "True"},)})
    checked = s.dedup.check(reordered)
    assert checked.action == "suppressed" and checked.reason.startswith("Same fix as PR #3 (merged)")


def test_store_down_degrades_to_exact_effects_with_one_warning(gitops, inventory, tmp_path, caplog):
    store = MemoryFixStore()
    store.down = True
    s = _scanner(gitops, inventory, tmp_path, FixedClock(T0), store)
    (first,) = _scan(s, _day(0))
    s.state.record_outcome(first.id, "merged", at=T0, pr_url="https://github.com/o/r/pull/12")
    op = {
        "op": "set_key",
        "file": "clusters/prod/web-01/ingress-nginx-controller.yaml",
        "key": "x-a",
        "value": "1",
    }
    with caplog.at_level(logging.WARNING):
        kept = s.dedup.check(first.model_copy(update={"id": "p-2", "operations": (op,)}))
        s.dedup.check(first.model_copy(update={"id": "p-3", "operations": (op,)}))
    (again,) = _scan(s, _day(1))
    assert kept.action == "propose" and again.action == "suppressed"
    assert [r.message for r in caplog.records].count(
        "fix store memory unavailable (cannot write to the fix store at memory: ConnectError); "
        "dedup uses exact effects only"
    ) == 1
