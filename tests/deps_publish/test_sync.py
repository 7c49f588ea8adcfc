"""An application repository's bot pull request after it is opened: merged and closed are learned (thread note,
state, audit), and the memory of them judges later reports. Real git, PyGithub against the loopback GitHub."""

from __future__ import annotations

import pytest

from tests.deps_publish.conftest import (
    DepWorld,
    Notes,
    app_remote,
    app_sync,
    human_commit,
    jinja,
    merge_on_main,
    published,
    sync_pass,
)

pytestmark = pytest.mark.integration

DAY = 86400.0


@pytest.fixture
def world(tmp_path, osv, gh):
    work, bare = app_remote(tmp_path)
    return DepWorld(tmp_path, work, bare, osv, gh)


def still_affected(fixed: str):
    """A later report whose scanner says PYSEC-2019-217 still affects the installed version and is fixed in
    ``fixed`` (a stale or wider record than the loopback OSV service's)."""

    def edit(report):
        for dep in report["dependencies"]:
            if dep["name"].lower() == "jinja2":
                dep["vulns"] = [
                    {"id": "PYSEC-2019-217", "fix_versions": [fixed], "aliases": ["CVE-2019-10906"],
                     "description": "sandbox escape"}
                ]  # fmt: skip

    return edit


def test_merged_app_pull_request_is_recorded_and_the_thread_says_so(world, gh):
    p, result = published(world)
    gh.merge(result.pr_number, "alice")
    notes = Notes()
    report = sync_pass(app_sync(world, notes))
    assert (report.checked, report.merged) == (1, 1)
    assert notes.notes == [
        (p.id, "Merged by alice: Jinja2 2.10 → 2.10.1 in billing; later reports of this advisory at 2.10.1 or "
               f"above are covered. {result.pr_url}")
    ]  # fmt: skip
    assert world.state.get(p.id).status == "merged"
    assert world.state.outcome(p.id) | {"at": 0} == {
        "fix_id": p.id, "outcome": "merged", "pr_url": result.pr_url, "reason": "", "by": "alice", "at": 0,
    }  # fmt: skip
    (merged,) = [e for e in world.audit_events() if e["event"] == "pr_merged"]
    assert (merged["app_repo"], merged["package"], merged["to"], merged["by"]) == (
        "billing",
        "Jinja2",
        "2.10.1",
        "alice",
    )
    assert sync_pass(app_sync(world, notes)).checked == 0  # no longer watched


def test_closed_app_pull_request_is_learned_as_a_rejection(world, gh):
    p, result = published(world)
    gh.close_by(result.pr_number, "bob", "We pin Jinja2 until the Q1 template rewrite.")
    notes = Notes()
    assert sync_pass(app_sync(world, notes)).rejected == 1
    assert notes.notes == [
        (p.id, 'Pull request closed without merge by bob: "We pin Jinja2 until the Q1 template rewrite.". '
               "Recorded as rejected: the bump of Jinja2 to 2.10.1 in billing is not proposed again for 30 days. "
               f"{result.pr_url}")
    ]  # fmt: skip
    assert world.state.get(p.id).status == "rejected"
    assert world.state.outcome(p.id)["by"] == "bob"
    assert [e["event"] for e in world.audit_events()].count("pr_closed") == 1


def test_open_pull_request_with_unchanged_files_is_left_alone(world, gh):
    published(world)
    writes = len(gh.writes())
    report = sync_pass(app_sync(world, Notes()))
    assert (report.checked, report.rebased, report.closed, report.errors) == (1, 0, 0, [])
    assert len(gh.writes()) == writes


def test_later_report_of_the_advisory_at_the_merged_version_is_covered(world, gh):
    p, result = published(world)
    merge_on_main(world, result.branch)
    gh.merge(result.pr_number, "alice")
    sync_pass(app_sync(world, Notes()))
    later = jinja(world, still_affected("2.10.3"), report="later.json")
    assert later.id != p.id  # another installed version: a group of its own
    assert later.action == "suppressed"
    assert later.reason == (
        f"covered by the merged bump of Jinja2 to 2.10.1 in billing ({result.pr_url}): later reports of its "
        "advisories at 2.10.1 or above are not proposed again."
    )


def test_new_advisory_after_a_merged_bump_is_proposed(world, gh):
    _, result = published(world)
    merge_on_main(world, result.branch)
    gh.merge(result.pr_number, "alice")
    sync_pass(app_sync(world, Notes()))

    def new_advisory(report):
        for dep in report["dependencies"]:
            if dep["name"].lower() == "jinja2":
                dep["vulns"] = [
                    {"id": "PYSEC-2020-99", "fix_versions": ["2.11.3"], "aliases": [], "description": "x"}
                ]

    later = jinja(world, new_advisory, report="later.json")
    assert later.action == "propose", later.reason
    assert (later.operations[0]["from"], later.operations[0]["to"]) == ("2.10.1", "2.11.3")


def _rejected_then_moved(world, gh, days: float):
    """The bump is closed unmerged; a developer then moves the pin to 2.10.0.1 (still affected) and, ``days``
    later, a new report proposes the same bump (to 2.10.1) from there."""
    _, result = published(world)
    gh.close_by(result.pr_number, "bob", "Not now.")
    sync_pass(app_sync(world, Notes()))
    text = (world.work / "requirements.txt").read_text().replace("Jinja2==2.10 ", "Jinja2==2.10.0.1 ")
    human_commit(world.work, "requirements.txt", text)
    world.clock.advance(days * DAY)
    return result, jinja(world, still_affected("2.10.1"), report="later.json")


def test_same_bump_within_the_reject_period_is_not_proposed_again(world, gh):
    result, later = _rejected_then_moved(world, gh, 10)
    assert (later.operations[0]["from"], later.operations[0]["to"]) == ("2.10.0.1", "2.10.1")
    assert later.action == "suppressed"
    assert later.reason == (
        'the bump of Jinja2 to 2.10.1 in billing was rejected by bob ("Not now."); not proposed again within '
        f"the reject period (30 days). {result.pr_url}"
    )


def test_same_bump_after_the_reject_period_is_proposed_again(world, gh):
    _, later = _rejected_then_moved(world, gh, 31)
    assert later.action == "propose", later.reason
    assert (later.operations[0]["from"], later.operations[0]["to"]) == ("2.10.0.1", "2.10.1")


def test_cli_sync_learns_the_app_pull_request_merge(world, gh):
    import io

    import yaml

    from bot.cli import main
    from tests.conftest import FIXTURES
    from tests.deps_publish.conftest import TOKEN
    from tests.publish_fixtures import bare_remote

    p, result = published(world)
    gh.merge(result.pr_number, "alice")
    inventory = yaml.safe_load((FIXTURES / "cmdb.yaml").read_text())
    inventory["app_repos"] = [
        world.inventory().app_repo("billing").model_dump(mode="json", exclude_none=True)
    ]
    cmdb = world.tmp / "inventory.yaml"
    cmdb.write_text(yaml.safe_dump(inventory))
    env = {
        "GITHUB_REPOSITORY": "acme/gitops", "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": gh.url,
        "SECOPS_GIT_REMOTE_URL": str(bare_remote(world.tmp / "gitops")),
    }  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--data-dir", str(world.tmp / "data"), "sync", "--cmdb", str(cmdb)],
        out=out, err=err, env=env, clock=world.clock,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    assert "Checked 1 open bot pull request(s): 1 merged, 0 closed without merge" in out.getvalue()
    assert "Merged by alice: Jinja2 2.10 → 2.10.1 in billing" in out.getvalue()
    assert world.state.get(p.id).status == "merged"


def _trivy_fs(world: DepWorld, name: str, created: str):
    """A ``trivy fs`` report of the application (dated: each day's report is a group of its own)."""
    import json

    doc = {
        "SchemaVersion": 2, "CreatedAt": created, "ArtifactName": ".", "ArtifactType": "filesystem",
        "Results": [{"Target": "requirements.txt", "Class": "lang-pkgs", "Type": "pip", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-2019-10906", "PkgName": "Jinja2", "InstalledVersion": "2.10",
             "FixedVersion": "2.10.1", "Severity": "HIGH", "Title": "Jinja2: str.format_map sandbox escape"},
        ]}],
    }  # fmt: skip
    path = world.tmp / name
    path.write_text(json.dumps(doc))
    return world.proposals(path)["Jinja2"]


def test_next_days_report_of_a_pending_bump_is_not_a_second_card(world):
    first = _trivy_fs(world, "monday.json", "2026-11-30T06:00:00Z")
    second = _trivy_fs(world, "tuesday.json", "2026-12-01T06:00:00Z")
    assert first.action == "propose" and second.id != first.id
    assert (second.action, second.reason) == (
        "suppressed",
        f"the same bump is already proposal {first.id} (pending): decide that one.",
    )
