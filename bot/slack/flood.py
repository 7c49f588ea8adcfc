"""Flood control: what the bot posts on its own, what it holds back, and inventory problems collapsed.

A proposal is **held back** while it is stored as pending, blocked or escalated and has no Slack message: the
poster posts held-back proposals highest severity first (then oldest first) within a budget per poll and per
sliding hour, and everything else stays stored until a later poll or ``/secops-scan queue next``.

**One inventory problem** is one failing guard check naming one file of the inventory (the check's detail reads
``<path>: <reason>``): blocked proposals whose failed checks all name the same file, with the same check names
and the same reasons, are caused by that file's inventory entry, not by their attackers. When two or more
held-back blocked proposals share it, they are collapsed into one escalation message naming the entry; they stay
stored (and leave the queue) until the CMDB is fixed.

The queries use SQLite's JSON functions so that counting and listing 20,000 held-back proposals parses only
the few that are shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.state import StateStore, StoredProposal

COLLAPSE_AT = 2  # blocked proposals sharing one inventory problem that become one escalation

_HELD = (
    "FROM proposals p WHERE p.status IN ('pending', 'blocked', 'escalated') "
    "AND json_extract(p.payload, '$.folded_into') IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.proposal_id = p.id) "
    "AND NOT EXISTS (SELECT 1 FROM held_clusters h WHERE h.proposal_id = p.id)"
)
_ORDER = "ORDER BY CAST(json_extract(p.payload, '$.group.max_level') AS INTEGER) DESC, p.created_at, p.id"

META_POSTS = "slack_posts"  # when the bot posted on its own in the last hour (the hourly budget)
META_DIGEST = "slack_digest"  # the one digest message: {"channel", "ts", "text"}


@dataclass(frozen=True)
class InventoryProblem:
    """One inventory entry that blocks many proposals; ``count`` of them are held behind it."""

    cluster: str
    server: str
    path: str
    reason: str
    severity: int
    count: int
    channel: str | None
    ts: str | None
    posted_count: int


def inventory_problem(
    checks: Sequence[dict[str, Any]], files: Sequence[str], targets: Sequence[str]
) -> tuple[str, str, str] | None:
    """(server, path, reason) when every failed check names the same listed file, else None.

    ``server`` is the target whose name is a component of the file's path (the inventory lays configs out
    as ``clusters/<env>/<server>/…``), else the file's directory.
    """
    failed = [c for c in checks if not c.get("passed")]
    if not failed:
        return None
    path, reasons = "", []
    for check in failed:
        detail = str(check.get("detail", ""))
        if "; " in detail or ": " not in detail:
            return None
        named, reason = detail.split(": ", 1)
        if named not in files or (path and named != path):
            return None
        path = named
        reasons.append((str(check.get("name", "")), reason))
    parts = path.split("/")
    server = next((t for t in targets if t in parts), "/".join(parts[:-1]) or path)
    # The kind check says it best ("is a Deployment, not a ConfigMap"); else the first failure
    reason = next((r for n, r in reasons if n == "kind_and_name_kept"), reasons[0][1])
    return server, path, reason


def cluster_key(checks: Sequence[dict[str, Any]], path: str) -> str:
    names = sorted(f"{c.get('name')}={c.get('detail')}" for c in checks if not c.get("passed"))
    return hashlib.sha256(json.dumps([path, names]).encode()).hexdigest()[:16]


class HeldQueue:
    """Held-back proposals and inventory problems, in the state store's SQLite file."""

    def __init__(self, state: StateStore) -> None:
        self.state = state  # the tables are the state store's (bot/migrations.py)

    # --- the queue ---------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Held-back proposals by action (propose, blocked, escalate)."""
        with self.state.transaction() as db:
            rows = db.execute(f"SELECT p.action, count(*) {_HELD} GROUP BY p.action").fetchall()
        return {str(a): int(n) for a, n in rows}

    def next(self, limit: int, offset: int = 0) -> list[StoredProposal]:
        """The next held-back proposals: highest severity first, then oldest first."""
        with self.state.transaction() as db:
            rows = db.execute(
                f"SELECT p.payload, p.status, p.created_at, p.updated_at {_HELD} {_ORDER} LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [StateStore._row(r) for r in rows]

    # --- inventory problems ------------------------------------------------------------------------------

    def collapse(self) -> list[InventoryProblem]:
        """Cluster held-back blocked proposals by inventory problem; returns the problems that hold any."""
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT p.id, json_extract(p.payload, '$.guard.checks'), json_extract(p.payload, '$.files'), "
                "json_extract(p.payload, '$.group.targets'), json_extract(p.payload, '$.group.max_level') "
                f"{_HELD} AND p.status = 'blocked'"
            ).fetchall()
            known = {r[0] for r in db.execute("SELECT cluster FROM inventory_problems").fetchall()}
        found: dict[str, tuple[tuple[str, str, str], list[str], int]] = {}
        for pid, checks_json, files_json, targets_json, level in rows:
            checks = json.loads(checks_json or "[]")
            problem = inventory_problem(
                checks, json.loads(files_json or "[]"), json.loads(targets_json or "[]")
            )
            if problem is None:
                continue
            key = cluster_key(checks, problem[1])
            entry = found.setdefault(key, (problem, [], 0))
            entry[1].append(str(pid))
            found[key] = (entry[0], entry[1], max(entry[2], int(level or 0)))
        with self.state.transaction() as db:
            for key, (problem, ids, level) in found.items():
                if len(ids) < COLLAPSE_AT and key not in known:
                    continue  # one blocked proposal is shown as its own card
                db.execute(
                    "INSERT INTO inventory_problems(cluster, server, path, reason, severity) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(cluster) DO UPDATE SET severity = max(inventory_problems.severity, excluded.severity)",
                    (key, *problem, level),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO held_clusters(proposal_id, cluster) VALUES (?, ?)",
                    [(pid, key) for pid in ids],
                )
        return self.problems()

    def problems(self) -> list[InventoryProblem]:
        """Every inventory problem holding at least one stored blocked proposal, most proposals first."""
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT i.cluster, i.server, i.path, i.reason, i.severity, count(p.id), i.channel, i.ts, "
                "i.posted_count FROM inventory_problems i JOIN held_clusters h ON h.cluster = i.cluster "
                "JOIN proposals p ON p.id = h.proposal_id AND p.status = 'blocked' "
                "GROUP BY i.cluster ORDER BY count(p.id) DESC, i.cluster"
            ).fetchall()
        return [InventoryProblem(*r) for r in rows]

    def problem_posted(self, cluster: str, channel: str, ts: str, count: int) -> None:
        with self.state.transaction() as db:
            db.execute(
                "UPDATE inventory_problems SET channel = ?, ts = ?, posted_count = ? WHERE cluster = ?",
                (channel, ts, count, cluster),
            )

    # --- the hourly budget and the digest ---------------------------------------------------------------

    def posts_since(self, since: float) -> list[float]:
        raw = self.state.get_meta(META_POSTS)
        return [t for t in (json.loads(raw) if raw else []) if t > since]

    def record_posts(self, times: Sequence[float], since: float) -> None:
        if times:
            self.state.set_meta(META_POSTS, [*self.posts_since(since), *times])

    def digest(self) -> dict[str, str] | None:
        raw = self.state.get_meta(META_DIGEST)
        return json.loads(raw) if raw else None

    def save_digest(self, channel: str, ts: str, text: str) -> None:
        self.state.set_meta(META_DIGEST, {"channel": channel, "ts": ts, "text": text})
