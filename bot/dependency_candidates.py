"""A new advisory of a package whose bump is still a card: the card's next revision, never a second card.

Reports without dates (pip-audit, npm audit, osv-scanner) name the same installed version every time they are
read; a newer one that names an advisory the pending card does not is a group of its own
(:func:`bot.dependency_scan.app_groups` keys groups by their advisories too). Its proposal is made in full (the
router's version over **all** its advisories, the tool, both test runs, the re-audit, the guard) and then, as
the image family does with a better candidate (:meth:`bot.pipeline.Scanner._better_candidate`), becomes the
next revision of the pending card: the card is updated, the thread says which advisory is new and where the
target moved, and its Approve buttons carry the new revision's hash (audit ``revision_candidate``). The group's
own proposal is stored folded into that card. A card already decided (approved, published, merged, rejected)
is left as it is: the new advisory is a new proposal, judged by :mod:`bot.dependency_memory`.
"""

from __future__ import annotations

from bot import messages
from bot.core.proposal import Proposal
from bot.core.versions import normalise_name
from bot.dependency_memory import bump_of, new_advisories
from bot.pipeline import Adopt
from bot.state import StateStore

#: the cards a newer report may revise (undecided; a blocked one too: its new revision may pass)
REVISABLE = ("pending", "blocked")


def fold_new_advisories(state: StateStore, proposal: Proposal, adopt: Adopt) -> Proposal:
    """``proposal`` as stored for its group: folded into the undecided card of the same package and installed
    version that it gave a new revision (new advisories), or itself."""
    op = bump_of(proposal)
    if op is None or proposal.action not in ("propose", "blocked"):
        return proposal
    name = normalise_name(op.ecosystem, op.package)
    for stored in state.by_subject(proposal.group.subject, REVISABLE):
        old = stored.proposal
        past = bump_of(old)
        if (
            old.id == proposal.id
            or old.action not in ("propose", "blocked")
            or past is None
            or past.app_repo != op.app_repo
            or normalise_name(past.ecosystem, past.package) != name
            or past.from_version != op.from_version
        ):
            continue
        new = new_advisories(proposal.group, old)
        if not new:
            return proposal  # nothing new (the memory suppresses these before any test runs)
        note = messages.dep_new_advisory_revision(
            new, op.package, op.from_version, op.to_version, past.to_version
        )
        revised = proposal.model_copy(
            update={
                "id": old.id,
                "revision": old.revision + 1,
                "revision_note": note,
                "revised_by": "",
                "folded_into": None,
            }
        )
        adopted = adopt(old, revised, proposal)
        if adopted is None:
            return proposal  # the card was decided meanwhile: this one is a card of its own
        return proposal.model_copy(
            update={
                "action": "suppressed",
                "folded_into": old.id,
                "reason": messages.dep_new_advisory_folded(old.id, adopted.revision, new),
                "revision_note": note,
            }
        )
    return proposal
