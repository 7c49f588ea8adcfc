"""Reports without dates (pip-audit here) read again at the same installed version: a rejected bump comes back
after the reject period, and a new advisory revises the pending card (or, once that one is decided, is a card
of its own). Real pip-audit against the loopback OSV service, real tests twice, the real scan."""

from __future__ import annotations

import json

import pytest

from bot.slack import blocks as kit
from tests.deps_publish.conftest import DepWorld, Notes, app_remote, app_sync, jinja, published, sync_pass

pytestmark = pytest.mark.integration

DAY = 86400.0


@pytest.fixture
def world(tmp_path, osv, gh):
    work, bare = app_remote(tmp_path)
    return DepWorld(tmp_path, work, bare, osv, gh)


def new_advisory(report):
    """The same installed Jinja2 2.10, and besides PYSEC-2019-217 a new advisory fixed only in 2.11.3."""
    for dep in report["dependencies"]:
        if dep["name"].lower() == "jinja2":
            dep["vulns"].append(
                {"id": "PYSEC-2020-99", "fix_versions": ["2.11.3"], "aliases": ["CVE-2020-28493"],
                 "description": "ReDoS in urlize"}
            )  # fmt: skip


def _rejected(world, gh):
    p, result = published(world)
    gh.close_by(result.pr_number, "bob", "Not now.")
    sync_pass(app_sync(world, Notes()))
    assert world.state.get(p.id).status == "rejected"
    return p


def test_same_report_within_the_reject_period_stays_rejected(world, gh):
    p = _rejected(world, gh)
    world.clock.advance(10 * DAY)
    again = jinja(world, report="again.json")
    assert again.id == p.id
    assert world.state.get(p.id).status == "rejected"
    assert [
        s.proposal.id for s in world.state.list() if s.proposal.operations[0].get("package") == "Jinja2"
    ] == [p.id]


def test_same_report_after_the_reject_period_is_proposed_again(world, gh):
    p = _rejected(world, gh)
    world.clock.advance(31 * DAY)
    again = jinja(world, report="again.json")
    assert again.id != p.id
    assert (again.action, world.state.get(again.id).status) == ("propose", "pending")
    assert (again.operations[0]["from"], again.operations[0]["to"]) == ("2.10", "2.10.1")
    assert jinja(world, report="third.json").id == again.id  # read once more: the same new card


def test_new_advisory_revises_the_pending_card(world):
    first = jinja(world)
    folded = jinja(world, new_advisory, report="later.json")
    assert (folded.action, folded.folded_into) == ("suppressed", first.id)
    assert folded.reason == (
        f"A new advisory (PYSEC-2020-99): became revision 2 of {first.id} (no second card)"
    )
    stored = world.state.get(first.id)
    card = stored.proposal
    assert (stored.status, card.revision) == ("pending", 2)
    assert (card.operations[0]["from"], card.operations[0]["to"]) == ("2.10", "2.11.3")
    assert card.revision_note == (
        "A newer report names a new advisory at 2.10: PYSEC-2020-99; the target is now Jinja2 2.10 → 2.11.3 "
        "(was 2.10.1: the smallest version fixing all of them)"
    )
    text, blocks = kit.proposal_blocks(card, status="pending")
    assert text.startswith("Bump Jinja2 2.10 → 2.11.3 in billing (fixes PYSEC-2019-217, PYSEC-2020-99)")
    approve = [
        el["value"] for b in blocks for el in b.get("elements", []) if el.get("action_id") == "approve"
    ]
    assert [json.loads(v)["h"] for v in approve] == [card.revision_hash]
    assert card.revision_hash != first.revision_hash
    audited = [e for e in world.audit_events() if e["event"] == "revision_candidate"]
    assert [(e["proposal"], e["revision"], e["operations"][0]["to"]) for e in audited] == [
        (first.id, 2, "2.11.3")
    ]


def test_new_advisory_after_the_card_was_decided_is_a_new_card(world, gh):
    p = _rejected(world, gh)
    later = jinja(world, new_advisory, report="later.json")
    assert later.id != p.id
    assert (later.action, world.state.get(later.id).status) == ("propose", "pending")
    assert later.operations[0]["to"] == "2.11.3"
    assert world.state.get(p.id).proposal.revision == 1


def test_same_report_read_again_is_not_a_revision(world):
    first = jinja(world)
    assert jinja(world, report="again.json").id == first.id
    assert world.state.get(first.id).proposal.revision == 1
