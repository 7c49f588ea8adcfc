"""Blocks that expire: a merged block is recorded, lifted after its ban time through a normal proposal, and
kept forever after ``keep``; a real bare remote, loopback GitHub and a fake clock."""

from __future__ import annotations

import pytest

from bot.bot_branch import BranchBuilder
from bot.expiry import DAY_S, keep, removable_for
from bot.publisher import GitHubPublisher
from bot.sync import Syncer
from tests.publish_fixtures import (
    FAKE_TOKEN,
    INGRESS,
    World,
    approval,
    merge_branch,
    remote_file,
)
from tests.tools.github_server import GitHubServer
from tools.github import GitHubPulls, github_client

pytestmark = pytest.mark.integration
ATTACKER = "91.240.118.172"


def _pulls(gh: GitHubServer) -> GitHubPulls:
    return GitHubPulls(github_client(FAKE_TOKEN, gh.url, timeout=5), "acme/gitops")


def _builder(world: World) -> BranchBuilder:
    return BranchBuilder(world.repo(), world.inventory, removable=removable_for(world.state))


def _publish(world: World, gh: GitHubServer, proposal):
    pub = GitHubPublisher(
        _builder(world), _pulls(gh), state=world.state, audit=world.audit, clock=world.clock
    )
    return pub.publish(proposal, approval(proposal))


def _sync(world: World, gh: GitHubServer):
    return Syncer(
        pulls=_pulls(gh), builder=_builder(world), state=world.state, audit=world.audit, clock=world.clock
    )


def _merged_block(world: World, gh: GitHubServer):
    """The attacker blocked on web-01 by a merged bot pull request."""
    p = world.proposal(srcip=ATTACKER)
    result = _publish(world, gh, p)
    assert result.ok, result.message
    merge_branch(world.tmp, result.branch)
    gh.merge(result.pr_number, "alice")
    assert _sync(world, gh).sync().merged == 1
    return p, result


def test_merge_records_the_added_entry_with_a_30_day_expiry(world, gh):
    p, result = _merged_block(world, gh)
    (block,) = world.state.blocks_of(p.id)
    assert (block.file, block.key, block.entry) == (INGRESS, "block-cidrs", f"{ATTACKER}/32")
    assert block.expires_at == world.clock.now() + 30 * DAY_S
    assert block.pr_number == result.pr_number


def test_nothing_is_proposed_before_the_ban_time(world, gh):
    _merged_block(world, gh)
    world.clock.advance(29 * DAY_S)
    assert _sync(world, gh).sync().expired == 0


def test_expired_block_becomes_a_removal_proposal_of_exactly_that_entry(world, gh):
    p, result = _merged_block(world, gh)
    world.clock.advance(30 * DAY_S)
    assert _sync(world, gh).sync().expired == 1
    (stored,) = world.state.list("pending")
    removal = stored.proposal
    assert removal.reason == f"Block of {ATTACKER}/32 expired after 30 days (added by PR #{result.pr_number})"
    assert removal.operations == (
        {"op": "remove_cidr", "file": INGRESS, "key": "block-cidrs", "value": f"{ATTACKER}/32"},
    )
    assert removal.guard is not None and removal.guard.passed, removal.guard.summary()
    assert [ln for ln in removal.diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")] == [
        f'-  block-cidrs: "198.51.100.23/32,192.0.2.0/24,{ATTACKER}/32"',
        '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24"',
    ]
    assert _sync(world, gh).sync().expired == 0  # proposed once


def test_approved_removal_opens_a_pr_and_its_merge_forgets_the_entry(world, gh):
    p, _ = _merged_block(world, gh)
    world.clock.advance(31 * DAY_S)
    _sync(world, gh).sync()
    (stored,) = world.state.list("pending")
    result = _publish(world, gh, stored.proposal)
    assert result.ok, result.message
    text = remote_file(world.bare, result.branch, INGRESS)
    assert 'block-cidrs: "198.51.100.23/32,192.0.2.0/24"\n' in text  # what people wrote stays
    merge_branch(world.tmp, result.branch)
    gh.merge(result.pr_number, "bob")
    assert _sync(world, gh).sync().merged == 1
    assert world.state.blocks_of(p.id) == ()


def test_removal_without_a_record_is_refused_at_publish(world, gh):
    _merged_block(world, gh)
    world.clock.advance(31 * DAY_S)
    _sync(world, gh).sync()
    (stored,) = world.state.list("pending")
    forged = stored.proposal.model_copy(update={"id": "p-forged0000"})
    result = _publish(world, gh, forged)
    assert not result.ok
    assert "only entries the bot added and recorded may be removed" in result.message


def test_keep_makes_the_block_permanent(world, gh):
    p, _ = _merged_block(world, gh)
    assert keep(world.state, p.id) == [f"{ATTACKER}/32"]
    world.clock.advance(365 * DAY_S)
    assert _sync(world, gh).sync().expired == 0


def test_keep_before_the_merge_records_the_entry_as_permanent(world, gh):
    p = world.proposal(srcip=ATTACKER)
    assert keep(world.state, p.id) == []
    result = _publish(world, gh, p)
    merge_branch(world.tmp, result.branch)
    gh.merge(result.pr_number, "alice")
    _sync(world, gh).sync()
    (block,) = world.state.blocks_of(p.id)
    assert block.permanent and block.expires_at is None


def test_entry_people_removed_already_is_forgotten_without_a_proposal(world, gh):
    from tests.publish_fixtures import human_commit

    p, _ = _merged_block(world, gh)
    text = remote_file(world.bare, "main", INGRESS).replace(f",{ATTACKER}/32", "")
    human_commit(world.tmp, INGRESS, text, "unblock by hand")
    world.clock.advance(31 * DAY_S)
    assert _sync(world, gh).sync().expired == 0
    assert world.state.blocks_of(p.id) == ()


def test_merge_is_audited_with_the_recorded_entries(world, gh):
    import json

    _merged_block(world, gh)
    lines = (world.tmp / "data" / "audit.jsonl").read_text().splitlines()
    (event,) = [e for e in map(json.loads, lines) if e["event"] == "blocks_recorded"]
    assert (event["entries"], event["ban_days"]) == ([f"{ATTACKER}/32"], 30.0)


def test_expiry_texts_name_the_entries_the_age_and_the_source():
    from bot import messages

    assert messages.block_expired(["203.0.113.7/32", "203.0.113.8/32"], 30, None, "p-1") == (
        "Blocks of 203.0.113.7/32, 203.0.113.8/32 expired after 30 days (added by proposal p-1)"
    )
    assert messages.blocks_kept(["203.0.113.7/32"]) == (
        "Kept: 203.0.113.7/32 will stay blocked (no expiry); the bot will not propose lifting them."
    )
    assert (
        messages.cli_sync_expired(2) == "Proposed lifting 2 expired block(s); serve posts them for approval."
    )
