"""An approved dependency bump published to its application repository: real git (a bare remote), the tool run
again on the latest default branch, the guard again, PyGithub against the loopback GitHub server."""

from __future__ import annotations

import pytest

from tests.conftest import git
from tests.deps_publish.conftest import (
    TOKEN,
    DepWorld,
    app_remote,
    approval,
    changed_lines,
    human_commit,
    pip_audit_report,
)

pytestmark = pytest.mark.integration

PIN_TEST = (
    "import unittest\n\n\nclass PinTest(unittest.TestCase):\n"
    "    def test_templates_need_jinja_2_10(self):\n"
    "        self.assertIn('Jinja2==2.10 ', open('requirements.txt').read())\n"
)


@pytest.fixture
def world(tmp_path, osv, gh):
    work, bare = app_remote(tmp_path)
    return DepWorld(tmp_path, work, bare, osv, gh)


def _jinja(world: DepWorld, edit=None, **app_fields):
    report = pip_audit_report(world.work, world.osv_url, world.tmp / "audit.json", edit)
    return world.proposals(report, **app_fields)["Jinja2"]


def test_approved_bump_pushes_only_the_requirements_line(world):
    p = _jinja(world)
    result = world.publisher().publish(p, approval(p))
    assert result.ok, result.message
    assert git("diff", "--name-only", "main", result.branch, cwd=world.bare).split() == ["requirements.txt"]
    assert changed_lines(world.bare, "main", result.branch) == [
        "-Jinja2==2.10  # invoice templates",
        "+Jinja2==2.10.1  # invoice templates",
    ]
    assert git("log", "-1", "--format=%ae %s", result.branch, cwd=world.bare).strip() == (
        f"secops-bot@example.com secops: bump Jinja2 2.10 → 2.10.1 in billing ({p.id} r1)"
    )


def test_pull_request_body_shows_advisories_versions_audit_and_tests(world, gh):
    p = _jinja(world)
    result = world.publisher().publish(p, approval(p))
    (pr,) = gh.repo.pulls.values()
    assert result.pr_url == f"{gh.url}/acme/billing/pull/1"
    assert pr["title"] == f"secops: bump Jinja2 2.10 → 2.10.1 in billing ({p.id} r1)"
    assert (pr["head_ref"], pr["base_ref"]) == (result.branch, "main")
    body = pr["body"]
    assert body.startswith("## Bump Jinja2 2.10 → 2.10.1 in billing\n")
    assert "| PYSEC-2019-217 |" in body
    assert "**Version:** `2.10` → `2.10.1`" in body
    assert "**Transitive changes:** none (only the named package moved)." in body
    assert "**Audit:** advisories: re-audited, gone" in body
    assert "**Tests:** tests: 4 passed before, 4 passed after (run on `" in body
    assert "-Jinja2==2.10  # invoice templates\n+Jinja2==2.10.1  # invoice templates" in body
    assert "- ✓ `only_listed_files`: requirements.txt" in body
    assert "**Approved by:** alice (UALICE)" in body
    assert sorted(pr["labels"]) == ["dependencies", "secops-bot", "severity:low"]
    assert TOKEN not in gh.all_text().replace(f"token {TOKEN}", "")


def test_publishing_twice_opens_one_pull_request(world, gh):
    p = _jinja(world)
    publisher = world.publisher()
    first = publisher.publish(p, approval(p))
    again = publisher.publish(p, approval(p))
    assert (first.ok, again.ok, again.reused) == (True, True, True)
    assert again.pr_url == first.pr_url
    assert len(gh.repo.pulls) == 1
    assert [r.path for r in gh.writes() if r.path.endswith("/pulls")] == ["/repos/acme/billing/pulls"]


def test_failed_pull_request_then_retry_gives_one_pull_request(world, gh):
    p = _jinja(world)
    gh.fail_next["POST /pulls"] = 502
    failed = world.publisher().publish(p, approval(p))
    assert not failed.ok
    assert "GitHub refused to open the pull request: HTTP 502" in failed.message
    retried = world.publisher().publish(p, approval(p))  # a fresh process: only the state and the remote
    assert retried.ok and len(gh.repo.pulls) == 1
    assert retried.branch == gh.repo.pulls[1]["head_ref"]


def test_lost_state_retry_finds_the_open_pull_request(world, gh, tmp_path):
    p = _jinja(world)
    first = world.publisher().publish(p, approval(p))
    with world.state.transaction() as db:
        db.execute("DELETE FROM publications")
    again = world.publisher().publish(p, approval(p))
    assert again.ok and again.reused and again.pr_url == first.pr_url
    assert len(gh.repo.pulls) == 1


def test_bump_is_made_again_on_the_moved_default_branch(world):
    p = _jinja(world)
    text = (world.work / "requirements.txt").read_text() + "# reviewed 2026-12\n"
    head = human_commit(world.work, "requirements.txt", text)
    result = world.publisher().publish(p, approval(p))
    assert result.ok, result.message
    assert git("rev-parse", f"{result.branch}^", cwd=world.bare).strip() == head
    assert changed_lines(world.bare, "main", result.branch) == [
        "-Jinja2==2.10  # invoice templates",
        "+Jinja2==2.10.1  # invoice templates",
    ]
    assert "# reviewed 2026-12" in git("show", f"{result.branch}:requirements.txt", cwd=world.bare)


def test_bump_someone_already_made_pushes_nothing(world, gh):
    p = _jinja(world)
    text = (world.work / "requirements.txt").read_text().replace("Jinja2==2.10 ", "Jinja2==2.11.3 ")
    human_commit(world.work, "requirements.txt", text)
    result = world.publisher().publish(p, approval(p))
    assert not result.ok
    assert result.message == (
        "the default branch main of billing already resolves Jinja2 to 2.11.3 (someone bumped it meanwhile)"
    )
    assert git("branch", "--list", "secops/*", cwd=world.bare).strip() == ""
    assert gh.repo.pulls == {}


def test_other_version_on_the_default_branch_is_refused(world):
    p = _jinja(world)
    text = (world.work / "requirements.txt").read_text().replace("Jinja2==2.10 ", "Jinja2==2.10.0.1 ")
    human_commit(world.work, "requirements.txt", text)
    result = world.publisher().publish(p, approval(p))
    assert not result.ok
    assert result.message.startswith(
        "the default branch of billing now resolves Jinja2 to 2.10.0.1, not 2.10"
    )


def test_newly_failing_tests_are_refused_at_publish(world, gh, tmp_path):
    work, bare = app_remote(tmp_path / "pins", extra={"tests/test_pins.py": PIN_TEST})
    world = DepWorld(tmp_path / "pins", work, bare, world.osv_url, gh)
    p = _jinja(world, approve_failing_tests=True)  # the card let it through: the inventory allowed it
    assert p.action == "propose"
    strict = world.publisher(world.inventory(approve_failing_tests=False))  # the inventory changed since
    result = strict.publish(p, approval(p))
    assert not result.ok
    assert result.message.startswith(
        "tests newly fail after this bump (tests: 5 passed before, 4 passed, 1 failed"
    )
    assert result.message.endswith(
        "billing does not allow approving that (approve_failing_tests: false in the inventory); nothing was pushed"
    )
    assert git("branch", "--list", "secops/*", cwd=bare).strip() == "" and gh.repo.pulls == {}


def test_allowed_failing_tests_are_named_in_the_pull_request(world, gh, tmp_path):
    work, bare = app_remote(tmp_path / "pins", extra={"tests/test_pins.py": PIN_TEST})
    world = DepWorld(tmp_path / "pins", work, bare, world.osv_url, gh)
    p = _jinja(world, approve_failing_tests=True)
    result = world.publisher(world.inventory(approve_failing_tests=True)).publish(p, approval(p))
    assert result.ok, result.message
    body = gh.repo.pulls[1]["body"]
    assert "**Newly failing tests:** test\\_templates\\_need\\_jinja\\_2\\_10 (test\\_pins.PinTest." in body
    assert "**⚠ tests newly fail after this bump (the inventory allows approving it anyway)**" in body


def test_hostile_advisory_text_is_inert_in_the_pull_request(world, gh):
    def hostile(report):
        for dep in report["dependencies"]:
            for v in dep.get("vulns", []):
                v["description"] = "@here ignore the guard ``` [click](https://evil.example) <b>x</b> | ok |"
                v["aliases"] = ["CVE-2019-10906", "@admins"]

    p = _jinja(world, hostile)
    assert world.publisher().publish(p, approval(p)).ok
    body = gh.repo.pulls[1]["body"]
    assert "@here" not in body and "@admins" not in body
    assert "](https://evil" not in body and "<b>" not in body
    assert "\\[click\\](https:\u200b//evil.example)" in body
    assert body.count("```") == 2  # the diff's own fence only


def test_every_publish_step_is_audited(world):
    p = _jinja(world)
    result = world.publisher().publish(p, approval(p))
    events = world.audit_events()
    steps = [e["step"] for e in events if e["event"] == "dep_publish_step"]
    assert steps == ["fetched", "tool", "reaudit", "guard", "pushed", "pull_request"]
    (published,) = [e for e in events if e["event"] == "publish"]
    assert (published["app_repo"], published["branch"], published["pr_url"]) == (
        "billing",
        result.branch,
        result.pr_url,
    )
    guard = next(e for e in events if e.get("step") == "guard")
    assert guard["passed"] is True and guard["failing"] == []


def test_wrong_revision_is_refused_before_any_git(world, gh):
    p = _jinja(world)
    stale = approval(p).model_copy(update={"revision_hash": "0" * 16})
    result = world.publisher().publish(p, stale)
    assert not result.ok and "approve the current revision" in result.message
    assert not (world.tmp / "data" / "deps" / "publish" / "billing").exists()


def test_without_github_repository_only_the_branch_is_pushed(tmp_path, osv):
    work, bare = app_remote(tmp_path)
    world = DepWorld(tmp_path, work, bare, osv, None)
    p = _jinja(world)
    result = world.publisher().publish(p, approval(p))
    assert result.ok and result.pr_url is None
    assert result.message == f"Branch {result.branch} pushed; open a pull request from it."
    assert git("branch", "--list", "secops/*", cwd=bare).split() == [result.branch]
