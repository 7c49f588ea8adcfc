"""Post-merge verification of an image bump: its findings must be gone from the next Trivy report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from pydantic import SecretStr

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.pipeline import Scanner
from bot.state import StateStore
from bot.verification import Verifier, findings_in_reports
from tests.argocd_fake import FakeArgoCd
from tests.conftest import FIXTURES, git
from tests.test_verification import Notes
from tools.argocd import ArgoCd
from tools.cmdb import load_inventory
from tools.git_repo import Author, GitRepo, Remote

TRIVY = FIXTURES / "trivy"
KIND = TRIVY / "trivy-k8s-cluster-report-kind.json"
CANDIDATE = TRIVY / "candidates" / "coredns-v1.11.1.json"
T0 = 1_795_000_000.0
TOKEN = "argocd-read-only-token"


def _without(node, cve: str):
    """The report with every vulnerability ``cve`` removed (what a scan after the bump shows)."""
    if isinstance(node, dict):
        return {k: _without(v, cve) for k, v in node.items()}
    if isinstance(node, list):
        return [
            _without(v, cve) for v in node if not (isinstance(v, dict) and v.get("VulnerabilityID") == cve)
        ]
    return node


def _setup(tmp_path: Path, gitops: Path):
    data = yaml.safe_load((FIXTURES / "cmdb.yaml").read_text())
    for w in data["workloads"]:
        if w["name"] == "coredns":
            w["argocd_app"] = "coredns"
    (tmp_path / "cmdb.yaml").write_text(yaml.safe_dump(data))
    inventory = load_inventory(tmp_path / "cmdb.yaml")
    clock = FixedClock(T0)
    state, audit = StateStore(tmp_path / "state.db"), AuditLog(tmp_path / "audit.jsonl", clock)
    scanner = Scanner(
        inventory=inventory, repo_root=gitops, catalog=load_catalog(), state=state, audit=audit, clock=clock
    )
    report = scanner.scan_reports([KIND, CANDIDATE])
    (bump,) = [
        p
        for p in report.proposals
        if p.group.subject.startswith("registry.k8s.io/coredns") and p.action == "propose"
    ]
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    git("checkout", "-q", "-b", "secops/bump", cwd=gitops)
    (gitops / "apps/coredns/values.yaml").write_text(
        (gitops / "apps/coredns/values.yaml").read_text().replace("v1.10.1", "v1.11.1")
    )
    git(*ident, "commit", "-qam", "bump", cwd=gitops)
    git("checkout", "-q", "main", cwd=gitops)
    git(*ident, "merge", "-q", "--no-ff", "-m", "Merge #9", "secops/bump", cwd=gitops)
    merge = git("rev-parse", "HEAD", cwd=gitops).strip()
    remote = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(gitops), str(remote), cwd=tmp_path)
    clone = GitRepo(tmp_path / "clone", Remote(str(remote), None), author=Author("bot", "b@example.com"))
    with clone.locked():
        clone.fetch()
    return inventory, clock, state, audit, bump, merge, clone


def _verify(tmp_path, gitops, next_report: dict) -> list[str]:
    inventory, clock, state, audit, bump, merge, clone = _setup(tmp_path, gitops)
    path = tmp_path / "next-report.json"
    path.write_text(json.dumps(next_report))
    os.utime(path, (T0 + 3600, T0 + 3600))  # written an hour after the deployment
    notes = Notes()
    with FakeArgoCd(TOKEN) as argocd:
        argocd.set_app("coredns", revision=merge, deployed_at=T0 + 60)
        v = Verifier(
            state=state, audit=audit, clock=clock, inventory=inventory,
            apps=ArgoCd(argocd.url, SecretStr(TOKEN), timeout=5), contains=clone.contains,
            count_alerts=None, notifier=notes, findings=findings_in_reports([path]),
        )  # fmt: skip
        v.start(bump.id, merge)
        clock.t = T0 + 120
        v.run()
        clock.t = T0 + 7200
        v.run()
    assert argocd.writes() == []
    return notes.texts()


def test_image_bump_whose_cve_is_gone_from_the_next_report_is_verified(tmp_path, gitops):
    texts = _verify(tmp_path, gitops, _without(json.loads(KIND.read_text()), "CVE-2022-1996"))
    assert texts[0].startswith("Deployed ") and "waiting for the next scanner report" in texts[0]
    assert texts[1].endswith("the next report no longer has its 1 finding(s).")


def test_image_bump_whose_cve_is_still_reported_says_so(tmp_path, gitops):
    texts = _verify(tmp_path, gitops, json.loads(KIND.read_text()))
    assert (
        texts[-1]
        == "Still there after deployment: the next report still has CVE-2022-1996:github.com/emicklei/go-restful."
    )
