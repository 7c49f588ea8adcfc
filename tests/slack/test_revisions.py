"""Revision rules: approvers only, blocked revisions not adopted, undo and revert as new revisions."""

from __future__ import annotations

import json

from tests.conftest import git
from tests.slack.conftest import ALICE, BOB, MALLORY

WEB = "91.240.118.172"


def _revision(slack, ts: str, number: int) -> dict:
    """The card update that shows revision ``number`` (its Approve button carries it)."""
    return slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts and _buttons_revision(b) == number)


def _buttons_revision(message) -> int | None:
    values = [
        el["value"]
        for b in message["blocks"]
        for el in b.get("elements", [])
        if el.get("action_id") == "approve"
    ]
    return json.loads(values[0])["r"] if values else None


def _stored(slack):
    return slack.service.state.get(slack.proposal_of(WEB).id)


def _audit_events(slack) -> list[dict]:
    return [json.loads(line) for line in slack.runtime.settings.audit_path.read_text().splitlines()]


def test_revision_by_a_non_approver_is_refused_with_an_ephemeral(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(MALLORY, "use /24", ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == MALLORY)
    assert (
        eph["text"] == "Only approvers can revise secops-bot proposals, so nothing changed. Ask a SOC lead."
    )
    assert eph["thread_ts"] == ts
    assert _stored(slack).proposal.revision == 1 and slack.recorder.calls("chat.update") == []
    refused = [e for e in _audit_events(slack) if e["event"] == "revision_refused"]
    assert [(e["user"], e["why"]) for e in refused] == [(MALLORY, "not an approver")]


def test_blocked_revision_is_not_adopted_and_the_old_approve_still_works(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    value = slack.approve_value(slack.message_of(WEB))
    slack.mention(BOB, "use /16", ts)
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Not adopted" in b["text"]
    )
    assert reply["text"].startswith(":no_entry: Not adopted: the guard blocked the change (")
    assert "wider than /24" in reply["text"]
    assert reply["text"].endswith(
        "). Revision 1 stays current and can still be approved (its Approve button still works)."
    )
    assert _stored(slack).proposal.revision == 1 and slack.recorder.calls("chat.update") == []
    slack.click("approve", value, ALICE, ts)
    assert f"{WEB}/32" in git(
        "diff", "main", slack.published_branch(slack.proposal_of(WEB).id), cwd=slack.remote
    )
    refused = next(e for e in _audit_events(slack) if e["event"] == "revision_refused")
    assert refused["why"] == "blocked" and refused["revision"] == 1


def test_undo_makes_a_new_revision_with_the_previous_operations(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    first = _stored(slack).proposal
    slack.mention(BOB, "also block 45.155.205.0/25", ts)
    r2 = slack.approve_value(_revision(slack, ts, 2))
    slack.mention(ALICE, "undo", ts)
    r3 = slack.approve_value(_revision(slack, ts, 3))
    current = _stored(slack).proposal
    assert current.revision == 3 and current.operations == first.operations
    assert current.revision_note == "Undo: back to the changes of revision 1" and current.revised_by == ALICE
    slack.click("approve", r2, ALICE, ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == ALICE)
    assert eph["text"].startswith("This button belongs to an earlier revision; revision 3 is current.")
    slack.click("approve", r3, ALICE, ts)
    branch = slack.published_branch(slack.proposal_of(WEB).id)
    assert branch.endswith("-r3") and "45.155.205.0/25" not in git("diff", "main", branch, cwd=slack.remote)
    assert [e["restored_revision"] for e in _audit_events(slack) if e["event"] == "revision_undo"] == [1]


def test_revert_goes_back_to_any_earlier_revision(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(BOB, "also block 45.155.205.0/25", ts)
    _revision(slack, ts, 2)
    slack.mention(BOB, "also block 45.155.206.0/26", ts)
    _revision(slack, ts, 3)
    assert _stored(slack).proposal.revision_note == "Added 45.155.206.0/26"
    slack.mention(BOB, "revert to r2", ts)
    r4 = slack.approve_value(_revision(slack, ts, 4))
    current = _stored(slack).proposal
    assert current.revision_note == "Reverted to the changes of revision 2" and current.revised_by == BOB
    slack.click("approve", r4, ALICE, ts)
    diff = git("diff", "main", slack.published_branch(slack.proposal_of(WEB).id), cwd=slack.remote)
    assert "45.155.205.0/25" in diff and "45.155.206.0/26" not in diff
    assert [e["restored_revision"] for e in _audit_events(slack) if e["event"] == "revision_revert"] == [2]


def test_undo_of_the_first_revision_says_there_is_nothing_to_undo(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(BOB, "undo", ts)
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "undo" in b["text"]
    )
    assert reply["text"].startswith(
        "I can't do that: revision 1 is the first one, there is nothing to undo. "
    )
    assert _stored(slack).proposal.revision == 1
