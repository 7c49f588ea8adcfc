"""Ack latency of the Slack app under 50 concurrent requests on loopback (slash commands and button clicks).

Measures the time from sending a signed request to `serve --http` until its HTTP response (Slack's 3 s ack
budget), with the Web API on a loopback recorder. Prints p50/p99 per request kind.
"""

from __future__ import annotations

from tests.bench.slack_load import print_ack_latency, serving
from tests.slack.conftest import ALICE, MALLORY


def main() -> None:
    with serving() as slack:
        slack.command("")
        slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"), timeout=60)
        web = "91.240.118.172"
        value, ts = slack.approve_value(slack.message_of(web)), slack.ts_of(web)
        print_ack_latency(
            {
                "/secops-scan status": lambda: slack.command("status", user=ALICE),
                "/secops-scan help": lambda: slack.command("help", user=ALICE),
                "Approve click (refused: not an approver)": lambda: slack.click(
                    "approve", value, MALLORY, ts
                ),
            }
        )


if __name__ == "__main__":
    main()
