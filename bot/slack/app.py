"""The Bolt app: thin listeners (ack → parse → one service call → render → post) and request-wide rules.

Rules applied to every request as middleware: only the configured channel is used, and repeated deliveries
of the same event (Slack retries) are handled once. Approve and Reject check the approver list.

Bolt calls every listener, and so its ``ack()``, on a few listener threads. A listener therefore only acks
and hands its slow part (a scan, the LLM fixer, git, GitHub, Slack calls) to a lane of ``bot.slack.work``:
a burst of slow work never leaves the listener threads without one for the next request's ack (Bolt
otherwise answers 404 "didn't call ack()" after 3 s). A full lane is said to the user, never dropped
silently; a proposal thread's instructions run one at a time, in order.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.service import ActionResult, ProposalService, ScanOutcome
from bot.slack import blocks as kit
from bot.slack import digest
from bot.slack.poster import Poster
from bot.slack.work import Coalesced, Lanes

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>")


class Approvers:
    """Who may approve or reject: Slack user ids, and members of Slack user groups (cached 5 minutes).

    The cache remembers when it was fetched (None: never), so a monotonic clock that starts near 0 on a
    freshly booted machine cannot make an empty cache look fresh.
    """

    def __init__(
        self,
        client: WebClient,
        ids: tuple[str, ...],
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.users = {i for i in ids if i[:1] in ("U", "W")}
        self.groups = [i for i in ids if i[:1] == "S"]
        self.ttl = ttl
        self.monotonic = monotonic
        self._fetched_at: float | None = None
        self._members: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, user: str) -> bool:
        if user in self.users:
            return True
        if not self.groups:
            return False
        with self._lock:
            now = self.monotonic()
            if self._fetched_at is None or now - self._fetched_at > self.ttl:
                members: set[str] = set()
                for group in self.groups:
                    try:
                        resp = self.client.usergroups_users_list(usergroup=group)
                        members.update(resp.get("users", []))
                    except SlackApiError as exc:
                        log.warning("usergroups.users.list %s failed: %s", group, exc.response.get("error"))
                self._fetched_at, self._members = now, members
            return user in self._members


class DisplayNames:
    """Slack user ids → display names (``users.info``, needs the ``users:read`` scope), cached per process.

    A failed lookup gives "" for that user, so the pull request names the id instead; publishing never waits
    on it for long (the Web API client's timeout) and never fails because of it.
    """

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, ids: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.name(i) for i in ids)

    def name(self, user: str) -> str:
        with self._lock:
            if user in self._names:
                return self._names[user]
        try:
            found: Any = self.client.users_info(user=user).get("user")
            profile: dict[str, Any] = (found or {}).get("profile") or {}
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", user, exc.response.get("error"))
            return ""
        name = str(profile.get("display_name") or profile.get("real_name") or "")
        with self._lock:
            self._names[user] = name
        return name


def delivery_key(body: dict[str, Any]) -> str | None:
    """The key that makes a Slack delivery idempotent across replicas (kept in the state database).

    An event retried by Slack carries the same ``event_id``; a click delivered twice the same user, action
    and ``action_ts``. Other requests (slash commands, modal submissions) are not retried by Slack.
    """
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    actions = body.get("actions")
    if body.get("type") == "block_actions" and isinstance(actions, list) and actions:
        action = actions[0] if isinstance(actions[0], dict) else {}
        user = body["user"] if isinstance(body.get("user"), dict) else {}
        if action.get("action_ts"):
            return f"action:{user.get('id', '')}:{action.get('action_id', '')}:{action['action_ts']}"
    return None


def _channel_of(body: dict[str, Any]) -> str | None:
    if "channel_id" in body:
        return str(body["channel_id"])
    channel = body.get("channel")
    if isinstance(channel, dict) and "id" in channel:
        return str(channel["id"])
    container = body.get("container")
    if isinstance(container, dict) and "channel_id" in container:
        return str(container["channel_id"])
    event = body.get("event")
    if isinstance(event, dict) and event.get("type") != "app_home_opened" and "channel" in event:
        return str(event["channel"])
    if body.get("type") == "view_submission":
        try:
            return str(json.loads(body["view"]["private_metadata"])["c"])
        except (KeyError, ValueError, TypeError):
            return None
    return None


def build_app(
    *,
    service: ProposalService,
    client: WebClient,
    signing_secret: str,
    channel: str,
    is_approver: Callable[[str], bool],
    poster: Poster,
    verify_requests: bool = True,
    lanes: Lanes,
    listener_executor: Executor | None = None,
) -> App:
    """Wire the listeners. ``client`` points at Slack (or a loopback recorder in tests).

    ``lanes`` run each listener's slow part after its ack (the caller closes them on shutdown).

    ``verify_requests`` is only False in Socket Mode, where requests arrive over the app-token websocket
    and carry no signature; over HTTP every request must be signed.
    """
    app = App(
        client=client,
        signing_secret=signing_secret or None,
        request_verification_enabled=verify_requests,
        token_verification_enabled=False,  # `serve` verifies the token once at start, with a clear message
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=listener_executor,  # the runtime waits for it on shutdown
    )

    @app.middleware
    def only_configured_channel(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        where = _channel_of(body)
        if where is not None and where != channel:
            if body.get("command"):
                return _ephemeral_response(messages.wrong_channel(channel))
            return BoltResponse(status=200, body="")
        key = delivery_key(body)
        if key and not service.state.first_delivery(key, service.clock.now()):
            return BoltResponse(status=200, body="")  # a retry (to any replica) of a delivery already handled
        return next()

    # --- /secops-scan ------------------------------------------------------------------------------

    def scan_and_post(users: tuple[str, ...]) -> ScanOutcome:
        """One scan for every `/secops-scan` that joined it; its cards are posted before anyone is answered."""
        outcome = service.scan(trigger="command:" + ",".join(users))
        if not outcome.error:
            poster.post_new(outcome.new)
            poster.show_folds(outcome.folded)
            for revised in outcome.revised:
                poster.show_revision(revised, "", note=revised.revision_note)
        return outcome

    scans = Coalesced(lanes.scan, scan_and_post)

    @app.command("/secops-scan")
    def secops_scan(ack: Any, command: dict[str, Any], respond: Any) -> None:
        sub = (command.get("text") or "").strip().lower()
        if sub in ("", "now", "scan"):

            def answer(outcome: ScanOutcome) -> None:
                if outcome.error:
                    respond(response_type="ephemeral", replace_original=False, text=outcome.error)
                    return
                respond(
                    response_type="ephemeral",
                    replace_original=False,
                    text=messages.scan_summary(
                        outcome.count("propose") + outcome.count("blocked"),
                        outcome.count("escalate"),
                        outcome.suppressed,
                        outcome.malformed,
                    ),
                )

            if scans.request(str(command.get("user_id") or ""), answer):
                ack(response_type="ephemeral", text=messages.scan_started())
            else:
                ack(response_type="ephemeral", text=messages.busy_scan())
        elif sub == "status":
            ack(response_type="ephemeral", text=_status_text(service, poster))
        elif sub == "queue":
            ack(response_type="ephemeral", text=_queue_text(poster))
        elif sub.split()[:2] in (["queue", "next"], ["queue", "more"]):
            count = _queue_count(sub.split()[2:])
            if count is None:
                ack(response_type="ephemeral", text=messages.queue_bad_count(" ".join(sub.split()[2:])[:40]))
                return
            ack(response_type="ephemeral", text=messages.queue_posting(count))

            def posted(count: int, left: int) -> None:
                respond(
                    response_type="ephemeral", replace_original=False, text=messages.queue_posted(count, left)
                )

            poster.post_next_later(count, posted)  # posting N cards takes longer than Slack's 3 s
        else:
            ack(response_type="ephemeral", text=messages.command_help() + " " + messages.queue_help())

    # --- Approve / Reject ------------------------------------------------------------------------------

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        value = json.loads(action["value"])
        user = body["user"]["id"]
        ts = body.get("message", {}).get("ts") or body.get("container", {}).get("message_ts")

        def vote() -> None:
            result = service.approve(
                value["p"],
                value["h"],
                user,
                authorized=is_approver(user),
                thread_url=poster.permalink(channel, ts),
            )
            _after_decision(result, user, poster)

        if not lanes.decide.submit(vote):
            poster.ephemeral(user, messages.busy_click("Approve"))

    @app.action("reject")
    def reject(ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        value = json.loads(action["value"])
        user = body["user"]["id"]

        def open_modal() -> None:  # in the quick lane: the trigger expires 3 s after the click
            result = service.may_reject(value["p"], value["h"], user, authorized=is_approver(user))
            if result.kind != "allowed" or result.proposal is None:
                poster.ephemeral(user, result.text)
                return
            ts = body.get("message", {}).get("ts", "")
            view = kit.reject_modal(result.proposal, channel, ts)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        if not lanes.ui.submit(open_modal):
            poster.ephemeral(user, messages.busy_click("Reject"))

    @app.view("reject_modal")
    def reject_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["reason"].get("value") or ""
        if not reason.strip():
            ack(response_action="errors", errors={"reason": "Say why, so the team and the bot remember."})
            return
        meta = json.loads(view["private_metadata"])
        user = body["user"]["id"]

        def decide() -> None:
            result = service.reject(meta["p"], meta["h"], user, reason, authorized=is_approver(user))
            _after_decision(result, user, poster)

        if lanes.decide.submit(decide):
            ack()
        else:  # the modal stays open with the reason typed, to submit again
            ack(response_action="errors", errors={"reason": messages.busy_click("rejection")})

    # --- thread instructions ---------------------------------------------------------------------------

    @app.event("app_mention")
    def mentioned(event: dict[str, Any], client: WebClient) -> None:
        thread = event.get("thread_ts")
        user = event.get("user", "")
        text = _MENTION.sub("", event.get("text", "")).strip()
        proposal_id = service.approvals.proposal_for_thread(channel, thread) if thread else None
        if proposal_id is None or thread is None:
            where = event.get("thread_ts") or event["ts"]
            lanes.ui.submit(lambda: poster.reply(where, messages.instructions_help()))  # full: help can wait
            return
        in_thread: str = thread

        def revise() -> None:
            # Revising is deciding what Approve would do: the same approver check as Approve and Reject.
            result = service.revise(proposal_id, user, text, authorized=is_approver(user))
            if result.kind == "revised" and result.proposal is not None:
                poster.show_revision(result.proposal, user)
            elif result.kind == "not_authorized":
                _thread_ephemeral(client, channel, in_thread, user, result.text)
            else:  # may quote the LLM fixer or the instruction
                poster.reply(in_thread, kit.esc(result.text, 3000))

        # One proposal's instructions in the order they were written: each revises the one before.
        if not lanes.thread.submit(revise, key=proposal_id):
            _thread_ephemeral(client, channel, in_thread, user, messages.busy_instruction())

    # --- escalation buttons (issue 12) ----------------------------------------------------------------

    service.display_names = DisplayNames(client)  # approvers by name in PR bodies
    poster.escalation_card = lambda p: kit.escalation_blocks(  # owners and decisions on every rendering
        p, service.host_owners(p), service.escalation_decisions(p.id)
    )

    def on_escalation(what: str) -> Callable[..., None]:
        def listener(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            user = body["user"]["id"]
            proposal_id = json.loads(action["value"])["p"]

            def decide() -> None:
                result = service.act_on_escalation(proposal_id, what, user, authorized=is_approver(user))
                if result.kind != "escalation" or result.proposal is None:
                    poster.ephemeral(user, result.text)
                    return
                _show_escalation(result.proposal, service, poster)

            if not lanes.decide.submit(decide):
                poster.ephemeral(user, messages.busy_click("decision"))

        return listener

    app.action("esc_ack")(on_escalation("acknowledge"))
    app.action("esc_assign")(on_escalation("assign"))
    app.action("esc_mute")(on_escalation("mute"))

    # --- App Home --------------------------------------------------------------------------------------

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        if not lanes.ui.submit(lambda: client.views_publish(user_id=user, view=_home(service, poster))):
            client.views_publish(user_id=user, view=_busy_home())

    @app.event("message")
    def ignore_messages() -> None:
        """Plain channel messages are for people; the bot acts on mentions only."""

    return app


def _ephemeral_response(text: str) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps({"response_type": "ephemeral", "text": text}),
        headers={"content-type": "application/json;charset=utf-8"},
    )


def _thread_ephemeral(client: WebClient, channel: str, thread: str, user: str, text: str) -> None:
    """A note only ``user`` sees, in the thread they wrote in."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, text=kit.esc(text, 3000))
    except SlackApiError as exc:
        log.warning("ephemeral to %s failed: %s", user, exc.response.get("error"))


def _status_text(service: ProposalService, poster: Poster) -> str:
    # Counted and ordered in the store; only the lines shown are parsed (fast with thousands stored).
    pending = service.state.most_severe("pending", 10)
    last = service.last_poll()
    lines = [
        messages.status_text(service.state.count("pending"), kit.date_token(last), service.suppressed_today())
    ]
    for s in pending:
        link = poster.link_for(s.proposal.id)
        title = kit.esc(kit.title(s.proposal), 140)
        lines.append(
            f"• {title} `{s.proposal.id}` r{s.proposal.revision}" + (f" <{link}|open>" if link else "")
        )
    # Open escalations, highest severity first: each needs a person, not an Approve click.
    escalated = service.state.most_severe("escalated", 10)
    if escalated:
        lines.append(messages.status_escalations(service.state.count("escalated")))
    for s in escalated:
        link = poster.link_for(s.proposal.id)
        title = kit.esc(kit.title(s.proposal), 140)
        lines.append(f"• {title} `{s.proposal.id}`" + (f" <{link}|open>" if link else ""))
    return "\n".join(lines)


QUEUE_NEXT_DEFAULT, QUEUE_NEXT_MAX = 5, 20


def _queue_count(words: list[str]) -> int | None:
    """``queue next [N]``: N (default 5, at most 20); None when N is not a positive number."""
    if not words:
        return QUEUE_NEXT_DEFAULT
    if len(words) != 1 or not (words[0].isascii() and words[0].isdigit()) or int(words[0]) < 1:
        return None
    return min(int(words[0]), QUEUE_NEXT_MAX)


def _queue_text(poster: Poster) -> str:
    """``/secops-scan queue``: held-back proposals by severity then age, and inventory problems."""
    return digest.queue_text(*poster.queue_view(digest.QUEUE_LINES))


def _busy_home() -> dict[str, Any]:
    """App Home while the bot is too busy to render its queue."""
    text = {"type": "mrkdwn", "text": kit.esc(messages.busy_home(), 3000)}
    return {"type": "home", "blocks": [{"type": "section", "text": text}]}


def _after_decision(result: ActionResult, user: str, poster: Poster) -> None:
    """Render an approve/reject outcome: ephemeral for refusals, in place + thread for decisions."""
    if result.kind in ("approved", "published", "publish_failed", "rejected", "recorded") and result.proposal:
        poster.show_decision(result, user)
    else:
        poster.ephemeral(user, result.text)


def _show_escalation(p: Any, service: ProposalService, poster: Poster) -> None:
    """An escalation decision: the card shows it on top (updated in place), the thread says it too."""
    ref = service.approvals.message_for(p.id)
    if ref is None:
        return
    decisions = service.escalation_decisions(p.id)
    text, blocks = kit.escalation_blocks(p, service.host_owners(p), decisions)
    try:
        poster.client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning("updating %s failed: %s", p.id, exc.response.get("error"))
    if decisions:
        poster.reply(ref.ts, kit.escalation_status(decisions[-1]))


def _home(service: ProposalService, poster: Poster) -> dict[str, Any]:
    """App Home as a triage queue: severity first, then age; links only for what is shown."""
    all_pending = service.pending()
    pending = kit.triage_order([(s.proposal, s.created_at) for s in all_pending])[:12]
    open_escalations = service.open_escalations()
    notes = {s.proposal.id: d for s, d in open_escalations}
    escalations = kit.triage_order([(s.proposal, s.created_at) for s, _ in open_escalations])
    recent = service.recent_decisions(10)
    return kit.home_view(
        [(p, poster.link_for(p.id)) for p, _ in pending],
        [d for d, _ in recent],
        service.today_counts(),
        service.last_poll(),
        escalations=[(p, poster.link_for(p.id), _escalation_note(notes[p.id])) for p, _ in escalations[:8]],
        decided={p.id: p for _, p in recent if p is not None},
        pending_total=len(all_pending),
        escalations_total=len(open_escalations),
    )


def _escalation_note(decisions: list[dict[str, Any]]) -> str:
    """The latest decision on an escalation, short: "assigned to @alice"."""
    return kit.escalation_status(decisions[-1]) if decisions else ""
