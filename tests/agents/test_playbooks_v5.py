"""The same playbooks on Wazuh 4.x and 5.x documents: rule groups and ids (4.x), tags and titles (5.x)."""

from __future__ import annotations

import copy
import json

from agents.playbooks import MatchAlternative, find_playbook, load_catalog
from bot.core.grouping import group_alerts
from tests.conftest import FIXTURES, ROOT, make_alert
from tools.sources.wazuh import alert_from_document

V5 = (
    ROOT / "fixtures" / "wazuh-corpus" / "v5" / "docs"
)  # copied from ../shared/corpus (see its PROVENANCE.md)
V4 = FIXTURES / "wazuh-corpus" / "docs"


def v5_sshd_finding() -> dict:
    """The sshd finding's ``wazuh`` block copied into the active-response document, as a finding: the
    attacker named in its title as ``source.ip``, an event time instead of the placeholder."""
    ar = json.loads((V5 / "doc-active-response-enable-doc-from-sshd-finding.json").read_text())
    wazuh = copy.deepcopy(ar["wazuh"])
    del wazuh["active_response"]
    return {
        "@timestamp": "2026-06-11T20:13:28.889Z",
        "wazuh": wazuh,
        "source": {"ip": "192.168.56.1"},
        "_id": "f1",
    }


def playbook_of(*docs: dict) -> str | None:
    alerts = [alert_from_document(d, i) for i, d in enumerate(docs, 1)]
    assert all(not isinstance(a, str) for a in alerts), alerts
    (group,) = group_alerts(alerts, min_level=0)
    pb = find_playbook(load_catalog(), group)
    return pb.name if pb else None


def test_5x_apache_finding_matches_the_web_playbook_by_its_tag():
    hit = json.loads((V5 / "doc-finding-apache-error-system-activity-search-hit.json").read_text())
    assert playbook_of(hit) == "block-web-attacker"


def test_5x_sshd_finding_matches_the_ssh_playbook_by_its_tag():
    assert playbook_of(v5_sshd_finding()) == "block-ssh-bruteforce"


def test_4x_documents_still_match_by_groups():
    sqli = json.loads((V4 / "doc-web-sqli-31103-docker-container-log-indexed.json").read_text())
    assert playbook_of(sqli) == "block-web-attacker"


def test_5x_finding_without_a_known_tag_matches_by_title():
    doc = v5_sshd_finding()
    doc["wazuh"]["rule"]["tags"] = ["high", "custom"]
    doc["wazuh"]["rule"]["title"] = "SSH Brute Force from one source"
    assert playbook_of(doc) == "block-ssh-bruteforce"


def test_5x_finding_with_neither_tag_nor_title_matches_nothing():
    doc = v5_sshd_finding()
    doc["wazuh"]["rule"]["tags"] = ["low", "wazuh-generic"]
    doc["wazuh"]["rule"]["title"] = "Package installed"
    assert playbook_of(doc) is None


def test_titles_match_case_insensitively_as_substrings():
    (group,) = group_alerts([make_alert(groups=("x",))], min_level=0)  # "SQL injection attempt."
    assert MatchAlternative(titles_any=("sql INJECTION",)).matches(group)
    assert not MatchAlternative(titles_any=("xss",)).matches(group)
