"""The state store's transactions: an inner one is a savepoint, undone alone."""

from __future__ import annotations

import pytest

from bot.state import StateStore


def _metas(store: StateStore) -> dict[str, str | None]:
    return {k: store.get_meta(k) for k in ("outer", "inner", "after")}


def test_inner_transaction_error_undoes_only_the_inner_writes(tmp_path):
    store = StateStore(tmp_path / "state.db")
    with store.transaction():
        store.set_meta("outer", 1)
        with pytest.raises(RuntimeError), store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('inner', '2')")
            raise RuntimeError("one group failed")
        store.set_meta("after", 3)
    assert _metas(store) == {"outer": "1", "inner": None, "after": "3"}


def test_outer_transaction_error_undoes_the_inner_writes_too(tmp_path):
    store = StateStore(tmp_path / "state.db")
    with pytest.raises(RuntimeError), store.transaction():
        store.set_meta("inner", 2)
        raise RuntimeError("the scan stopped")
    assert _metas(store) == {"outer": None, "inner": None, "after": None}


def test_most_severe_orders_by_level_then_age_and_counts_without_parsing(tmp_path):
    from bot.core.grouping import group_alerts
    from bot.core.proposal import Proposal, proposal_id
    from tests.conftest import make_alert

    store = StateStore(tmp_path / "state.db")
    for i, level in enumerate([7, 12, 10, 12]):
        (group,) = group_alerts([make_alert(srcip=f"203.0.113.{i + 1}", level=level)], min_level=0)
        p = Proposal(id=proposal_id(group), group=group, action="escalate", fixer="router", reason="r")
        store.add_proposal(p, now=1000.0 + i)
    top = store.most_severe("escalated", 3)
    assert [(s.proposal.group.max_level, s.created_at) for s in top] == [
        (12, 1001.0),
        (12, 1003.0),
        (10, 1002.0),
    ]
    assert store.count("escalated") == 4 and store.count("pending") == 0
    assert store.count_since("escalate", 1002.0) == 2
