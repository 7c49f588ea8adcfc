"""Post-merge verification: Argo CD on loopback (the corpus's Application), real git for the merge commit,
the loopback OpenSearch for the alerts after deployment, the thread notes a person sees."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml
from pydantic import SecretStr

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.change import try_operations
from bot.clock import FixedClock
from bot.core.grouping import group_alerts
from bot.core.guard import GuardPolicy
from bot.pipeline import Scanner
from bot.state import StateStore
from bot.verification import Verifier
from bot.yaml_edit import repo_reader
from tests.argocd_fake import CORPUS, FakeArgoCd
from tests.conftest import FIXTURES, git, make_alert
from tests.test_indexer_scan import sqli
from tests.tools.opensearch_fake import FakeOpenSearch
from tools.argocd import ArgoCd
from tools.cmdb import load_inventory
from tools.git_repo import Author, GitRepo, Remote
from tools.sources.wazuh_indexer import IndexerConfig, IndexerReader

ATTACKER = "91.240.118.172"
MERGED_AT = 1_781_172_000.0  # 2026-06-11 10:00 UTC
DEPLOYED_AT = MERGED_AT + 52 * 60  # 10:52
APP = "web-01-prod"
TOKEN = "argocd-read-only-token"


class Notes:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []

    def thread_note(self, proposal_id: str, text: str) -> None:
        self.notes.append((proposal_id, text))

    def texts(self) -> list[str]:
        return [t for _, t in self.notes]


@pytest.fixture
def inventory(tmp_path):
    data = yaml.safe_load((FIXTURES / "cmdb.yaml").read_text())
    data["servers"][0]["argocd_app"] = APP  # web-01
    path = tmp_path / "cmdb.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_inventory(path)


@pytest.fixture
def world(tmp_path, gitops, inventory):
    """A scanned block proposal for ATTACKER on web-01, merged on the remote's main as a real merge commit."""
    clock = FixedClock(MERGED_AT)
    state = StateStore(tmp_path / "state.db")
    audit = AuditLog(tmp_path / "audit.jsonl", clock)
    scanner = Scanner(
        inventory=inventory, repo_root=gitops, catalog=load_catalog(), state=state, audit=audit, clock=clock
    )
    (group,) = group_alerts([make_alert(srcip=ATTACKER, agent="web-01")], min_level=0)
    proposal = scanner.finish(scanner.build(group))
    assert proposal.action == "propose"
    state.add_proposal(proposal, clock.now())
    merge = _merge(gitops, proposal, inventory)
    remote = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(gitops), str(remote), cwd=tmp_path)
    clone = GitRepo(tmp_path / "clone", Remote(str(remote), None), author=Author("bot", "bot@example.com"))
    with clone.locked():
        clone.fetch()
    return {
        "clock": clock,
        "state": state,
        "audit": audit,
        "scanner": scanner,
        "proposal": proposal,
        "merge": merge,
        "clone": clone,
        "gitops": gitops,
    }


def _merge(gitops: Path, proposal, inventory) -> str:
    """The proposal's change on a bot branch, merged with --no-ff into main, then one more commit on main."""
    tried = try_operations(
        list(proposal.operations), read_file=repo_reader(gitops), inventory=inventory,
        targets=proposal.group.targets, policy=GuardPolicy(), list_styles={},
    )  # fmt: skip
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    git("checkout", "-q", "-b", "secops/fix", cwd=gitops)
    for change in tried.changed:
        (gitops / change.path).write_text(change.after)
    git(*ident, "commit", "-qam", "block", cwd=gitops)
    git("checkout", "-q", "main", cwd=gitops)
    git(*ident, "merge", "-q", "--no-ff", "-m", "Merge pull request #7", "secops/fix", cwd=gitops)
    merge = git("rev-parse", "HEAD", cwd=gitops).strip()
    (gitops / "README.md").write_text("later\n")
    git(*ident, "add", "README.md", cwd=gitops)
    git(*ident, "commit", "-qm", "a later commit", cwd=gitops)
    return merge


def head(gitops: Path) -> str:
    return git("rev-parse", "HEAD", cwd=gitops).strip()


def verifier(world, argocd: FakeArgoCd, notes: Notes, inventory, counter=None) -> Verifier:
    return Verifier(
        state=world["state"],
        audit=world["audit"],
        clock=world["clock"],
        inventory=inventory,
        apps=ArgoCd(argocd.url, SecretStr(TOKEN), timeout=5),
        contains=world["clone"].contains,
        count_alerts=counter,
        notifier=notes,
    )


def opensearch_counter(server: FakeOpenSearch):
    return IndexerReader(IndexerConfig(url=server.url)).count


def test_deployed_then_quiet_says_so_in_the_thread(world, inventory):
    notes = Notes()
    with FakeArgoCd(TOKEN) as argocd, FakeOpenSearch() as indexer:
        indexer.add(
            "wazuh-alerts-4.x-1", [("before", sqli(1, MERGED_AT - 60, ATTACKER))]
        )  # before deployment
        argocd.set_app(
            APP, revision=head(world["gitops"]), deployed_at=DEPLOYED_AT
        )  # a descendant of the merge
        v = verifier(world, argocd, notes, inventory, opensearch_counter(indexer))
        v.start(world["proposal"].id, world["merge"])
        world["clock"].t = DEPLOYED_AT + 60
        v.run()
        world["clock"].t = DEPLOYED_AT + 31 * 60
        v.run()
    assert notes.texts() == [
        "Deployed 10:52 · watching alerts from 91.240.118.172 for 30 min.",
        "Deployed 10:52 · no alerts from 91.240.118.172 since (0 in 30 min).",
    ]
    assert world["state"].verification(world["proposal"].id).phase == "verified"


def test_still_firing_counts_the_alerts_and_escalates_the_next_repeat(world, inventory):
    notes = Notes()
    with FakeArgoCd(TOKEN) as argocd, FakeOpenSearch() as indexer:
        indexer.add(
            "wazuh-alerts-4.x-1", [(f"d{i}", sqli(i, DEPLOYED_AT + 60 * i, ATTACKER)) for i in range(14)]
        )
        argocd.set_app(APP, revision=world["merge"], deployed_at=DEPLOYED_AT)
        v = verifier(world, argocd, notes, inventory, opensearch_counter(indexer))
        v.start(world["proposal"].id, world["merge"])
        v.run()
        world["clock"].t = DEPLOYED_AT + 30 * 60
        v.run()
    assert notes.texts()[-1] == (
        "Still firing: 14 alert(s) since deployment (in 30 min). This fix no longer suppresses new proposals "
        "for this attacker; the next ones are escalated."
    )
    scanner = world["scanner"]
    repeat = group_alerts(
        [make_alert(srcip=ATTACKER, agent="web-01", ts=DEPLOYED_AT + 3600, alert_id="9")], min_level=0
    )[0]
    first = scanner.finish(scanner.build(repeat))
    again = scanner.finish(scanner.build(repeat))
    assert first.action == "escalate" and first.reason.startswith(
        f"Still firing: the block of 91.240.118.172 merged in {world['proposal'].id} is deployed, yet 14 alert(s)"
    )
    assert again.action == "suppressed" and again.reason == f"Still firing; already escalated in {first.id}."


def test_not_deployed_after_the_deadline(world, inventory):
    notes = Notes()
    with FakeArgoCd(TOKEN) as argocd:
        before = git("rev-parse", "HEAD~2", cwd=world["gitops"]).strip()  # main before the merge
        argocd.set_app(APP, revision=before, sync="OutOfSync")
        v = verifier(world, argocd, notes, inventory)
        v.start(world["proposal"].id, world["merge"])
        v.run()
        world["clock"].t = MERGED_AT + 31 * 60
        v.run()
    assert notes.texts() == [
        f"Not deployed after 30 min. Argo CD application web-01-prod: OutOfSync, Healthy, revision {before[:12]}."
    ]
    assert world["state"].verification(world["proposal"].id).phase == "not_deployed"


def test_revision_without_the_merge_commit_is_not_deployed(world, inventory):
    with FakeArgoCd(TOKEN) as argocd:
        other = git("rev-parse", "secops/fix~1", cwd=world["gitops"]).strip()  # main before the fix
        argocd.set_app(APP, revision=other)
        v = verifier(world, argocd, Notes(), inventory)
        v.start(world["proposal"].id, world["merge"])
        v.run()
    assert world["state"].verification(world["proposal"].id).phase == "deploying"


def test_progressing_app_is_not_deployed_yet(world, inventory):
    with FakeArgoCd(TOKEN) as argocd:
        argocd.set_app(APP, revision=world["merge"], health="Progressing")
        v = verifier(world, argocd, Notes(), inventory)
        v.start(world["proposal"].id, world["merge"])
        v.run()
    assert world["state"].verification(world["proposal"].id).phase == "deploying"


def test_the_bot_only_reads_from_argocd(world, inventory):
    with FakeArgoCd(TOKEN) as argocd, FakeOpenSearch() as indexer:
        indexer.add("wazuh-alerts-4.x-1", [("x", sqli(1, DEPLOYED_AT + 5, ATTACKER))])
        argocd.set_app(APP, revision=world["merge"], deployed_at=DEPLOYED_AT)
        v = verifier(world, argocd, Notes(), inventory, opensearch_counter(indexer))
        v.start(world["proposal"].id, world["merge"])
        for minutes in (0, 10, 40, 80):
            world["clock"].t = DEPLOYED_AT + minutes * 60
            v.run()
    assert argocd.requests and argocd.writes() == []
    assert all(r.path == f"/api/v1/applications/{APP}" for r in argocd.requests)
    assert not any(
        w in r.path for r in argocd.requests for w in ("sync", "rollback", "resource", "operation")
    )


def test_wrong_token_is_recorded_and_retried(world, inventory):
    notes = Notes()
    with FakeArgoCd("another-token") as argocd:
        argocd.set_app(APP, revision=world["merge"], deployed_at=DEPLOYED_AT)
        v = verifier(world, argocd, notes, inventory)
        v.start(world["proposal"].id, world["merge"])
        v.run()
    errors = [json.loads(line) for line in (world["audit"].path).read_text().splitlines()]
    errors = [r for r in errors if r["event"] == "verification_error"]
    assert "reading application web-01-prod was refused (401)" in errors[0]["error"]
    assert TOKEN not in json.dumps(errors) and notes.notes == []


def test_fix_without_an_argocd_app_says_deployment_is_not_followed(world, tmp_path):
    notes = Notes()
    plain = load_inventory(FIXTURES / "cmdb.yaml")
    with FakeArgoCd(TOKEN) as argocd:
        v = verifier(world, argocd, notes, plain)
        v.start(world["proposal"].id, world["merge"])
    assert notes.texts() == [
        "No Argo CD application in the inventory for web-01 (argocd_app): deployment not followed."
    ]


def test_fake_answers_are_argocd_applications_by_the_swagger():
    extract = json.loads((CORPUS / "swagger-application-extract.json").read_text())
    schema = {"$ref": "#/definitions/v1alpha1Application", "definitions": extract["definitions"]}
    with FakeArgoCd(TOKEN) as argocd:
        argocd.set_app(APP, revision="a" * 40, deployed_at=DEPLOYED_AT)
        body = requests.get(
            f"{argocd.url}/api/v1/applications/{APP}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        ).json()
    jsonschema.Draft4Validator(schema).validate(copy.deepcopy(body))
