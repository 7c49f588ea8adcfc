"""Several `secops-bot serve` processes on one real PostgreSQL (tests/reliability/serve_harness.py's world).

Each replica has its own name, data directory and Slack bot token (so the shared Slack recorder tells who made
each call); rows are read from the shared database.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.reliability.serve_harness import BOT_TOKEN, World


class PgWorld(World):
    """The harness's world with its rows read from PostgreSQL."""

    url: str = ""

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            return [tuple(r) for r in conn.execute(query).fetchall()]


class Replica:
    """What ``Serve`` needs of a world, with this replica's own name, data directory and bot token."""

    def __init__(self, world: PgWorld, name: str) -> None:
        self.world, self.name, self.slack = world, name, world.slack

    @property
    def token(self) -> str:
        return f"{BOT_TOKEN}-{self.name}"

    def env(self) -> dict[str, str]:
        return self.world.env() | {
            "SECOPS_REPLICA_ID": self.name,
            "SECOPS_DATA_DIR": str(self.world.tmp / f"data-{self.name}"),
            "SLACK_BOT_TOKEN": self.token,
        }


def card_ids(bodies: list[dict[str, Any]]) -> Counter[str]:
    """Proposal cards (messages with an Approve button) per proposal id among ``chat.postMessage`` bodies."""
    out: Counter[str] = Counter()
    for body in bodies:
        for block in body.get("blocks") or []:
            for el in block.get("elements", []):
                if el.get("action_id") == "approve":
                    out[json.loads(el["value"])["p"]] += 1
    return out


def cards(world: World) -> Counter[str]:
    """How many proposal cards were posted per proposal id (by any replica)."""
    return card_ids(world.slack.calls("chat.postMessage"))


def calls_by(world: World, replica: Replica, prefix: str = "chat.") -> list[tuple[str, dict[str, Any]]]:
    """The Slack Web API calls (method, body) one replica made, by its bot token."""
    auth = f"Bearer {replica.token}"
    with world.slack._lock:
        requests = list(world.slack.requests)
    return [(m, b) for m, b, h in requests if h.get("authorization") == auth and m.startswith(prefix)]


def buttons(world: World) -> dict[str, tuple[str, str]]:
    """proposal id → (Approve button value, message ts) of every recorded card."""
    where = dict(world.rows("SELECT proposal_id, ts FROM messages"))
    out = {}
    for body in world.slack.calls("chat.postMessage"):
        for block in body.get("blocks") or []:
            for el in block.get("elements", []):
                if el.get("action_id") == "approve":
                    pid = json.loads(el["value"])["p"]
                    if pid in where:
                        out[pid] = (el["value"], where[pid])
    return out


def append_alerts(path: Path, ip: str) -> None:
    """Append a copy of the demo attacker's alerts from another source address (a new proposal), each
    with an alert id of its own."""
    extra = []
    for line in path.read_text().splitlines():
        if "91.240.118.172" in line:
            doc = json.loads(line.replace("91.240.118.172", ip))
            doc["id"] = f"{doc['id']}-{ip}"
            extra.append(json.dumps(doc))
    with path.open("a") as f:
        f.write("\n".join(extra) + "\n")


def audit_records(world: PgWorld, event: str) -> list[dict[str, Any]]:
    """The shared audit chain's records of one event, in order."""
    records = [json.loads(line) for (line,) in world.rows("SELECT line FROM audit_chain ORDER BY seq")]
    return [r for r in records if r.get("event") == event]
