"""Exact texts of the app pull request sync (bot/messages.py, section "dependency pull requests after they are
opened"), and the webhook's routing of an application repository's delivery, without git."""

from __future__ import annotations

import json

from bot import messages
from bot.webhook import handle_github_webhook, signature_of

SECRET = "whsec-texts"


def test_merged_note_names_the_bump_and_what_it_covers():
    assert messages.dep_pr_merged(
        "alice", "urllib3", "1.26.5", "1.26.18", "shop-api", 2, "https://gh/pr/7"
    ) == (
        "Merged by alice: urllib3 1.26.5 → 1.26.18 in shop-api; later reports of these advisories at 1.26.18 or "
        "above are covered. https://gh/pr/7"
    )


def test_rejected_note_without_comment_says_so():
    assert messages.dep_pr_rejected("bob", "", "lodash", "4.17.21", "orders-web", 30, "https://gh/pr/2") == (
        "Pull request closed without merge by bob (no comment). Recorded as rejected: the bump of lodash to "
        "4.17.21 in orders-web is not proposed again for 30 days. https://gh/pr/2"
    )


def test_remade_note_without_a_recorded_base_names_none():
    assert messages.dep_pr_remade("main", "a" * 40, "npm", "") == (
        "main changed the files of this bump, so the bot made it again with npm on main at aaaaaaaaaaaa and "
        "force-pushed its own branch; the guard passed again. The bot did not run the tests again: this pull "
        "request's own checks test the new commit."
    )


def test_covered_and_rejected_suppressions_without_links():
    assert messages.dep_covered_by_merge("Jinja2", "2.10.1", "billing", "") == (
        "covered by the merged bump of Jinja2 to 2.10.1 in billing: later reports of its advisories at 2.10.1 "
        "or above are not proposed again."
    )
    assert messages.dep_rejected_recently("Jinja2", "2.10.1", "billing", "bob", "", "", 30) == (
        "the bump of Jinja2 to 2.10.1 in billing was rejected by bob; not proposed again within the reject "
        "period (30 days)."
    )


def _delivery(payload: dict) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": signature_of(body, SECRET)}, body


def test_app_repository_delivery_goes_to_the_app_sync_whatever_its_case():
    gitops, apps = [], []
    headers, body = _delivery(
        {"action": "closed", "pull_request": {"number": 4}, "repository": {"full_name": "Acme/Billing"}}
    )
    status = handle_github_webhook(
        headers, body, SECRET, on_pull_request=gitops.append,
        on_app_pull_request=lambda repo, n: apps.append((repo, n)),
        is_app_repository=lambda repo: repo.lower() == "acme/billing",
    )  # fmt: skip
    assert status == (202, "pull request Acme/Billing#4 queued for sync")
    assert (gitops, apps) == ([], [("Acme/Billing", 4)])


def test_other_repository_delivery_stays_with_the_gitops_sync():
    gitops, apps = [], []
    headers, body = _delivery(
        {"action": "closed", "pull_request": {"number": 4}, "repository": {"full_name": "acme/gitops"}}
    )
    status = handle_github_webhook(
        headers, body, SECRET, on_pull_request=gitops.append,
        on_app_pull_request=lambda repo, n: apps.append((repo, n)),
        is_app_repository=lambda repo: repo.lower() == "acme/billing",
    )  # fmt: skip
    assert status == (202, "pull request #4 queued for sync")
    assert (gitops, apps) == ([4], [])
