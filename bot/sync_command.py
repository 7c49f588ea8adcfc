"""``secops-bot sync``: one pass over the bot's open pull requests (``serve`` runs the same on an interval).

::

    secops-bot sync --repo DIR --cmdb CMDB.yaml     merged → recorded; closed → rejected; stale → rebased
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from bot import messages
from bot.clock import Clock
from bot.setting_names import ENV_NAMES

if TYPE_CHECKING:  # publishing pulls in the pipeline's models: not for `--help`
    from bot.publishing import Notifier


class PrintNotifier:
    """Thread notes printed on the terminal, and passed on to Slack when it is configured."""

    def __init__(self, out: TextIO, slack: Notifier | None = None) -> None:
        self.out = out
        self.slack = slack

    def thread_note(self, proposal_id: str, text: str) -> None:
        self.out.write(f"{proposal_id}: {text}\n")
        if self.slack is not None:
            self.slack.thread_note(proposal_id, text)  # the proposal's thread and message, like serve's sync


def register(sub: Any) -> None:
    """Add the ``sync`` subcommand to the CLI's subparsers."""
    sync = sub.add_parser(
        "sync",
        help="check the bot's open pull requests: record merges and rejections, rebase stale ones",
        description="One pass over the bot's open pull requests: merged ones are recorded as merged, ones "
        "closed without merge as rejected in review (with the closer's comment), and ones whose files "
        "changed on the default branch are rebased (operations re-applied, guard re-run) or closed when "
        "the change is already in place. `serve` runs the same every SECOPS_SYNC_INTERVAL.",
    )
    sync.add_argument(
        "--repo", help=f"GitOps repository checkout (remote fallback) (env {ENV_NAMES['repo']})"
    )
    sync.add_argument("--cmdb", help=f"inventory YAML (env {ENV_NAMES['cmdb']})")
    sync.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock) -> int:
    from bot.settings import load_settings
    from bot.storage import open_audit, open_state
    from bot.sync import build_syncer

    settings = load_settings(
        env, {"data_dir": getattr(args, "data_dir", None), "repo": args.repo, "cmdb": args.cmdb}
    )
    if not settings.github_repository and settings.cmdb is None:
        out.write(messages.cli_sync_not_configured() + "\n")
        return 0
    settings.require("cmdb")
    state = open_state(settings, now=clock.now())
    try:
        slack = None
        if settings.slack_bot_token is not None and settings.slack_channel:
            from bot.slack.runtime import build_notifier

            slack = build_notifier(settings, state, clock)
        syncer = build_syncer(
            settings,
            state=state,
            audit=open_audit(settings, state, clock),
            clock=clock,
            notifier=PrintNotifier(out, slack),
        )
        if syncer is None:  # no GITHUB_REPOSITORY and no application repository to sync
            out.write(messages.cli_sync_not_configured() + "\n")
            return 0
        report = syncer.sync()
    finally:
        state.close()
    for error in report.errors:
        err.write(messages.cli_error(error) + "\n")
    out.write(
        messages.cli_sync_summary(
            report.checked, report.merged, report.rejected, report.rebased, report.closed
        )
        + "\n"
    )
    if report.expired:
        out.write(messages.cli_sync_expired(report.expired) + "\n")
    return 1 if report.errors else 0
