"""The contract between approval (Slack) and publishing (git + GitHub).

Publishing happens only after an authorised human approved the exact revision shown. The Slack layer calls
``Publisher.publish`` with the stored proposal and the approval; implementations (a local git publisher, the
GitHub pull-request publisher) live in ``bot/publisher.py`` and ``tools/``.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from bot.core.proposal import Proposal


class Approval(BaseModel):
    """Who approved which revision, when, and where the discussion is."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    revision: int
    revision_hash: str
    approvers: tuple[str, ...]  # Slack user ids (or CLI user names)
    approver_names: tuple[str, ...] = ()  # their Slack display names, same order; "": unknown
    approved_at: float
    thread_url: str | None = None  # permalink to the Slack thread
    audit_hash: str = ""  # line hash of the approval's audit record, quoted in the commit (optional)


class PublishResult(BaseModel):
    """What publishing did. ``ok`` False means nothing was pushed; ``message`` says why."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    branch: str = ""
    commit: str = ""
    pr_url: str | None = None
    pr_number: int | None = None
    message: str = ""
    reused: bool = False  # an earlier attempt already pushed/opened it (idempotent retry)


class Publisher(Protocol):
    def publish(self, proposal: Proposal, approval: Approval) -> PublishResult: ...


class Notifier(Protocol):
    """Where publishing and sync tell humans what happened to a proposal (the Slack layer: its thread)."""

    def thread_note(self, proposal_id: str, text: str) -> None:
        """Post ``text`` (plain, already sanitised and redacted) in the proposal's thread."""
        ...


class NullNotifier:
    """A notifier that tells no one (the CLI without Slack)."""

    def thread_note(self, proposal_id: str, text: str) -> None:
        return None
