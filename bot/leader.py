"""Exactly one leader among the replicas: a lease row with an expiry and a fencing epoch.

The leader runs the pollers (alerts, reports), the sync loop and the expiry jobs; every replica serves Slack.
The lease is a row of the state database (``leases``), not a session advisory lock, so it also works behind a
connection pooler in transaction mode. Taking over an expired lease increments the **epoch**; the leader's
work runs inside :meth:`StateStore.fenced`, so each of its transactions first checks, under the database's
writer lock, that the row still names this holder and epoch, and is refused (:class:`LeaseLost`, nothing
written) once another replica took over. A paused leader that wakes after its lease expired therefore
cannot write what it decided while it was paused.

Times come from the injected clock: replicas' clocks must agree to well under the lease time (NTP).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.core.errors import StateError
from bot.state import StateStore

log = logging.getLogger(__name__)

LEADER = "leader"


class LeaseLost(StateError):
    """A leader-only write was refused: the lease expired and another replica holds it (a newer epoch)."""


@dataclass(frozen=True)
class LeaseState:
    holder: str
    epoch: int
    expires_at: float


class LeaderLease:
    """This replica's view of the lease: :meth:`tick` acquires or renews it; :attr:`epoch` while held."""

    def __init__(
        self, state: StateStore, holder: str, clock: Clock, *, ttl: float, name: str = LEADER
    ) -> None:
        self.state = state
        self.holder = holder
        self.clock = clock
        self.ttl = ttl
        self.name = name
        self.epoch: int | None = None
        self.expires_at = 0.0  # this replica's last renewal + ttl: past it, it no longer counts as leader

    def tick(self) -> bool:
        """Acquire the lease if it is free or expired, renew it if held; True while this replica leads."""
        now = self.clock.now()
        with self.state.transaction() as db:
            row = db.execute(
                "SELECT holder, epoch, expires_at FROM leases WHERE name = ?", (self.name,)
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO leases(name, holder, epoch, expires_at) VALUES (?,?,1,?)",
                    (self.name, self.holder, now + self.ttl),
                )
                epoch = 1
            elif row[0] == self.holder and int(row[1]) == self.epoch and float(row[2]) > now:
                db.execute(
                    "UPDATE leases SET expires_at = ? WHERE name = ? AND epoch = ?",
                    (now + self.ttl, self.name, self.epoch),
                )
                epoch = self.epoch
            elif float(row[2]) <= now or row[0] == self.holder:
                # expired, or this replica's own lease from before a restart (same name: the old process is gone)
                epoch = int(row[1]) + 1
                db.execute(
                    "UPDATE leases SET holder = ?, epoch = ?, expires_at = ? WHERE name = ?",
                    (self.holder, epoch, now + self.ttl, self.name),
                )
            else:
                if self.epoch is not None:
                    log.warning(
                        "lost the leader lease (epoch %s) to %s, epoch %s: standby",
                        self.epoch,
                        row[0],
                        row[1],
                    )
                self.epoch = None
                return False
        if epoch != self.epoch:
            log.warning("leader lease taken by %s, epoch %s", self.holder, epoch)
        self.epoch, self.expires_at = epoch, now + self.ttl
        return True

    @property
    def is_leader(self) -> bool:
        """Held at the last renewal and not expired since: a replica that wakes from a pause longer than
        the lease stops counting itself leader at once, before its next :meth:`tick` finds who took over."""
        return self.epoch is not None and self.clock.now() < self.expires_at

    @property
    def role(self) -> str:
        """``leader`` or ``standby`` (``/healthz``, ``/readyz``; the gauge ``secops_leader``)."""
        return "leader" if self.is_leader else "standby"

    def release(self) -> None:
        """Give the lease up at shutdown (another replica takes over at once, not after the expiry)."""
        if self.epoch is None:
            return
        with self.state.transaction() as db:
            db.execute(
                "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ?",
                (self.name, self.holder, self.epoch),
            )
        self.epoch = None

    def check(self, db: Any) -> None:
        """Refuse the transaction unless this replica still holds the lease at its epoch (see the module doc)."""
        row = db.execute(
            "SELECT holder, epoch, expires_at FROM leases WHERE name = ?", (self.name,)
        ).fetchone()
        held = (
            self.epoch is not None
            and row is not None
            and row[0] == self.holder
            and int(row[1]) == self.epoch
            and float(row[2]) > self.clock.now()
        )
        if not held:
            found = f"epoch {row[1]} held by {row[0]}" if row else "no lease"
            raise LeaseLost(
                f"leader-only write refused: this replica's epoch {self.epoch} is stale ({found})"
            )

    @contextmanager
    def leading(self) -> Iterator[None]:
        """Run the block's transactions fenced by this replica's epoch."""
        with self.state.fenced(self.check):
            yield

    def current(self) -> LeaseState | None:
        with self.state.transaction() as db:
            row = db.execute(
                "SELECT holder, epoch, expires_at FROM leases WHERE name = ?", (self.name,)
            ).fetchone()
        return LeaseState(row[0], int(row[1]), float(row[2])) if row else None


class EffectClaims:
    """Fence first, side effect after: a Slack post the bot makes on its own is claimed in the database first.

    :meth:`claim` is a transaction of its own. In the leader's fenced work (the poller) that transaction
    first checks the epoch, so a leader paused past its lease (SIGSTOP, a long GC, a frozen VM) is refused
    with :class:`LeaseLost` *before* the Slack call, and posts nothing; the new leader posts the card. The
    claim also keeps two replicas from making the same post at once (the leader's poller and
    ``/secops-scan queue next`` answered by another replica). A claim is released once the post is recorded
    (or failed); one left by a replica that died mid-post is taken over after ``ttl`` seconds.

    In-place updates and thread notes of the leader's work (a fold, a revision, a resumed publication, the
    digest's counts) need no claim, only the fence: :meth:`fence` checks the epoch just before them.
    One effect is fenced once, before its first Slack call: a card and its evidence replies, an update and
    the thread note that goes with it. A leader paused in the middle of one finishes it when it wakes (no
    other replica makes it), and is refused before the next.

    What stays: a replica paused *between* its claim (or fence) and the Slack call still makes that one post
    when it wakes (Slack calls carry no fencing token), and no other replica makes it meanwhile, so it is
    still posted once. Claims live among the delivery keys (``deliveries``), as ``effect:<what>``.
    """

    def __init__(self, state: StateStore, clock: Clock, *, ttl: float = 300.0) -> None:
        self.state = state
        self.clock = clock
        self.ttl = ttl

    def claim(self, what: str) -> bool:
        """Claim ``what`` (e.g. ``card:<proposal id>``); False while another replica holds a fresh claim.

        Raises :class:`LeaseLost` inside :meth:`LeaderLease.leading` once the lease is stale.
        """
        key, now = f"effect:{what}", self.clock.now()
        with self.state.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO deliveries(key, at) VALUES (?, ?)", (key, now))
            if cur.rowcount == 1:
                return True
            cur = db.execute(
                "UPDATE deliveries SET at = ? WHERE key = ? AND at < ?", (now, key, now - self.ttl)
            )
            return cur.rowcount == 1

    def fence(self) -> None:
        """Before a Slack call of the leader's work that claims nothing (an in-place update, a thread note):
        the epoch is checked in a transaction of its own, so a stale leader is refused (:class:`LeaseLost`)
        before the call. Outside fenced work (a person's click, on any replica) it does nothing."""
        if self.state.is_fenced and not self.state.in_transaction:
            with self.state.transaction():
                pass  # the fence's check runs first in every fenced transaction

    def release(self, what: str) -> None:
        """Drop the claim (after the post was recorded, or failed); not fenced: it only frees the key."""
        with self.recording(), self.state.transaction() as db:
            db.execute("DELETE FROM deliveries WHERE key = ?", (f"effect:{what}",))

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Writes that record a post already made (its message ts): kept even if the lease was lost since
        the claim, or the next leader would post the card again."""
        with self.state.fenced(None):
            yield


class LeaderLoop(threading.Thread):
    """Renews (or waits for) the lease every ``ttl / 3`` s; runs ``on_lead`` while it holds it."""

    def __init__(self, lease: LeaderLease, *, interval: float | None = None) -> None:
        super().__init__(name="secops-leader", daemon=True)
        self.lease = lease
        self.interval = interval or lease.ttl / 3
        self.stopped = threading.Event()
        self.changed = threading.Event()
        self.listeners: list[Callable[[bool], None]] = []

    def run(self) -> None:
        leading = False
        while not self.stopped.is_set():
            try:
                now_leading = self.lease.tick()
            except Exception as exc:  # the database is unreachable: not leading until it answers again
                if self.lease.epoch is not None:
                    log.warning(
                        "lost the leader lease (epoch %s): the database did not answer (%s): standby",
                        self.lease.epoch,
                        exc.__class__.__name__,
                    )
                else:
                    log.warning("leader lease check failed: %s", exc.__class__.__name__)
                self.lease.epoch = None
                now_leading = False
            if now_leading != leading:
                leading = now_leading
                self.changed.set()
                for listener in self.listeners:
                    listener(leading)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
