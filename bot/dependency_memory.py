"""What the bot learned from its application repositories' pull requests, as the dependency bumper's gate.

The sync (:mod:`bot.dependency_sync`) records a merged or closed bump pull request as the proposal's outcome
(``merged`` / ``rejected``, with who, why and the pull request). A later report of the same package of the same
application repository is then, before any test runs:

- **covered by a merge** when the repository's head resolves the package at the merged version or above and
  every advisory of the new report (by id or alias) was one the merged bump fixed: a scanner that still
  reports them there is not a new proposal;
- **held by a rejection** when it proposes the same bump (package and target version) for advisories people
  already saw, less than the reject period (``SECOPS_REJECT_PERIOD``, 30 days) after they closed the pull request
  unmerged or rejected the card;
- **already a card** when a proposal of the package from the same installed version is still pending, blocked,
  approved or published and already names every advisory reported (another day's dated report, or the same
  report read again: one package, one card).

Anything else (a new advisory, a head below the merged version again, another target) is proposed as usual; a new
advisory of a pending card becomes a new revision of that card (:mod:`bot.dependency_candidates`). Reports without
dates name the same group every time they are read: :meth:`BumpMemory.reopens` says when the decided proposal of
such a group no longer stands for it (the reject period is over), so the scan makes the group anew.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import ValidationError

from bot import messages
from bot.clock import Clock
from bot.core.edits import BumpDependency
from bot.core.findings import Finding
from bot.core.grouping import AlertGroup
from bot.core.inventory import AppRepo
from bot.core.proposal import Proposal, proposal_id
from bot.core.sanitize import plain
from bot.core.versions import normalise_name, parse_version
from bot.pull_request import dependency_op
from bot.state import StateStore, StoredProposal

DEFAULT_REJECT_PERIOD = 30 * 86400.0
#: proposals still on their way (a card awaiting a decision, approved, or an open pull request)
OPEN_STATUSES = ("pending", "blocked", "approved", "published")
#: state meta: until when a rejection holds the (suppressed) proposal of a group
HOLD_META = "dep_rejection_hold:"


def advisory_names(findings: Iterable[Finding]) -> set[str]:
    """Every advisory id and alias of ``findings`` (``PYSEC-2019-217`` and ``CVE-2019-10906`` alike)."""
    names: set[str] = set()
    for f in findings:
        names.add(f.id)
        names.update(f.aliases.split())
    return names


class BumpMemory:
    """Past outcomes of bumps of one package in one application repository (the proposals table)."""

    def __init__(
        self, state: StateStore, clock: Clock, *, reject_period: float = DEFAULT_REJECT_PERIOD
    ) -> None:
        self.state = state
        self.clock = clock
        self.reject_period = reject_period

    def covering(self, group: AlertGroup, app: AppRepo, op: BumpDependency) -> str | None:
        """Why ``op`` is not proposed (a merge covers it, a rejection holds it, the same bump is already a
        card); None: propose it."""
        name = normalise_name(op.ecosystem, op.package)
        reported = _reported(group, op)
        for stored in self.state.by_subject(group.subject, OPEN_STATUSES):
            past = bump_of(stored.proposal)
            if (
                past is not None
                and past.app_repo == app.name
                and normalise_name(past.ecosystem, past.package) == name
                and past.from_version == op.from_version
                and _all_known(reported, past, stored.proposal)
            ):  # another day's report of the same advisories: one package, one card
                return messages.dep_already_proposed(stored.proposal.id, stored.status)
        for stored in self.state.by_subject(group.subject, ("merged", "rejected")):
            past = bump_of(stored.proposal)
            if (
                past is None
                or past.app_repo != app.name
                or normalise_name(past.ecosystem, past.package) != name
            ):
                continue
            outcome = self.state.outcome(stored.proposal.id) or {}
            url = plain(str(outcome.get("pr_url") or ""), 300)
            if stored.status == "merged" and self._covered(op, past, stored.proposal, group):
                return messages.dep_covered_by_merge(
                    plain(op.package, 100), plain(past.to_version, 60), app.name, url
                )
            if (
                stored.status == "rejected"
                and self._same_target(op, past)
                and _all_known(reported, past, stored.proposal)  # a new advisory is news: proposed
            ):
                at = float(outcome.get("at") or stored.updated_at)
                if self.clock.now() - at < self.reject_period:
                    self.state.set_meta(f"{HOLD_META}{proposal_id(group)}", at + self.reject_period)
                    return messages.dep_rejected_recently(
                        plain(op.package, 100),
                        plain(op.to_version, 60),
                        app.name,
                        plain(str(outcome.get("by") or "someone"), 60),
                        plain(str(outcome.get("reason") or ""), 300),
                        url,
                        round(self.reject_period / 86400),
                    )
        return None

    def reopens(self, stored: StoredProposal) -> bool:
        """Whether a stored dependency proposal no longer stands for its group: it was rejected (or held by a
        rejection) and the reject period is over, so the same bump may be proposed again (a report without
        dates names the same group, and so the same proposal id, every time it is read)."""
        now = self.clock.now()
        if stored.status == "rejected":
            outcome = self.state.outcome(stored.proposal.id) or {}
            return now - float(outcome.get("at") or stored.updated_at) >= self.reject_period
        if stored.status == "suppressed":
            until = self.state.get_meta(f"{HOLD_META}{stored.proposal.id}")
            return until is not None and now >= float(json.loads(until))
        return False

    @staticmethod
    def _covered(op: BumpDependency, past: BumpDependency, merged: Proposal, group: AlertGroup) -> bool:
        have, fixed = (
            parse_version(op.ecosystem, op.from_version),
            parse_version(op.ecosystem, past.to_version),
        )
        if have is None or fixed is None or have < fixed:
            return False  # the head is below what was merged (a revert): a real finding again
        return _all_known(_reported(group, op), past, merged)

    @staticmethod
    def _same_target(op: BumpDependency, past: BumpDependency) -> bool:
        a, b = parse_version(op.ecosystem, op.to_version), parse_version(op.ecosystem, past.to_version)
        return a is not None and a == b


def _reported(group: AlertGroup, op: BumpDependency) -> list[set[str]]:
    """The names (id and aliases) of each advisory the group reports."""
    return [advisory_names([f]) for f in group.findings] or [{a} for a in op.advisories]


def _all_known(reported: list[set[str]], past: BumpDependency, proposal: Proposal) -> bool:
    """Whether every reported advisory (by id or alias) is one ``proposal`` (a bump ``past``) already named."""
    known = set(past.advisories) | advisory_names(proposal.group.findings)
    return all(names & known for names in reported)


def new_advisories(group: AlertGroup, proposal: Proposal) -> list[str]:
    """The ids of the group's advisories that ``proposal`` does not name (by id or alias), in order."""
    past = bump_of(proposal)
    known = advisory_names(proposal.group.findings) | set(past.advisories if past else ())
    return list(dict.fromkeys(f.id for f in group.findings if not advisory_names([f]) & known))


def bump_of(proposal: Proposal) -> BumpDependency | None:
    raw = dependency_op(proposal)
    if raw is None:
        return None
    try:
        return BumpDependency.model_validate(raw)
    except ValidationError:
        return None
