"""Without SECOPS_REPO, `serve` scans its own clone of the remote, brought to the latest main before each scan."""

from __future__ import annotations

import json
import time

from bot.cli import scan_checkout
from bot.clock import FixedClock
from tests.conftest import FIXTURES
from tests.publish_fixtures import human_commit
from tests.slack.conftest import SlackEnv, runtime_for, settings_for
from tests.slack.recorder import SlackRecorder

WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"


def test_proposals_are_computed_against_the_latest_default_branch(tmp_path, bare_remote):
    remote, checkout = bare_remote
    recorder = SlackRecorder()
    alerts = tmp_path / "alerts.json"
    alerts.write_text((FIXTURES / "alerts" / "demo-alerts.json").read_text())
    base = settings_for(tmp_path, recorder, remote, checkout, alerts)
    settings, refresh = scan_checkout(base.model_copy(update={"repo": None}))
    assert settings.repo == base.data_dir / "gitops-scan"
    # Someone blocks another address on main after the bot started; the stale checkout never sees it.
    text = (
        (FIXTURES / "gitops" / WEB01)
        .read_text()
        .replace('"198.51.100.23/32,192.0.2.0/24"', '"198.51.100.23/32,192.0.2.0/24,141.98.11.60/32"')
    )
    human_commit(tmp_path, WEB01, text, "block 141.98.11.60 (INC-4520)")
    clock = FixedClock(time.time())
    runtime = runtime_for(settings, clock, http=True)
    runtime.service.before_scan = refresh
    port = runtime.start_http("127.0.0.1", 0)
    slack = SlackEnv(runtime, recorder, port, remote, alerts, clock)
    try:
        slack.command("")
        recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"))
        blocks = json.dumps(slack.message_of("91.240.118.172")["blocks"])
        assert "192.0.2.0/24,141.98.11.60/32,91.240.118.172/32" in blocks
    finally:
        runtime.stop()
        recorder.close()
    assert "141.98.11.60" not in (checkout / WEB01).read_text()  # the user's own checkout was not touched
