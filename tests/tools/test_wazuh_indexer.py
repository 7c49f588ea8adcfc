"""The Wazuh indexer reader: the real opensearch-py client against the loopback OpenSearch.

Documents are the corpus's own (fixtures/wazuh-corpus/docs for 4.x, fixtures/wazuh-corpus/v5/docs for
5.x) with their time, id and attacker set per test, as a manager would write many of them.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.core.errors import SourceError
from tests.conftest import FIXTURES, ROOT
from tests.tools.opensearch_fake import FakeOpenSearch
from tools.sources.wazuh_indexer import IndexerConfig, IndexerReader, PullNotes, Watermark

DOCS = FIXTURES / "wazuh-corpus" / "docs"
V5 = (
    ROOT / "fixtures" / "wazuh-corpus" / "v5" / "docs"
)  # copied from ../shared/corpus (see its PROVENANCE.md)
T0 = 1_781_000_000.0  # 2026-06-09


def ssh_doc(i: int, ts: float, srcip: str = "91.240.118.172") -> dict:
    """The documentation's sshd 5710 alert with another time, id and source address."""
    doc = json.loads((DOCS / "doc-ssh-5710-alerts-json.json").read_text())
    doc = copy.deepcopy(doc)
    doc["timestamp"] = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    doc["id"] = f"{int(ts)}.{i}"
    doc["data"]["srcip"] = srcip
    return doc


def index_ssh(
    server: FakeOpenSearch, n: int, start: int = 0, index: str = "wazuh-alerts-4.x-2026.06.09"
) -> None:
    server.add(index, [(f"doc-{i}", ssh_doc(i, T0 + i)) for i in range(start, start + n)])


def reader(server: FakeOpenSearch, **kw) -> IndexerReader:
    config = IndexerConfig(url=server.url, page_size=kw.pop("page_size", 3), **kw)
    return IndexerReader(config)


def pull(r: IndexerReader, mark: Watermark | None = None, notes: PullNotes | None = None):
    pages = list(r.pages(mark, notes=notes))
    ids = [a.alert_id for p in pages for a in p.alerts]
    return pages, ids, (pages[-1].watermark if pages else mark)


@pytest.fixture
def server():
    with FakeOpenSearch() as s:
        yield s


def test_pull_reads_every_document_in_time_order_across_pages(server):
    index_ssh(server, 10)
    pages, ids, _ = pull(reader(server))
    assert len(pages) == 4 and [len(p.alerts) for p in pages] == [3, 3, 3, 1]
    assert ids == [f"{int(T0 + i)}.{i}" for i in range(10)]
    (alert, *_) = pages[0].alerts
    assert (alert.rule_id, alert.srcip, alert.agent) == ("5710", "91.240.118.172", "linux-agent")


def test_pull_from_watermark_reads_only_new_documents(server):
    index_ssh(server, 5)
    _, first, mark = pull(reader(server))
    index_ssh(server, 2, start=5)
    _, second, _ = pull(reader(server), Watermark.from_json(mark.to_json()))
    assert len(first) == 5 and second == [f"{int(T0 + i)}.{i}" for i in (5, 6)]


def test_pit_is_a_frozen_snapshot_later_documents_only_in_the_next_pull(server):
    index_ssh(server, 4)
    r = reader(server, page_size=2)
    pages = r.pages(None)
    first = next(pages)
    index_ssh(server, 3, start=4)  # indexed while the pull is under way
    rest = list(pages)
    in_pull = [a.alert_id for p in [first, *rest] for a in p.alerts]
    _, later, _ = pull(r, rest[-1].watermark)
    assert len(in_pull) == 4 and len(later) == 3


def test_late_document_inside_the_overlap_window_is_read_once(server):
    index_ssh(server, 6)
    r = reader(server, overlap_s=300)
    _, _, mark = pull(r)
    server.add("wazuh-alerts-4.x-2026.06.09", [("late", ssh_doc(99, T0 + 2))])  # 3 s behind the last one
    _, again, mark2 = pull(r, mark)
    _, third, _ = pull(r, mark2)
    assert again == [f"{int(T0 + 2)}.99"] and third == []


def test_late_document_before_the_overlap_window_is_not_read(server):
    index_ssh(server, 3)
    r = reader(server, overlap_s=1)
    _, _, mark = pull(r)
    server.add("wazuh-alerts-4.x-2026.06.09", [("late", ssh_doc(99, T0 - 60))])
    assert pull(r, mark)[1] == []


def test_overlap_repeats_are_counted_not_returned(server):
    index_ssh(server, 4)
    r = reader(server, overlap_s=300)
    _, _, mark = pull(r)
    pages, ids, _ = pull(r, mark)
    assert ids == [] and sum(p.repeats for p in pages) == 4


def test_expired_pit_is_reopened_and_the_pull_goes_on(server):
    index_ssh(server, 7)
    r = reader(server, page_size=3)
    notes = PullNotes()
    pages = r.pages(None, notes=notes)
    got = [a.alert_id for a in next(pages).alerts]
    server.expire_pits()
    got += [a.alert_id for p in pages for a in p.alerts]
    assert got == [f"{int(T0 + i)}.{i}" for i in range(7)]
    assert notes.notes == [
        f"Wazuh indexer {server.url} wazuh-alerts-4.x-*: the point in time expired; reopened, reading on after the last page."
    ]


def test_missing_index_is_a_note_and_an_empty_pull(server):
    notes = PullNotes()
    assert list(reader(server).pages(None, notes=notes)) == []
    assert "no index matches the pattern" in notes.notes[0]


def test_index_deleted_during_the_pull_keeps_what_was_read(server):
    index_ssh(server, 6)
    r = reader(server, page_size=3)
    notes = PullNotes()
    pages = r.pages(None, notes=notes)
    first = next(pages)
    server.delete_index("wazuh-alerts-4.x-2026.06.09")
    assert [p.alerts for p in pages] == [] and len(first.alerts) == 3


def test_every_pull_deletes_its_pit(server):
    index_ssh(server, 4)
    pull(reader(server))
    deletes = [q for q in server.requests if q.method == "DELETE"]
    assert len(deletes) == 1 and server.pits == {}


def test_requests_use_pit_sort_with_tiebreaker_and_search_after(server):
    index_ssh(server, 4)
    pull(reader(server, page_size=3))
    searches = [q.body for q in server.requests if q.path == "/_search"]
    assert searches[0]["sort"] == [{"timestamp": {"order": "asc"}}, {"id": {"order": "asc"}}]
    assert "search_after" not in searches[0] and searches[1]["search_after"] == [
        int(T0 + 2) * 1000,
        f"{int(T0 + 2)}.2",
    ]
    assert all(s["pit"]["keep_alive"] == "5m" for s in searches)


def test_wrong_password_gives_a_clear_message():
    with FakeOpenSearch(users={"wazuh-reader": "right"}) as s:
        index_ssh(s, 1)
        r = reader(s, username="wazuh-reader", password=SecretStr("wrong-pass-123"))
        with pytest.raises(SourceError) as err:
            pull(r)
    assert "refused (401): the credentials are wrong or missing" in str(err.value)
    assert "wrong-pass-123" not in str(err.value)


def test_user_without_read_permission_gets_a_403_message():
    with FakeOpenSearch(users={"someone": "pw"}, readers=()) as s:
        index_ssh(s, 1)
        with pytest.raises(SourceError) as err:
            pull(reader(s, username="someone", password=SecretStr("pw")))
    assert "forbidden (403): the user may not read these indices (no permissions for" in str(err.value)


def test_api_key_is_accepted():
    with FakeOpenSearch(api_keys={"k-123"}) as s:
        index_ssh(s, 2)
        assert len(pull(reader(s, api_key=SecretStr("k-123")))[1]) == 2


def test_server_error_names_the_call_and_status(server):
    index_ssh(server, 2)
    server.fail_next.append(("/_search", 500))
    with pytest.raises(SourceError) as err:
        pull(reader(server))
    assert "search failed (HTTP 500: Internal server error (injected))" in str(err.value)


def test_slow_answer_times_out_with_a_message(server):
    index_ssh(server, 2)
    server.fail_next.append(("/_search", -2.0))
    with pytest.raises(SourceError) as err:
        pull(reader(server, timeout=0.3))
    assert "search did not answer within 0.3 s (SECOPS_INDEXER_TIMEOUT)" in str(err.value)


def test_unreachable_indexer_names_the_url():
    r = IndexerReader(IndexerConfig(url="http://127.0.0.1:9", timeout=2))
    with pytest.raises(SourceError) as err:
        r.health()
    assert "Wazuh indexer http://127.0.0.1:9 wazuh-alerts-4.x-* is unreachable" in str(err.value)


def test_cluster_health_is_read(server):
    assert reader(server).health() == "green"


def test_malformed_document_is_counted_with_its_id(server):
    bad = ssh_doc(1, T0)
    bad["rule"]["level"] = "loud"
    server.add("wazuh-alerts-4.x-1", [("ok", ssh_doc(0, T0 - 1)), ("bad-doc", bad)])
    (page,) = pull(reader(server))[0]
    assert len(page.alerts) == 1 and page.malformed_count == 1
    assert page.malformed[0].reason == "rule.level 'loud' is not a level (document bad-doc)"


def test_url_credentials_never_reach_the_source_key():
    config = IndexerConfig(url="https://admin:s3cret@indexer:9200")
    assert config.source == "indexer:https://indexer:9200/wazuh-alerts-4.x-*"


# --- Wazuh 5.x -------------------------------------------------------------------------------------


def v5_hit() -> dict:
    return json.loads((V5 / "doc-finding-apache-error-system-activity-search-hit.json").read_text())


def test_5x_findings_are_read_from_their_data_stream():
    hit = v5_hit()
    with FakeOpenSearch(time_field="@timestamp", tiebreaker="wazuh.event.id") as s:
        s.add(hit["_index"], [(hit["_id"], hit["_source"])])
        r = IndexerReader(IndexerConfig(url=s.url, index="wazuh-findings-v5*"))
        (page,) = pull(r)[0]
    (a,) = page.alerts
    assert (a.alert_id, a.rule_id, a.level, a.srcip) == (
        hit["_id"],
        "d78bd034-8838-4f85-b471-5e8c9a0daf18",
        7,
        "203.0.113.50",
    )
    assert (a.description, a.agent, a.mitre) == (
        "Apache Failure Detection",
        "localhost.localdomain",
        ("T1190",),
    )
    assert "attack.t1190" in a.groups and "medium" not in a.groups
    assert page.watermark.after == hit["sort"] + [hit["_source"]["wazuh"]["event"]["id"]]


@pytest.mark.live
@pytest.mark.skipif(
    not __import__("os").environ.get("SECOPS_LIVE_INDEXER_URL"), reason="SECOPS_LIVE_INDEXER_URL not set"
)
def test_live_indexer_answers_and_pages():
    """Against a real Wazuh indexer: SECOPS_LIVE_INDEXER_URL, _USERNAME, _PASSWORD, _INDEX, _CA_BUNDLE."""
    import os

    env = os.environ
    config = IndexerConfig(
        url=env["SECOPS_LIVE_INDEXER_URL"],
        index=env.get("SECOPS_LIVE_INDEXER_INDEX", "wazuh-alerts-4.x-*"),
        username=env.get("SECOPS_LIVE_INDEXER_USERNAME"),
        password=SecretStr(env.get("SECOPS_LIVE_INDEXER_PASSWORD", "")),
        ca_bundle=Path(env["SECOPS_LIVE_INDEXER_CA_BUNDLE"])
        if env.get("SECOPS_LIVE_INDEXER_CA_BUNDLE")
        else None,
        page_size=100,
    )
    r = IndexerReader(config)
    assert r.health() in ("green", "yellow", "red")
    first = next(iter(r.pages(None)), None)
    assert first is None or first.hits <= 100
