"""Everything the bot writes to Slack: proposal messages, their threads, in-place updates, ephemerals.

Slack errors are logged (with ids, never payloads) and never crash a listener or the poller; a proposal that
could not be posted stays in the state store and is retried by the next poll.

Several replicas: every side effect of the leader's work is fenced by its epoch before its first Slack call
(:class:`bot.leader.EffectClaims`): a new post is claimed, an in-place update or a thread note is fenced, so
a leader paused past its lease is refused (:class:`bot.leader.LeaseLost`) before it reaches Slack. Outside
the leader's work (a person's click or command, on any replica) the fence does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.approvals import ApprovalStore
from bot.clock import Clock
from bot.core.proposal import Proposal
from bot.leader import EffectClaims
from bot.publishing import PublishResult
from bot.service import ActionResult
from bot.slack import blocks as kit
from bot.slack import digest
from bot.slack.flood import HeldQueue, InventoryProblem
from bot.state import StateStore, StoredProposal

log = logging.getLogger(__name__)

MAX_FAILURES_IN_A_ROW = 3
QUEUE_VIEW = 15  # held-back items kept for `/secops-scan queue` between posting passes


class Poster:
    """Posts to the one configured channel."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        state: StateStore,
        approvals: ApprovalStore,
        clock: Clock,
        *,
        per_poll: int = 20,
        per_hour: int = 100,
        claims: EffectClaims | None = None,
    ) -> None:
        self.client = client
        # every new post is claimed in the database first: a stale leader is refused before the Slack call
        self.claims = claims or EffectClaims(state, clock)
        self.channel = channel
        self.state = state
        self.approvals = approvals
        self.clock = clock
        self.per_poll = per_poll
        self.per_hour = per_hour
        self.queue = HeldQueue(state)
        self._permalinks: dict[str, str] = {}
        # how an escalation renders; the app sets it to one with host owners and decisions (issue 12)
        self.escalation_card: Callable[[Proposal], tuple[str, list[dict[str, Any]]]] = kit.escalation_blocks
        self._posting = threading.Lock()  # the poller and `/secops-scan queue next` never post the same one
        # `queue next` posts here, not in Bolt's listener threads: a burst of requests must not delay acks
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="secops-queue")
        self._snapshot: tuple[dict[str, int], list[StoredProposal], list[InventoryProblem]] | None = None

    # --- new proposals, within the flood budget ---------------------------------------------------------

    def post_new(self, proposals: Sequence[Proposal]) -> int:
        """One poll's posting; returns how many channel messages were posted.

        ``proposals`` (this scan's new ones) are already stored, so they are among the held-back proposals:
        those are posted highest severity first, then oldest first, within the budget (``per_poll``, and what
        is left of ``per_hour`` in the last hour). Blocked proposals caused by one inventory problem become one
        message; the digest message then says how many are still held back. A proposal that could not be
        posted (Slack down) stays held back and is retried by the next poll.
        """
        with self._posting:
            now = self.clock.now()
            hour_ago = now - 3600
            budget = max(0, min(self.per_poll, self.per_hour - len(self.queue.posts_since(hour_ago))))
            posted = self._post_problems(budget)
            failures = 0
            for stored in self.queue.next(budget - posted) if budget > posted else []:
                try:
                    if self._post(stored.proposal):
                        posted, failures = posted + 1, 0
                except SlackApiError as exc:
                    log.warning(
                        "posting %s failed: %s",
                        stored.proposal.id,
                        exc.response.get("error"),
                        extra={"proposal_id": stored.proposal.id, "channel": self.channel},
                    )
                    failures += 1
                    if failures >= MAX_FAILURES_IN_A_ROW:
                        break  # Slack is down or refusing: the next poll retries
            self.queue.record_posts([now] * posted, hour_ago)
            self._refresh_digest()
            return posted

    def post_unposted(self) -> int:
        """Kept for the poller: :meth:`post_new` already retried unposted proposals within this poll's budget."""
        return 0

    def post_next(self, count: int) -> tuple[int, int]:
        """``/secops-scan queue next``: post the next ``count`` held-back proposals (outside the budget: a
        person asked for them); returns (posted, still held back)."""
        with self._posting:
            posted = 0
            for stored in self.queue.next(count):
                try:
                    posted += self._post(stored.proposal)
                except SlackApiError as exc:
                    log.warning(
                        "posting %s failed: %s",
                        stored.proposal.id,
                        exc.response.get("error"),
                        extra={"proposal_id": stored.proposal.id, "channel": self.channel},
                    )
                    break
            left = self._refresh_digest()
            return posted, left

    def post_next_later(self, count: int, then: Callable[[int, int], None]) -> None:
        """:meth:`post_next` in the poster's worker thread; ``then(posted, left)`` runs there afterwards."""

        def work() -> None:
            try:
                then(*self.post_next(count))
            except Exception as exc:  # a worker error must not vanish silently, nor kill the worker
                log.warning("queue next failed: %s", exc.__class__.__name__)

        self._worker.submit(work)

    def queue_view(self, limit: int) -> tuple[dict[str, int], list[StoredProposal], list[InventoryProblem]]:
        """What `/secops-scan queue` shows: counts, the first ``limit`` items, inventory problems.

        As of the last posting pass (every poll, scan and `queue next` ends with one): held-back proposals
        only change there, and reading 20,000 of them in every ack would not fit Slack's 3 s under load.
        """
        snapshot = self._snapshot
        if snapshot is None or len(snapshot[1]) < limit <= sum(snapshot[0].values()):
            snapshot = self._take_snapshot(limit)
        return snapshot[0], snapshot[1][:limit], snapshot[2]

    def _take_snapshot(
        self, limit: int = QUEUE_VIEW
    ) -> tuple[dict[str, int], list[StoredProposal], list[InventoryProblem]]:
        snapshot = (self.queue.counts(), self.queue.next(limit), self.queue.problems())
        self._snapshot = snapshot
        return snapshot

    def close(self) -> None:
        """Wait for `queue next` posting in flight (shutdown)."""
        self._worker.shutdown(wait=True)

    def _post_problems(self, budget: int) -> int:
        """Post new inventory problems (within ``budget``), update the count on those already posted."""
        posted = 0
        for problem in self.queue.collapse():
            text, blocks = digest.problem_blocks(problem)
            try:
                if problem.ts is None and posted < budget:
                    if not self.claims.claim(f"problem:{problem.cluster}"):
                        continue  # another replica is posting it
                    try:
                        resp = self.client.chat_postMessage(
                            channel=self.channel, text=text, blocks=blocks, unfurl_links=False
                        )
                        with self.claims.recording():
                            self.queue.problem_posted(
                                problem.cluster, self.channel, resp["ts"], problem.count
                            )
                    finally:
                        self.claims.release(f"problem:{problem.cluster}")
                    posted += 1
                elif problem.ts is not None and problem.channel and problem.count != problem.posted_count:
                    self.claims.fence()
                    self.client.chat_update(channel=problem.channel, ts=problem.ts, text=text, blocks=blocks)
                    self.queue.problem_posted(problem.cluster, problem.channel, problem.ts, problem.count)
            except SlackApiError as exc:
                log.warning("inventory problem %s: %s", problem.cluster, exc.response.get("error"))
        return posted

    def _refresh_digest(self) -> int:
        """Post the digest once, then update it in place when its counts change; returns the held-back count."""
        counts, _, _ = self._take_snapshot()
        held = sum(counts.values())
        text, blocks = digest.digest_blocks(counts)
        current = self.queue.digest()
        try:
            if current is None and held and self.claims.claim("digest"):
                try:
                    if self.queue.digest() is None:  # not posted by another replica since
                        resp = self.client.chat_postMessage(
                            channel=self.channel, text=text, blocks=blocks, unfurl_links=False
                        )
                        with self.claims.recording():
                            self.queue.save_digest(self.channel, resp["ts"], text)
                finally:
                    self.claims.release("digest")
            elif current is not None and current.get("text") != text:
                self.claims.fence()
                self.client.chat_update(
                    channel=current["channel"], ts=current["ts"], text=text, blocks=blocks
                )
                self.queue.save_digest(current["channel"], current["ts"], text)
        except SlackApiError as exc:
            log.warning("digest: %s", exc.response.get("error"))
        return held

    def _post(self, p: Proposal) -> bool:
        """Post one card (False: another replica posts or posted it). Claimed first: in the leader's fenced
        poll a stale epoch raises :class:`bot.leader.LeaseLost` here, before anything reaches Slack."""
        what = f"card:{p.id}"
        if not self.claims.claim(what):
            return False
        try:
            if self.approvals.message_for(p.id) is not None:
                return False  # posted by another replica after this one read the queue
            ts = self._post_card(p)
        finally:
            self.claims.release(what)
        self.reply(ts, kit.evidence_text(p))
        if p.diff and kit.code_block(p.diff)[1]:
            for chunk in kit.diff_chunks(p.diff):
                self.reply(ts, chunk)
        return True

    def _post_card(self, p: Proposal) -> str:
        if p.action == "escalate":
            text, blocks = self.escalation_card(p)
        else:
            text, blocks = kit.proposal_blocks(p)
        resp = self.client.chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False
        )
        ts = str(resp["ts"])
        with self.claims.recording():  # the card exists now: record it even if the lease was lost meanwhile
            self.approvals.save_message(p.id, self.channel, ts)
        log.info(
            "proposal posted",
            extra={
                "proposal_id": p.id,
                "alert_ids": p.group.alert_ids[:20],
                "channel": self.channel,
                "ts": ts,
            },
        )
        return ts

    # --- updates ---------------------------------------------------------------------------------------

    def show_decision(self, result: ActionResult, user: str) -> None:
        p = result.proposal
        assert p is not None
        ref = self.approvals.message_for(p.id)
        now = kit.date_token(self.clock.now(), "{time}")
        if result.kind == "rejected":
            decision = messages.slack_rejected(user, now, kit.esc(result.text, 800))
        elif result.kind == "recorded":
            who = ", ".join(f"<@{u}>" for u in result.approvers)
            decision = messages.slack_partly_approved(who, kit.esc(result.text, 200))
        else:
            who = ", ".join(f"<@{u}>" for u in result.approvers)
            decision = messages.slack_approved(who, now)
            if result.kind == "publish_failed":
                decision += f"\n:warning: {kit.esc(result.text, 800)}"
        status = "pending" if result.kind in ("recorded", "publish_failed") else result.status
        text, blocks = kit.proposal_blocks(p, status=status, decision=decision, publish=result.publish)
        if ref is None:
            return
        self.claims.fence()  # a resumed publication's outcome is the leader's: the update and its note
        try:
            self.client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("updating %s failed: %s", p.id, exc.response.get("error"))
        if result.kind == "published" and result.publish is not None and result.text:
            self.reply(ref.ts, ":arrows_counterclockwise: " + kit.esc(result.text, 1000))  # resumed
        elif result.kind == "published" and result.publish is not None:
            branch = f"`{kit.esc(result.publish.branch, 200)}`"
            self.reply(ref.ts, messages.slack_approved_published(user, result.publish.pr_url, branch))
        elif result.kind in ("rejected", "publish_failed", "approved"):
            self.reply(ref.ts, decision)

    def show_decisions(self, results: Sequence[ActionResult]) -> None:
        """Outcomes the bot reached on its own (resumed publications): message in place, thread note."""
        for result in results:
            if result.proposal is not None and result.approvers:
                self.show_decision(result, result.approvers[-1])

    def show_folds(self, repeats: Sequence[Proposal]) -> None:
        """Repeats folded into a pending proposal: its message shows the new alert count, its thread says so."""
        for repeat in repeats:
            target = repeat.folded_into
            ref = self.approvals.message_for(target) if target else None
            stored = self.state.get(target) if target else None
            if ref is None or stored is None:
                continue
            p = stored.proposal
            if repeat.revision_note:  # a better candidate became a new revision: the card and its diff
                self.show_revision(p, "", note=repeat.revision_note)
                continue
            if p.action == "escalate":
                text, blocks = self.escalation_card(p)
            else:
                text, blocks = kit.proposal_blocks(p, status=stored.status)
            self.claims.fence()  # the card's new count and the thread note are one effect
            try:
                self.client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
            except SlackApiError as exc:
                log.warning("updating %s failed: %s", p.id, exc.response.get("error"))
            self.reply(ref.ts, messages.slack_folded(repeat.group.alert_count, p.group.alert_count))

    def show_revision(self, p: Proposal, user: str, note: str = "") -> None:
        """Update the parent message in place and post the new revision's diff in the thread (``user`` is ""
        for a revision the bot made itself from a newer scan; ``note`` says why)."""
        ref = self.approvals.message_for(p.id)
        if ref is None:
            return
        status = "pending" if p.action == "propose" else p.action
        if p.action == "escalate":
            text, blocks = self.escalation_card(p)
        else:
            text, blocks = kit.proposal_blocks(p, status=status)
        self.claims.fence()  # the card, the revision's note and its diff are one effect
        try:
            self.client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("updating %s failed: %s", p.id, exc.response.get("error"))
        head = (
            messages.slack_revision(p.revision, user, p.action)
            if user
            else messages.slack_revision_by_scan(p.revision, kit.esc(note, 500))
        )
        if p.guard is not None and not p.guard.passed:
            head += f"\n:no_entry: Blocked by the guard: {kit.esc(p.guard.summary(), 1500)}"
        elif p.action == "suppressed":
            head += f"\n{kit.esc(p.reason, 800)}"
        self.reply(ref.ts, head)
        for chunk in kit.diff_chunks(p.diff) if p.diff else []:
            self.reply(ref.ts, chunk)

    def thread_note(self, proposal_id: str, text: str) -> None:
        """The publishing and sync flows' notes (PR merged, rebased, closed): in the thread, and on the message.

        The message keeps its diff and checks; the note becomes its status line ("Merged by octocat: …").
        """
        ref = self.approvals.message_for(proposal_id)
        if ref is None:
            return
        note = kit.esc(text, 3000)
        self.claims.fence()  # the sync loop's and the verifier's notes: the note and the updated message
        self.reply(ref.ts, note)
        stored = self.state.get(proposal_id)
        if stored is None or stored.proposal.action == "escalate":
            return
        p = stored.proposal
        pub = self.state.get_publication(p.id, p.revision)
        publish = (
            PublishResult(
                ok=True, branch=pub.branch, commit=pub.commit, pr_url=pub.pr_url, pr_number=pub.pr_number
            )
            if pub is not None
            else None
        )
        text_, blocks = kit.proposal_blocks(p, status=stored.status, decision=note, publish=publish)
        try:
            self.client.chat_update(channel=ref.channel, ts=ref.ts, text=text_, blocks=blocks)
        except SlackApiError as exc:
            log.warning("updating %s failed: %s", p.id, exc.response.get("error"))

    # --- small helpers ---------------------------------------------------------------------------------

    def reply(self, thread_ts: str, text: str) -> None:
        try:
            self.client.chat_postMessage(
                channel=self.channel, thread_ts=thread_ts, text=text[:3900], unfurl_links=False
            )
        except SlackApiError as exc:
            log.warning("thread reply in %s failed: %s", thread_ts, exc.response.get("error"))

    def ephemeral(self, user: str, text: str) -> None:
        """A note only ``user`` sees; ``text`` is plain (it may quote hostile text) and is escaped here."""
        try:
            self.client.chat_postEphemeral(channel=self.channel, user=user, text=kit.esc(text, 3000))
        except SlackApiError as exc:
            log.warning("ephemeral to %s failed: %s", user, exc.response.get("error"))

    def permalink(self, channel: str, ts: str | None) -> str | None:
        if not ts:
            return None
        if ts in self._permalinks:
            return self._permalinks[ts]
        try:
            link: Any = self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError:
            return None
        if isinstance(link, str):
            self._permalinks[ts] = link
            return link
        return None

    def link_for(self, proposal_id: str) -> str | None:
        ref = self.approvals.message_for(proposal_id)
        return self.permalink(ref.channel, ref.ts) if ref else None
