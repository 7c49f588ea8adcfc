"""Flood control with 20,000 held-back proposals: the poll's posting pass (budget + digest) and the acks.

One scan of 20,000 attackers (12,000 escalations, 6,000 blocked by one inventory problem, 2,000 to approve)
is stored without posting; then the poster's pass is timed (collapse the inventory problem, post the budget,
post the digest), and `/secops-scan queue` and `queue next 1` acks are measured as in
bench_slack_ack.py: 50 concurrent signed requests, 6 rounds per kind, time to the HTTP response.
"""

from __future__ import annotations

import time

from tests.bench.slack_load import CONCURRENCY, ROUNDS, print_ack_latency, serving
from tests.slack.conftest import ALICE, SlackEnv
from tests.slack.test_flood import DB01, WEB01, WEB03, _alerts


def main() -> None:
    with serving(_alerts([(DB01, 12_000), (WEB03, 6_000), (WEB01, 2_000)])) as slack:
        t0 = time.perf_counter()
        outcome = slack.service.scan(trigger="bench")
        print(f"scan of 20,000 attackers: {time.perf_counter() - t0:.1f} s, {len(outcome.new)} new")
        t0 = time.perf_counter()
        posted = slack.runtime.poster.post_new(outcome.new)
        print(
            f"posting pass (collapse, {posted} posted, digest): {(time.perf_counter() - t0) * 1000:.0f} ms; "
            f"digest: {slack.posted()[-1]['text']}"
        )
        t0 = time.perf_counter()
        slack.runtime.poster.post_new([])
        print(f"next poll's pass (digest updated in place): {(time.perf_counter() - t0) * 1000:.0f} ms")
        print_ack_latency(
            {
                "/secops-scan queue (20,000 held back)": lambda: slack.command("queue", user=ALICE),
                "/secops-scan queue next 1 (the ack)": lambda: slack.command("queue next 1", user=ALICE),
            }
        )
        # Each `queue next 1` posts a card after its ack: let them finish, or stopping the app leaves
        # them posting to a closed Web API (a URLError each, and a process that does not exit).
        t0 = time.perf_counter()
        wanted = CONCURRENCY * ROUNDS
        slack.recorder.wait_for("respond", lambda _: _posted(slack) >= wanted, timeout=600)
        print(f"{wanted} `queue next 1` posts done {time.perf_counter() - t0:.1f} s after the last ack")


def _posted(slack: SlackEnv) -> int:
    return sum(1 for b in slack.recorder.calls("respond") if b.get("text", "").startswith("Posted "))


if __name__ == "__main__":
    main()
