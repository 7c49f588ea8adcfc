"""The dedup decision rule: is a proposal the same fix as one merged, rejected, or still pending?

Pure: the caller looks up past fixes (by exact effect id, and by embedding similarity) and passes them in.

1. Exact effects first. An effect is *covered* by a past fix that had the same effect id and is still
   binding: merged (forever) or rejected less than ``reject_period`` ago.
2. Similarity only where exact effects cannot compare: a long value (a snippet, a policy) is also covered
   by a binding past fix whose description is at least ``threshold`` similar *and* that changed the same
   server, file, config kind and key (its ``scopes``). Addresses and short values are never covered by
   similarity: a new address must never be suppressed by an old one, and the embedding cannot tell
   ``TLSv1.2`` from ``TLSv1.3`` (docs/dedup.md).
3. Every effect covered → ``suppressed``: by the merged fix when merged fixes cover everything, otherwise by
   the rejected one (a human said no; their reason is shown).
4. Otherwise, every effect already in one pending proposal → ``fold`` into it (a new alert count there,
   not a second message).
5. Otherwise ``new``, with related past fixes to show: similar ones at or above ``show_threshold`` (for
   address fixes only those that touched one of the same addresses), and fixes that share some effects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.effects import Effect

Outcome = Literal["merged", "rejected"]


class PastFix(BaseModel):
    """A fix whose outcome is known: merged (with its PR) or rejected (with who and why)."""

    model_config = ConfigDict(frozen=True)

    fix_id: str
    outcome: Outcome
    at: float
    pr_url: str | None = None
    reason: str = ""
    by: str = ""
    scopes: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    #: post-merge verification found the fix deployed and its alerts still coming: it binds nothing
    ineffective: bool = False


class Neighbour(BaseModel):
    """A past fix found by embedding similarity (cosine, 1.0 = same direction)."""

    model_config = ConfigDict(frozen=True)

    fix: PastFix
    similarity: float


class Related(BaseModel):
    """A past fix shown next to a proposal that passes; ``similarity`` is None for a shared exact effect."""

    model_config = ConfigDict(frozen=True)

    fix: PastFix
    similarity: float | None = None


class DedupPolicy(BaseModel):
    """Thresholds (cosine similarity) and how long a rejection binds."""

    model_config = ConfigDict(frozen=True)

    threshold: float = Field(default=0.9, ge=0.0, le=1.0)
    show_threshold: float = Field(default=0.75, ge=0.0, le=1.0)
    reject_period: float = Field(default=30 * 86400.0, gt=0)
    max_related: int = 3


class Verdict(BaseModel):
    """What to do with a proposal: keep it (``new``), ``suppressed`` by a past fix, or ``fold`` it."""

    model_config = ConfigDict(frozen=True)

    action: Literal["new", "suppressed", "fold"]
    fix: PastFix | None = None
    basis: Literal["exact", "similar", ""] = ""
    similarity: float | None = None
    fold_into: str | None = None
    related: tuple[Related, ...] = ()


def binding(fix: PastFix, now: float, policy: DedupPolicy) -> bool:
    """A merged fix binds forever (unless verification found it still firing); a rejection binds for
    ``reject_period`` after it was made."""
    if fix.ineffective:
        return False
    return fix.outcome == "merged" or now - fix.at < policy.reject_period


def decide(
    effects: Sequence[Effect],
    exact: Mapping[str, Sequence[PastFix]],
    neighbours: Sequence[Neighbour],
    now: float,
    policy: DedupPolicy,
    pending: Mapping[str, Sequence[str]] | None = None,
    own_id: str = "",
    same_address: Sequence[PastFix] = (),
) -> Verdict:
    """Decide one proposal from its effects, the past fixes sharing an effect id, and embedding neighbours.

    ``exact`` maps an effect id to the past fixes that had it; ``pending`` maps an effect id to the ids of
    proposals still awaiting a decision that have it (``own_id`` is ignored there); ``same_address`` are
    past fixes that blocked one of the same addresses elsewhere (shown, never suppressing).
    """
    if not effects:
        return Verdict(action="new")
    covering: list[list[tuple[PastFix, float | None]]] = []
    for e in effects:
        found: list[tuple[PastFix, float | None]] = [
            (f, None) for f in exact.get(e.id, ()) if binding(f, now, policy)
        ]
        if not found and not e.exact_only:
            found = [
                (n.fix, n.similarity)
                for n in neighbours
                if n.similarity >= policy.threshold
                and e.scope in n.fix.scopes
                and binding(n.fix, now, policy)
            ]
        covering.append(found)
    if all(covering):
        return _suppressed(covering)
    fold = _fold_target(effects, pending or {}, own_id)
    if fold is not None:
        return Verdict(action="fold", fold_into=fold, basis="exact")
    return Verdict(action="new", related=_related(effects, exact, neighbours, policy, same_address))


def _suppressed(covering: list[list[tuple[PastFix, float | None]]]) -> Verdict:
    merged_everywhere = all(any(f.outcome == "merged" for f, _ in found) for found in covering)
    wanted = "merged" if merged_everywhere else "rejected"
    # the most recent fix of the deciding outcome, preferring exact matches
    candidates = [(f, s) for found in covering for f, s in found if f.outcome == wanted]
    fix, _ = max(candidates, key=lambda fs: (fs[1] is None, fs[0].at, fs[0].fix_id))
    sims = [s for found in covering for f, s in found if s is not None and f.fix_id == fix.fix_id]
    exact_only = all(any(s is None for _, s in found) for found in covering)
    return Verdict(
        action="suppressed",
        fix=fix,
        basis="exact" if exact_only else "similar",
        similarity=None if exact_only or not sims else min(sims),
    )


def _fold_target(effects: Sequence[Effect], pending: Mapping[str, Sequence[str]], own_id: str) -> str | None:
    common: set[str] | None = None
    for e in effects:
        ids = {p for p in pending.get(e.id, ()) if p != own_id}
        common = ids if common is None else common & ids
        if not common:
            return None
    return min(common) if common else None


def _related(
    effects: Sequence[Effect],
    exact: Mapping[str, Sequence[PastFix]],
    neighbours: Sequence[Neighbour],
    policy: DedupPolicy,
    same_address: Sequence[PastFix],
) -> tuple[Related, ...]:
    out: dict[str, Related] = {}
    for e in effects:
        for f in exact.get(e.id, ()):
            out.setdefault(f.fix_id, Related(fix=f))
    for f in sorted(same_address, key=lambda f: -f.at):
        out.setdefault(f.fix_id, Related(fix=f))
    addresses = {e.value for e in effects if e.is_address}
    for n in sorted(neighbours, key=lambda n: -n.similarity):
        if n.similarity < policy.show_threshold or n.fix.fix_id in out:
            continue
        if addresses and not addresses & set(n.fix.addresses):
            continue
        out[n.fix.fix_id] = Related(fix=n.fix, similarity=n.similarity)
    return tuple(list(out.values())[: policy.max_related])
