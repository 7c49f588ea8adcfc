"""Exact texts of the indexer and post-merge verification messages."""

from __future__ import annotations

from bot import messages as m


def test_verification_texts():
    assert (
        m.verify_quiet("10:52", "91.240.118.172", 1800)
        == "Deployed 10:52 · no alerts from 91.240.118.172 since (0 in 30 min)."
    )
    assert m.verify_still_firing(14, 1800).startswith(
        "Still firing: 14 alert(s) since deployment (in 30 min)."
    )
    assert m.verify_not_deployed(1800, "") == "Not deployed after 30 min."
    assert m.verify_app_state("app", "OutOfSync", "Healthy", ["0123456789abcdef"]) == (
        "Argo CD application app: OutOfSync, Healthy, revision 0123456789ab."
    )


def test_indexer_texts():
    assert m.indexer_unauthorized("https://i:9200 wazuh-alerts-4.x-*", "search") == (
        "Wazuh indexer https://i:9200 wazuh-alerts-4.x-*: search was refused (401): the credentials are wrong or "
        "missing. Check SECOPS_INDEXER_USERNAME and SECOPS_INDEXER_PASSWORD (or SECOPS_INDEXER_API_KEY)."
    )
    assert (
        m.cli_indexer_malformed("x", 3, [(2, "bad")])
        == "x: skipped 3 malformed document(s):\n  #2: bad\n  … and 2 more"
    )
