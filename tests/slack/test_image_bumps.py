"""Image bumps through the real Bolt app: Trivy reports in, one card per image, Approve pushes the one-line bump."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, git
from tests.slack.conftest import ALICE, start

KIND = FIXTURES / "trivy" / "trivy-k8s-cluster-report-kind.json"
CANDIDATE = FIXTURES / "trivy" / "candidates" / "coredns-v1.11.1.json"


@pytest.fixture
def slack(tmp_path: Path, bare_remote):
    # no alerts at all: the reports are the only source
    yield from start(tmp_path, bare_remote, {"SECOPS_TRIVY_REPORTS": f"{KIND},{CANDIDATE}"}, alerts_text="")


def scan(slack) -> None:
    """`/secops-scan`, waiting for its summary (the first scan of a process imports the report readers)."""
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"), timeout=60)


def card(slack, subject_part: str) -> dict:
    return next(m for m in slack.posted() if subject_part in json.dumps(m["blocks"]))


def test_image_card_says_what_approve_does_and_lists_the_cves_in_the_thread(slack):
    scan(slack)
    coredns = card(slack, "coredns/coredns:v1.10.1")
    assert coredns["blocks"][0]["text"]["text"] == (
        ":red_circle: *Bump coredns image registry.k8s.io/coredns/coredns:v1.10.1 → v1.11.1 "
        "(fixes CVE-2022-1996 CRITICAL)* · CRITICAL · 1 CVE"
    )
    ref = slack.service.approvals.message_for(json.loads(slack.approve_value(coredns))["p"])
    thread = slack.thread(ref.ts)
    assert thread[0].startswith("*Findings* for `p-")
    assert ":white_check_mark: `CVE-2022-1996` CRITICAL `github.com/emicklei/go-restful`" in thread[0]
    assert "2.16.0" in thread[0]


def test_approving_an_image_bump_pushes_only_the_tag_change(slack):
    scan(slack)
    coredns = card(slack, "coredns/coredns:v1.10.1")
    ref = slack.service.approvals.message_for(json.loads(slack.approve_value(coredns))["p"])
    status, _ = slack.click("approve", slack.approve_value(coredns), ALICE, ref.ts)
    assert status == 200
    branch = slack.published_branch(json.loads(slack.approve_value(coredns))["p"])
    diff = git("diff", "--unified=0", "main", branch, cwd=slack.remote)
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-  tag: v1.10.1", "+  tag: v1.11.1"]
    assert git("diff", "--name-only", "main", branch, cwd=slack.remote).split() == [
        "apps/coredns/values.yaml"
    ]


def test_escalated_image_names_the_fixed_package_version(slack):
    scan(slack)
    ratings = card(slack, "examples-bookinfo-ratings-v1")
    text = json.dumps(ratings["blocks"])
    assert "npm-registry-fetch 8.1.1" in text and '"approve"' not in text
