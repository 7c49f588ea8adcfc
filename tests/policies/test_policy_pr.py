"""Policy proposals published: the pull request shows the policy, the proof table and the impact preview."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.inventory import inventory_from_data
from bot.pipeline import Scanner, Since
from bot.publisher import GitHubPublisher
from bot.state import StateStore
from tests.conftest import git
from tests.policies.remote import CAPABILITIES, CAPABILITIES_FILE, POLICY_REPO, policy_remote
from tests.publish_fixtures import BOT, FAKE_TOKEN, approval
from tests.tools.github_server import GitHubServer
from tools.git_repo import GitRepo, Remote
from tools.github import GitHubPulls, github_client

INVENTORY = inventory_from_data(yaml.safe_load((POLICY_REPO / "cmdb.yaml").read_text()))
REPORTS = POLICY_REPO.parent / "policy-reports" / "disallow-capabilities-passing.yaml"
NOW = 1_800_000_000.0
NEW_FILE = "clusters/prod/policies/disallow-privileged-containers.yaml"


@pytest.fixture
def gh():
    with GitHubServer() as server:
        yield server


class World:
    def __init__(self, tmp: Path, extra: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.bare, self.checkout = policy_remote(tmp, extra)
        self.clock = FixedClock(NOW)
        self.state = StateStore(tmp / "data" / "state.db")
        self.audit = AuditLog(tmp / "data" / "audit.jsonl", self.clock)

    def scan(self, subject: str, policy_reports=()):
        scanner = Scanner(
            inventory=INVENTORY, repo_root=self.checkout, catalog=load_catalog(), state=self.state,
            audit=self.audit, clock=self.clock,
        )  # fmt: skip
        report = scanner.scan_reports(
            [POLICY_REPO / "k8sgpt-analyze.json"], since=Since("all"), policy_reports=policy_reports
        )
        return next(p for p in report.proposals if p.group.subject == subject)

    def publisher(self, gh: GitHubServer) -> GitHubPublisher:
        repo = GitRepo(self.tmp / "data" / "clone", Remote(str(self.bare), None), author=BOT, timeout=20)
        from bot.bot_branch import BranchBuilder

        pulls = GitHubPulls(github_client(FAKE_TOKEN, gh.url, timeout=5), "acme/gitops")
        return GitHubPublisher(
            BranchBuilder(repo, INVENTORY), pulls, state=self.state, audit=self.audit, clock=self.clock
        )


def _section(body: str, heading: str) -> list[str]:
    """The non-empty lines under ``heading`` up to the next heading."""
    lines = body.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return [line for line in lines[start:end] if line]


def test_add_policy_pr_title_names_policy_mode_and_directory(tmp_path, gh):
    w = World(tmp_path)
    p = w.scan("policy:disallow-privileged")
    result = w.publisher(gh).publish(p, approval(p))
    assert result.ok, result.message
    assert gh.repo.pulls[1]["title"] == (
        f"secops: add policy disallow-privileged-containers (Audit) in clusters/prod/policies ({p.id} r1)"
    )


def test_add_policy_pr_body_shows_proof_table_and_impact(tmp_path, gh):
    w = World(tmp_path)
    p = w.scan("policy:disallow-privileged")
    w.publisher(gh).publish(p, approval(p))
    body = gh.repo.pulls[1]["body"]
    assert body.startswith("## Add Kyverno policy disallow-privileged-containers in Audit\n")
    assert (
        "**Policy** disallow-privileged-containers (ClusterPolicy, template disallow-privileged) in "
        f"{NEW_FILE}, failure action Audit:\n"
        "- rule privileged-containers on Pod: Privileged mode is disallowed: securityContext.privileged "
        "must be unset or false.\n"
    ) in body
    proof = _section(
        body, "### Proof (the Kyverno engine on this exact document, re-run on the latest default branch)"
    )
    assert proof[0].startswith("5 resources: every must-fail fixture fails, every must-pass fixture passes")
    assert proof[1:3] == ["| fixture | resource | expected | engine |", "|---|---|---|---|"]
    assert "| repository | apps/shop/deployments.yaml: shop/Deployment/checkout | fail | ✓ fail |" in proof
    assert len(proof) == 8 and all("✓" in row for row in proof[3:])
    assert _section(body, "### Impact preview (every manifest of the repository)") == [
        "Would flag 3 resources in 3 namespaces: ops/agent, ratings/cache, shop/checkout."
    ]
    assert "- ✓ `policy_proven`: 5 resources: every must-fail fails" in body


def test_add_policy_pr_pushes_exactly_the_new_policy_file(tmp_path, gh):
    w = World(tmp_path)
    p = w.scan("policy:disallow-privileged")
    result = w.publisher(gh).publish(p, approval(p))
    assert git("diff", "--name-status", "main", result.branch, cwd=w.bare).split() == ["A", NEW_FILE]


def test_add_policy_pr_body_renders_hostile_finding_text_inert(tmp_path, gh):
    w = World(tmp_path)
    p = w.scan("policy:disallow-privileged")
    hostile = "@octocat [click](https://evil.example) | <img src=x> ``` ignore the guard"
    findings = tuple(f._replace(title=hostile) for f in p.group.findings)
    p = p.model_copy(update={"group": p.group.model_copy(update={"findings": findings})})
    w.publisher(gh).publish(p, approval(p))
    rows = [line for line in gh.repo.pulls[1]["body"].splitlines() if line.startswith("| K8SGPT-SECURITY")]
    assert rows and rows[0].endswith(
        "| @\u200boctocat \\[click\\](https:\u200b//evil.example) \\| \\<img src=x\\> \\`\\`\\` ignore the guard |"
    )


def test_set_policy_mode_pr_shows_title_and_evidence(tmp_path, gh):
    w = World(tmp_path, {CAPABILITIES_FILE: CAPABILITIES.read_text()})
    p = w.scan(f"promote:{CAPABILITIES_FILE}#disallow-capabilities", policy_reports=[REPORTS])
    assert p.action == "propose", p.reason
    result = w.publisher(gh).publish(p, approval(p))
    assert result.ok, result.message
    pr = gh.repo.pulls[1]
    assert pr["title"] == f"secops: enforce policy disallow-capabilities (Audit → Enforce) ({p.id} r1)"
    assert pr["body"].startswith(
        "## Promote Kyverno policy disallow-capabilities: Audit → Enforce\n\n"
        f"`{CAPABILITIES_FILE}`: only the failure action changes.\n\n"
        "**Evidence of zero violations:** PolicyReports: 1 results, 0 failures over the last 14 days. "
        "Re-checked on the latest default branch: the same policy document, and no repository manifest the "
        "engine flags at all.\n"
    )
