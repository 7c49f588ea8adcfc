"""Blocks that expire: the entries the bot added are recorded, and lifted through the Approve flow.

When a bot pull request merges, :func:`record_merged` records each block-list entry it added (file, key,
entry) with an expiry: the playbook's ``ban_time`` (30 days by default; ``keep`` in the thread makes
them permanent). :class:`ExpiryJob` runs after every sync pass (``serve``'s sync loop and
``secops-bot sync``): for each proposal whose entries have expired it builds one removal proposal of
``remove_cidr`` operations on the default branch as it is now, guarded with exactly those recorded entries
allowed (:attr:`GuardPolicy.removable`), stored as a normal pending proposal that serve posts for approval.
Entries people wrote are never recorded, so never removable.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from bot import messages
from bot.audit_log import AuditLog
from bot.bot_branch import BranchBuilder
from bot.change import try_operations
from bot.clock import Clock
from bot.core.network import canonical_cidr, host_cidr, parse_cidr
from bot.core.proposal import Proposal, proposal_id
from bot.state import Block, StateStore
from bot.yaml_edit import repo_reader

log = logging.getLogger(__name__)

DAY_S = 86400.0
DEFAULT_BAN_DAYS = 30.0
Entry = tuple[str, str, str]  # (file, key, entry)
_TOKEN = re.compile(r"[0-9a-fA-F:.]+(?:/[0-9]{1,3})?")


def _canonical(value: str) -> str:
    return canonical_cidr(value) or (host_cidr(value) if "/" not in value else None) or value


def _diff_entries(diff: str) -> dict[str, tuple[set[str], set[str]]]:
    """Per file of a unified diff: the network-like tokens of its added and of its removed lines."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    path = ""
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[4:].removeprefix("b/")
            out.setdefault(path, (set(), set()))
        elif line[:1] in ("+", "-") and not line.startswith("--- ") and path:
            body = line[1:].split("#", 1)[0]
            tokens = {_canonical(t) for t in _TOKEN.findall(body) if parse_cidr(t) is not None}
            out[path][0 if line[0] == "+" else 1].update(tokens)
    return out


def added_entries(proposal: Proposal) -> list[Entry]:
    """The entries a proposal really added: asked for by one of its ``add_cidr`` operations and new in
    its diff (an entry the file already held, or one a wider entry covered, was not added and is not
    the bot's to remove)."""
    in_diff = _diff_entries(proposal.diff)
    out: list[Entry] = []
    for op in proposal.operations:
        if op.get("op") != "add_cidr":
            continue
        file, key, entry = str(op["file"]), str(op["key"]), _canonical(str(op["value"]))
        plus, minus = in_diff.get(file, (set(), set()))
        if entry in plus and entry not in minus and (file, key, entry) not in out:
            out.append((file, key, entry))
    return out


def record_merged(
    state: StateStore, proposal: Proposal, *, pr_number: int | None, now: float, ban_days: float
) -> list[Entry]:
    """After a merge: record what the proposal added (with its expiry), or forget what a removal took out.

    A ``keep`` said before the merge (meta ``keep:<id>``) records the entries as permanent.
    """
    if state.blocks_removed_by(proposal.id):
        state.forget_blocks(proposal.id)
        return []
    entries = added_entries(proposal)
    if entries:
        kept = state.get_meta(f"keep:{proposal.id}") is not None
        state.record_blocks(
            proposal.id,
            entries,
            added_at=now,
            expires_at=None if kept else now + ban_days * DAY_S,
            pr_number=pr_number,
        )
    return entries


def removable_for(state: StateStore) -> Callable[[Proposal], frozenset[Entry]]:
    """What the guard may let a proposal remove: the recorded entries the bot tied to it (none for any
    other proposal), read from the state store, never from the proposal itself."""

    def removable(proposal: Proposal) -> frozenset[Entry]:
        return frozenset((b.file, b.key, b.entry) for b in state.blocks_removed_by(proposal.id))

    return removable


def keep(state: StateStore, proposal_id: str) -> list[str]:
    """``keep``: the proposal's entries never expire (also when it merges later). For a removal proposal,
    the entries it would lift stay blocked. Returns the entries made permanent."""
    state.set_meta(f"keep:{proposal_id}", "1")
    removed = state.blocks_removed_by(proposal_id)
    if removed:
        state.release_removal(proposal_id)
        return [b.entry for b in removed]
    state.keep_blocks(proposal_id)
    return [b.entry for b in state.blocks_of(proposal_id)]


class ExpiryJob:
    """Turns expired blocks into removal proposals (one per proposal that added them)."""

    def __init__(self, *, state: StateStore, builder: BranchBuilder, audit: AuditLog, clock: Clock) -> None:
        self.state = state
        self.builder = builder
        self.audit = audit
        self.clock = clock

    def run(self) -> list[Proposal]:
        """Propose removing every expired entry; returns the proposals stored (serve posts them)."""
        now = self.clock.now()
        due: dict[str, list[Block]] = {}
        for block in self.state.expired_blocks(now):
            due.setdefault(block.proposal_id, []).append(block)
        if not due:
            return []
        repo = self.builder.repo
        made: list[Proposal] = []
        with repo.locked():
            repo.fetch()
            repo.reset_to_default()
            read = repo_reader(repo.path)
            for origin, blocks in due.items():
                proposal = self._removal(origin, blocks, read, now)
                if proposal is not None:
                    made.append(proposal)
        return made

    def _removal(self, origin: str, blocks: Sequence[Block], read: Any, now: float) -> Proposal | None:
        stored = self.state.get(origin)
        entries = [(b.file, b.key, b.entry) for b in blocks]
        if stored is None:  # the record outlived its proposal: nothing to anchor a card to
            log.warning("expiry: proposal %s of %d recorded entries is gone", origin, len(entries))
            return None
        first = stored.proposal
        days = round(((blocks[0].expires_at or now) - blocks[0].added_at) / DAY_S)
        reason = messages.block_expired([b.entry for b in blocks], days, blocks[0].pr_number, origin)
        digest = hashlib.sha256(repr(sorted(entries)).encode()).hexdigest()[:10]
        group = first.group.model_copy(update={"key": f"expiry:{origin}:{digest}"})
        group = group.model_copy(update={"id": "g-" + digest})
        ops = [{"op": "remove_cidr", "file": f, "key": k, "value": e} for f, k, e in entries]
        tried = try_operations(
            ops,
            read_file=read,
            inventory=self.builder.inventory,
            targets=group.targets,
            policy=self.builder.policy.model_copy(update={"removable": frozenset(entries)}),
            list_styles={},
        )
        pid = proposal_id(group)
        if tried.nothing_to_do:  # people removed them already: nothing left to lift or to remember
            self.state.mark_removal(pid, entries)
            self.state.forget_blocks(pid)
            self.audit.append(
                "block_expired_gone", {"proposal": origin, "entries": [e for _, _, e in entries]}
            )
            return None
        if tried.error is not None or tried.report is None:
            proposal = Proposal(
                id=pid,
                group=group,
                action="escalate",
                fixer="expiry",
                reason=messages.block_removal_impossible(reason, tried.error or "no change"),
            )
        else:
            proposal = Proposal(
                id=pid,
                group=group,
                action="propose" if tried.report.passed else "blocked",
                fixer="expiry",
                operations=tried.operations,
                files=tuple(c.path for c in tried.changed),
                diff=tried.diff,
                guard=tried.report,
                reason=reason,
            )
        self.state.add_proposal(proposal, now)
        self.state.mark_removal(pid, entries)
        self.audit.append(
            "block_expired",
            {
                "proposal": pid,
                "origin": origin,
                "entries": [e for _, _, e in entries],
                "action": proposal.action,
            },
        )
        return proposal
