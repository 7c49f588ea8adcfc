"""Policy proposals through the real Bolt app: a K8sGPT report in, a policy card with its impact preview and
proof, Approve pushes exactly one new policy file in the listed directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.slack.blocks import MAX_SECTION, proof_block
from tests.conftest import git
from tests.policies.remote import POLICY_REPO, policy_remote
from tests.slack.conftest import ALICE, start

NEW_FILE = "clusters/prod/policies/disallow-privileged-containers.yaml"
IMPACT = "Would flag 3 resources in 3 namespaces: ops/agent, ratings/cache, shop/checkout."


@pytest.fixture
def slack(tmp_path: Path):
    remote = policy_remote(tmp_path)
    env = {
        "SECOPS_TRIVY_REPORTS": str(POLICY_REPO / "k8sgpt-analyze.json"),
        "SECOPS_CMDB": str(POLICY_REPO / "cmdb.yaml"),
    }
    yield from start(tmp_path, remote, env, alerts_text="")


def scan(slack) -> None:
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"), timeout=60)


def card(slack, part: str) -> dict:
    return next(m for m in slack.posted() if part in json.dumps(m["blocks"]))


def test_policy_card_shows_the_impact_preview_and_the_proof_check(slack):
    scan(slack)
    message = card(slack, "disallow-privileged")
    assert (
        message["blocks"][0]["text"]["text"]
        .split(" · ")[0]
        .endswith("*Add policy disallow-privileged-containers (Audit) in clusters/prod/policies*")
    )
    context = [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any(t.endswith(f"\n:card_index_dividers: {IMPACT}") for t in context)
    ref = slack.service.approvals.message_for(json.loads(slack.approve_value(message))["p"])
    assert ":white_check_mark: `policy_proven` 5 resources: every must-fail fails" in slack.thread(ref.ts)[0]


def test_approving_a_policy_card_pushes_one_new_file_in_the_listed_directory(slack):
    scan(slack)
    message = card(slack, "disallow-privileged")
    pid = json.loads(slack.approve_value(message))["p"]
    ref = slack.service.approvals.message_for(pid)
    status, _ = slack.click("approve", slack.approve_value(message), ALICE, ref.ts)
    assert status == 200
    branch = slack.published_branch(pid)
    assert git("diff", "--name-status", "main", branch, cwd=slack.remote).split() == ["A", NEW_FILE]
    pushed = git("show", f"{branch}:{NEW_FILE}", cwd=slack.remote)
    assert "validationFailureAction: Audit" in pushed and "name: disallow-privileged-containers" in pushed


def test_policy_card_shows_the_proof_as_a_table(slack):
    scan(slack)
    message = card(slack, "disallow-privileged")
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert [t for t in sections if t.startswith("*Proof*")] == [
        "*Proof* (the Kyverno engine on this exact document)\n"
        "```fixture     resource                                              expected  engine\n"
        "must-fail   default/Pod/privileged                                fail      ✓ fail\n"
        "must-fail   default/Deployment/privileged-init                    fail      ✓ fail\n"
        "must-pass   default/Pod/plain                                     pass      ✓ pass\n"
        "must-pass   default/Deployment/unprivileged                       pass      ✓ pass\n"
        "repository  apps/shop/deployments.yaml: shop/Deployment/checkout  fail      ✓ fail```"
    ]


def test_proof_table_escapes_hostile_names_and_keeps_to_the_first_rows():
    hostile = ("must-fail", "default/Pod/<!channel>```@here", "fail", "pass")
    rows = [hostile] + [("must-pass", f"default/Pod/p{i}", "pass", "pass") for i in range(11)]
    text = proof_block(rows)["text"]["text"]
    assert text.startswith(
        "*Proof* (the Kyverno engine on this exact document) (first 8 of 12 rows; all of them"
    )
    assert "default/Pod/&lt;!channel&gt;`\u200b``@\u200bhere  fail      ✗ pass\n" in text
    assert text.count("```") == 2 and "p6" in text and "p7" not in text and len(text) < MAX_SECTION


def test_proof_table_cuts_a_long_resource_to_the_column():
    text = proof_block([("repository", "apps/" + "x" * 80 + ".yaml: ns/Pod/a", "fail", "fail")])["text"][
        "text"
    ]
    assert "repository  apps/" + "x" * 46 + "…  fail      ✓ fail```" in text
