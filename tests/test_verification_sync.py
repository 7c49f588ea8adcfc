"""Sync starts post-merge verification with GitHub's merge commit, and each pass moves it on."""

from __future__ import annotations

import pytest
import yaml
from pydantic import SecretStr

from bot.verification import Verifier
from tests.argocd_fake import FakeArgoCd
from tests.conftest import FIXTURES
from tests.publish_fixtures import merge_branch
from tests.test_sync import RecordingNotifier, publish, syncer
from tools.argocd import ArgoCd
from tools.cmdb import load_inventory

pytestmark = pytest.mark.integration
TOKEN = "argocd-read-only-token"


def test_merge_is_followed_to_deployment_in_the_thread(world, gh, tmp_path):
    data = yaml.safe_load((FIXTURES / "cmdb.yaml").read_text())
    data["servers"][0]["argocd_app"] = "web-01-prod"
    (tmp_path / "cmdb-argocd.yaml").write_text(yaml.safe_dump(data))
    p, result = publish(world, gh)
    merge = merge_branch(tmp_path, result.branch)
    gh.merge(result.pr_number, "alice", commit=merge)
    notes = RecordingNotifier()
    with FakeArgoCd(TOKEN) as argocd:
        argocd.set_app("web-01-prod", revision=merge, deployed_at=world.clock.now() + 120)
        s = syncer(world, gh, notes)
        s.verifier = Verifier(
            state=world.state, audit=world.audit, clock=world.clock,
            inventory=load_inventory(tmp_path / "cmdb-argocd.yaml"),
            apps=ArgoCd(argocd.url, SecretStr(TOKEN), timeout=5),
            contains=world.repo().contains, count_alerts=None, notifier=notes,
        )  # fmt: skip
        first = s.sync()  # records the merge, starts following it, finds it deployed
        second = s.sync()
    assert (first.merged, first.verified, second.checked, second.verified) == (1, 1, 0, 0)
    assert world.state.verification(p.id).merge_commit == merge
    assert [t for _, t in notes.notes][-1].startswith("Deployed ")
    assert argocd.writes() == []
