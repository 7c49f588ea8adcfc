"""Slow listener work, off Bolt's listener threads: bounded lanes, in order per key, scans coalesced.

Bolt calls each listener (and so its ``ack()``) on a small pool of listener threads. A listener that waits
on git, GitHub, the LLM or a scan there holds a thread; a burst of them left the next request's listener
queued behind, so it did not ack within Slack's 3 s and Bolt answered 404 "didn't call ack()". Listeners
therefore ack, then hand their slow part to a :class:`Lane`: a few worker threads and a bound on the work
accepted and not yet finished. A full lane refuses (``submit`` returns False) and the listener tells the
user so, instead of queueing without end or dropping silently. Work given the same key runs one at a time
in the order it was accepted (a proposal thread's instructions), without holding a worker while it waits.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.core.redact import redact

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lane:
    """``workers`` threads; at most ``capacity`` pieces of work accepted and not finished."""

    def __init__(self, name: str, workers: int, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"secops-{name}")
        self._lock = threading.Lock()
        self._open = 0  # accepted, not finished
        self._chains: dict[str, deque[Callable[[], object]]] = {}  # key → work waiting behind the running one
        self._closed = False

    def submit(self, fn: Callable[[], object], key: str | None = None) -> bool:
        """Run ``fn`` later (after earlier work of the same ``key``); False when the lane is full or closed."""
        with self._lock:
            if self._closed or self._open >= self.capacity:
                return False
            self._open += 1
            if key is not None and key in self._chains:
                self._chains[key].append(fn)  # the worker running this key's work runs it next
                return True
            if key is not None:
                self._chains[key] = deque()
        self._pool.submit(self._run, fn, key)
        return True

    def _run(self, fn: Callable[[], object], key: str | None) -> None:
        work: Callable[[], object] | None = fn
        while work is not None:
            try:
                work()
            except Exception as exc:  # logged (redacted) instead of vanishing in a future
                log.warning("%s failed: %s: %s", self.name, exc.__class__.__name__, redact(str(exc))[:300])
            with self._lock:
                self._open -= 1
                work = None
                if key is not None:
                    chain = self._chains[key]
                    if chain:
                        work = chain.popleft()
                    else:
                        del self._chains[key]

    def close(self) -> None:
        """Refuse new work, then wait for what was accepted (it is someone's answer) to finish."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)


class Coalesced(Generic[T]):
    """One slow job (a scan) on a one-worker lane: requests made while a run waits to start join that run.

    Every request gets the outcome of a run that started after it was made, so a burst of ``/secops-scan``
    is one or two scans and every command still gets its answer; the lane's bound is never reached by it.
    """

    def __init__(self, lane: Lane, job: Callable[[tuple[str, ...]], T]) -> None:
        self.lane = lane
        self.job = job
        self._lock = threading.Lock()
        self._waiting: list[tuple[str, Callable[[T], None]]] | None = None  # the run not started yet

    def request(self, who: str, then: Callable[[T], None]) -> bool:
        """Ask for a run; ``then(outcome)`` runs in the lane afterwards. False when the lane refused it."""
        with self._lock:
            if self._waiting is not None:
                self._waiting.append((who, then))
                return True
            waiting = [(who, then)]
            self._waiting = waiting
            if self.lane.submit(lambda: self._run(waiting)):
                return True
            self._waiting = None
            return False

    def _run(self, waiting: list[tuple[str, Callable[[T], None]]]) -> None:
        with self._lock:
            self._waiting = None  # later requests wait for the next run: this one may miss their alerts
        who = tuple(dict.fromkeys(w for w, _ in waiting))
        outcome = self.job(who)
        for _, then in waiting:
            try:
                then(outcome)
            except Exception as exc:
                log.warning("answering a scan failed: %s: %s", exc.__class__.__name__, redact(str(exc))[:300])


@dataclass
class Lanes:
    """The lanes of one Bolt app. Kinds are kept apart so slow scans and LLM revisions never hold clicks."""

    scan: Lane  # `/secops-scan`: one worker (scans are serialised anyway), coalesced
    thread: Lane  # thread instructions (the LLM fixer and reviewer), in order per proposal
    decide: Lane  # Approve (vote, publish), Reject with a reason, escalation buttons
    ui: Lane  # the Reject modal (its trigger expires in 3 s) and App Home: quick, never behind a publication

    def all(self) -> tuple[Lane, ...]:
        return (self.scan, self.thread, self.decide, self.ui)

    def close(self) -> None:
        for lane in self.all():
            lane.close()


def default_lanes(capacity: int = 64) -> Lanes:
    """The lanes `serve` uses; ``capacity`` bounds each lane's accepted and unfinished work."""
    return Lanes(
        scan=Lane("scan", 1, capacity),
        thread=Lane("thread", 4, capacity),
        decide=Lane("decide", 5, capacity),
        ui=Lane("ui", 2, capacity),
    )
