"""What several replicas share through one database: the approval claim, the leader lease and its fencing,
Slack delivery keys, the publishing claim and one audit chain, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import io
import threading

import pytest

from bot.approvals import ApprovalStore
from bot.audit_db import DatabaseAuditLog
from bot.core.grouping import group_alerts
from bot.core.proposal import Proposal, proposal_id
from bot.database import PostgresDatabase
from bot.leader import LeaderLease, LeaseLost
from bot.state import StateStore
from tests.conftest import make_alert

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, t: float = 1764633600.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request, tmp_path):
    """A function opening another connection (another replica) to one database."""
    if request.param == "sqlite":
        return lambda: StateStore(tmp_path / "state.db")
    url = request.getfixturevalue("pg_url")
    return lambda: StateStore(database=PostgresDatabase(url, max_size=12))


def _proposal(store: StateStore, ip: str = "203.0.113.9", level: int = 10) -> Proposal:
    (group,) = group_alerts([make_alert(srcip=ip, level=level)], min_level=0)
    p = Proposal(id=proposal_id(group), group=group, action="propose", fixer="playbook", reason="r")
    store.add_proposal(p, now=1000.0)
    return p


def test_concurrent_votes_on_several_replicas_claim_a_revision_once(open_store):
    replicas = [open_store() for _ in range(3)]
    p = _proposal(replicas[0])
    outcomes: list[str] = []
    lock = threading.Lock()

    def vote(i: int) -> None:
        got = ApprovalStore(replicas[i % 3]).vote(p.id, p.revision_hash, f"U{i:04d}", 2, 1001.0)
        with lock:
            outcomes.append(got.outcome)

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("claimed") == 1
    assert outcomes.count("recorded") == 1  # the first vote of two required
    assert outcomes.count("closed") == 48
    assert [e.proposal_id for e in ApprovalStore(replicas[1]).queued()] == [p.id]


def test_publishing_claim_is_held_by_one_replica_until_it_expires(open_store):
    a, b = open_store(), open_store()
    p = _proposal(a)
    ApprovalStore(a).vote(p.id, p.revision_hash, "UALICE", 1, 1001.0)
    assert ApprovalStore(a).claim_publishing(p.id, p.revision_hash, "replica-a", 1001.0, ttl=60)
    assert not ApprovalStore(b).claim_publishing(p.id, p.revision_hash, "replica-b", 1002.0, ttl=60)
    assert ApprovalStore(b).claim_publishing(p.id, p.revision_hash, "replica-b", 1062.0, ttl=60)


def test_delivery_key_has_effect_once_across_replicas(open_store):
    a, b = open_store(), open_store()
    assert a.first_delivery("event:Ev01", 1000.0)
    assert not b.first_delivery("event:Ev01", 1001.0)
    assert b.first_delivery("event:Ev02", 1001.0)


def test_one_replica_leads_and_another_takes_over_after_expiry(open_store):
    clock = Clock()
    a = LeaderLease(open_store(), "replica-a", clock, ttl=30)
    b = LeaderLease(open_store(), "replica-b", clock, ttl=30)
    assert a.tick() and not b.tick()
    clock.t += 31  # replica-a stopped renewing (killed)
    assert b.tick() and b.epoch == 2
    assert not a.tick()


def test_stale_leader_write_is_refused(open_store):
    clock = Clock()
    state_a = open_store()
    a = LeaderLease(state_a, "replica-a", clock, ttl=30)
    b = LeaderLease(open_store(), "replica-b", clock, ttl=30)
    a.tick()
    clock.t += 31
    b.tick()  # epoch 2; replica-a was paused and still believes it leads (epoch 1)
    with a.leading(), pytest.raises(LeaseLost, match="epoch 1 is stale"):
        state_a.set_meta("last_poll", {"at": clock.t})
    assert state_a.get_meta("last_poll") is None


def test_restarted_single_replica_leads_at_once(open_store):
    clock = Clock()
    assert LeaderLease(open_store(), "local", clock, ttl=30).tick()
    again = LeaderLease(open_store(), "local", clock, ttl=30)  # the same name after a kill -9
    assert again.tick() and again.epoch == 2


def test_audit_appends_from_several_replicas_make_one_chain(open_store):
    clock = Clock()
    logs = [DatabaseAuditLog(open_store(), clock) for _ in range(3)]

    def write(i: int) -> None:
        for n in range(20):
            logs[i].append("approval", {"proposal": f"p-{i}-{n}"})

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result, head = logs[2].verify()
    assert result.ok and result.lines == 60 and head == 60


def test_exported_chain_verifies_as_a_file(open_store, tmp_path):
    from bot.audit_log import AuditLog

    log = DatabaseAuditLog(open_store(), Clock())
    with log.batch():
        log.append("scan", {"source": "alerts"})
        log.append("approval", {"proposal": "p-1"})
    out = io.StringIO()
    assert log.export(out) == 2
    path = tmp_path / "exported" / "audit.jsonl"
    path.parent.mkdir()
    path.write_text(out.getvalue())
    result, _ = AuditLog(path, Clock()).verify()
    assert result.ok and result.lines == 2
