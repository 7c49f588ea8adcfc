"""Keeping an application repository's bot pull request fresh: the bump made again by the tool on a moved default
branch (force-pushed with a lease, the description rewritten), closed as obsolete when someone bumped the package,
a branch someone else pushed to left alone. Real git with a bare remote, PyGithub against the loopback GitHub."""

from __future__ import annotations

import pytest

from tests.conftest import git
from tests.deps_publish.conftest import (
    DepWorld,
    Notes,
    app_remote,
    app_sync,
    changed_lines,
    human_commit,
    published,
    sync_pass,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path, osv, gh):
    work, bare = app_remote(tmp_path)
    return DepWorld(tmp_path, work, bare, osv, gh)


def _requirements(world: DepWorld, old: str, new: str) -> str:
    text = (world.work / "requirements.txt").read_text()
    assert old in text
    return human_commit(world.work, "requirements.txt", text.replace(old, new))


def test_changed_package_line_on_main_remakes_the_bump_on_the_new_base(world, gh):
    p, result = published(world)
    head = _requirements(
        world, "Jinja2==2.10  # invoice templates", "Jinja2==2.10  # invoice and email templates"
    )
    notes = Notes()
    report = sync_pass(app_sync(world, notes))
    assert (report.rebased, report.errors) == (1, [])
    tip = git("rev-parse", result.branch, cwd=world.bare).strip()
    assert git("rev-parse", f"{result.branch}^", cwd=world.bare).strip() == head
    assert changed_lines(world.bare, "main", result.branch) == [
        "-Jinja2==2.10  # invoice and email templates",
        "+Jinja2==2.10.1  # invoice and email templates",
    ]
    assert git("log", "-1", "--format=%ae", result.branch, cwd=world.bare).strip() == "secops-bot@example.com"
    assert world.state.get_publication(p.id, p.revision).commit == tip
    ((_pid, note),) = notes.notes
    assert note.startswith(
        f"main changed the files of this bump, so the bot made it again with pinned on main at {head[:12]}"
    )
    assert note.endswith(f"this pull request's own checks test the new commit. {result.pr_url}")
    assert gh.repo.comments[1][-1]["body"].startswith("main changed the files of this bump")


def test_remade_description_says_where_the_tests_ran(world, gh):
    p, result = published(world)
    ran_on = p.operations[0]["evidence"]["base"]
    head = _requirements(world, "Jinja2==2.10  # invoice templates", "Jinja2==2.10  # templates")
    sync_pass(app_sync(world, Notes()))
    body = gh.repo.pulls[1]["body"]
    assert (
        f"**Tests:** tests: 4 passed before, 4 passed after (run by the bot on `{ran_on[:12]}` with the bump made "
        f"there; this branch was made again on `{head[:12]}` and the bot did not run them on it: this pull "
        "request's own checks test this commit)"
    ) in body
    assert "+Jinja2==2.10.1  # templates" in body  # the new diff
    message = git("log", "-1", "--format=%B", result.branch, cwd=world.bare)
    assert (
        f"tests: 4 passed before, 4 passed after (run on {ran_on[:12]} before this commit was made again"
        in message
    )


def test_moved_main_that_left_the_files_alone_is_not_remade(world, gh):
    _, result = published(world)
    before = git("rev-parse", result.branch, cwd=world.bare).strip()
    human_commit(
        world.work, "billing/__init__.py", (world.work / "billing/__init__.py").read_text() + "\n# refactor\n"
    )
    writes = len(gh.writes())
    report = sync_pass(app_sync(world, Notes()))
    assert (report.checked, report.rebased, report.closed) == (1, 0, 0)
    assert git("rev-parse", result.branch, cwd=world.bare).strip() == before
    assert len(gh.writes()) == writes


def test_package_someone_bumped_closes_the_pull_request_as_obsolete(world, gh):
    p, result = published(world)
    _requirements(world, "Jinja2==2.10 ", "Jinja2==2.11.3 ")
    notes = Notes()
    assert sync_pass(app_sync(world, notes)).closed == 1
    why = (
        "Closing: the default branch main of billing already resolves Jinja2 to 2.11.3 (someone bumped it "
        "meanwhile). The bot closes only its own pull requests."
    )
    assert gh.repo.pulls[1]["state"] == "closed"
    assert gh.repo.comments[1][-1]["body"].startswith(why)
    assert notes.notes == [(p.id, f"{why} {result.pr_url}")]
    assert world.state.get(p.id).status == "obsolete"
    assert sync_pass(app_sync(world, notes)).checked == 0


def test_branch_someone_else_pushed_to_is_left_alone_and_said_once(world, gh):
    p, result = published(world)
    git("fetch", "-q", "origin", result.branch, cwd=world.work)
    git("checkout", "-q", "-b", "fixup", "FETCH_HEAD", cwd=world.work)
    (world.work / "billing/__init__.py").write_text(
        (world.work / "billing/__init__.py").read_text() + "\n# works with 2.10.1\n"
    )
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qam", "adapt", cwd=world.work)
    git("push", "-q", "origin", f"HEAD:{result.branch}", cwd=world.work)
    theirs = git("rev-parse", "HEAD", cwd=world.work).strip()
    git("checkout", "-q", "main", cwd=world.work)
    _requirements(world, "# invoice templates", "# templates")
    notes = Notes()
    writes = len(gh.writes())
    sync_pass(app_sync(world, notes))
    sync_pass(app_sync(world, notes))
    assert git("rev-parse", result.branch, cwd=world.bare).strip() == theirs
    assert notes.notes == [
        (p.id, f"Someone else pushed to {result.branch}: the bot will not make the bump again there nor "
               f"force-push over their commits. Update it by hand or close the pull request. {result.pr_url}")
    ]  # fmt: skip
    assert len(gh.writes()) == writes and gh.repo.pulls[1]["state"] == "open"
