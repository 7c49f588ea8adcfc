"""Dependency publishing without git: settings, the card's words, the evidence rule, routing, exact texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import messages
from bot.core.errors import ConfigError
from bot.dependency_publish import recorded_tests
from bot.dependency_serve import dependency_reports
from bot.dependency_wiring import RoutingPublisher
from bot.publishing import PublishResult
from bot.settings import load_settings
from bot.slack.blocks import dependency_action_words
from tests.dependency_fixtures import inventory_with, py_app, scanner


def test_deps_reports_setting_reads_report_app_pairs():
    s = load_settings({"SECOPS_DEPS_REPORTS": "a.json=billing, /r/b.json=orders-web"})
    assert s.deps_reports == ((Path("a.json"), "billing"), (Path("/r/b.json"), "orders-web"))


def test_deps_reports_setting_without_app_names_the_variable():
    with pytest.raises(ConfigError) as err:
        load_settings({"SECOPS_DEPS_REPORTS": "a.json"})
    assert "SECOPS_DEPS_REPORTS" in str(err.value) and "is not REPORT=APP" in str(err.value)


def test_serve_refuses_a_report_of_an_unknown_app_repo(tmp_path):
    (tmp_path / "cmdb.yaml").write_text("servers: []\n")
    s = load_settings({"SECOPS_DEPS_REPORTS": "a.json=shop-api", "SECOPS_CMDB": str(tmp_path / "cmdb.yaml")})
    with pytest.raises(ConfigError) as err:
        dependency_reports(s, scanner(inventory_with(py_app(tmp_path)), tmp_path))
    assert str(err.value) == (
        "SECOPS_DEPS_REPORTS: shop-api not an application repository of the inventory (app_repos:); give each "
        "report as REPORT=APP with an app_repos name"
    )


def test_card_action_lists_three_advisories_then_counts():
    op = {
        "op": "bump_dependency", "app_repo": "shop-api", "package": "urllib3", "from": "1.26.5", "to": "1.26.18",
        "advisories": ["GHSA-v845-jxx5-vc9f", "GHSA-g4mx-q9vg-27p4", "PYSEC-2023-192", "CVE-2023-45803"],
    }  # fmt: skip
    assert dependency_action_words(op) == (
        "Bump urllib3 1.26.5 → 1.26.18 in shop-api (fixes GHSA-v845-jxx5-vc9f, GHSA-g4mx-q9vg-27p4, "
        "PYSEC-2023-192 and 1 more)"
    )


def test_evidence_without_a_regression_flag_counts_as_regressed():
    old = recorded_tests({"tests": "tests: 4 passed before, 4 passed after", "tests_after": "4 passed"})
    assert old is not None and old.regressed


def test_evidence_of_tests_that_did_not_run_is_no_comparison():
    assert recorded_tests({"tests": "tests: not run", "tests_after": ""}) is None


class _Recording:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def publish(self, proposal, approval):
        self.seen.append(proposal.id)
        return PublishResult(ok=True, branch="secops/x")


class _Proposal:
    def __init__(self, pid: str, op: str) -> None:
        self.id = pid
        self.operations = ({"op": op},)


def test_router_sends_bumps_to_the_app_repository_and_the_rest_to_gitops():
    gitops, deps = _Recording(), _Recording()
    router = RoutingPublisher(gitops, deps)  # type: ignore[arg-type]
    router.publish(_Proposal("p-block", "add_cidr"), None)  # type: ignore[arg-type]
    router.publish(_Proposal("p-bump", "bump_dependency"), None)  # type: ignore[arg-type]
    assert (gitops.seen, deps.seen) == (["p-block"], ["p-bump"])


def test_router_without_gitops_publisher_says_so():
    result = RoutingPublisher(None, _Recording()).publish(_Proposal("p-block", "add_cidr"), None)  # type: ignore[arg-type]
    assert (result.ok, result.message) == (False, messages.dep_publish_no_gitops())
    assert result.message == (
        "no GitOps publisher is configured (SECOPS_GIT_REMOTE_URL or SECOPS_REPO); nothing was pushed"
    )


def test_exact_texts_of_dependency_publishing():
    assert messages.pr_title_dependency("Jinja2", "2.10", "2.10.1", "billing", "p-1", 2) == (
        "secops: bump Jinja2 2.10 → 2.10.1 in billing (p-1 r2)"
    )
    assert messages.pr_dependency_tests("tests: 4 passed before, 4 passed after", "a" * 40, "b" * 40) == (
        "**Tests:** tests: 4 passed before, 4 passed after (run on `aaaaaaaaaaaa`; the default branch is now at "
        "`bbbbbbbbbbbb`)"
    )
    assert messages.dep_publish_moved("Jinja2", "2.10", "2.10.0.1", "billing") == (
        "the default branch of billing now resolves Jinja2 to 2.10.0.1, not 2.10: the approved bump no longer "
        "applies; refresh the proposal"
    )
    assert messages.card_finding_count(2, "dependency") == "2 advisories"
