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
