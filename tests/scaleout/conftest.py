"""Fixtures of the scale-out tests (the PostgreSQL server itself is tests/conftest.py's ``pg_url``)."""

from __future__ import annotations

import pytest

from bot.database import PostgresDatabase
from bot.state import StateStore


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request, tmp_path):
    """Opens another connection (another replica) to one database: SQLite, then a real PostgreSQL."""
    if request.param == "sqlite":
        return lambda: StateStore(tmp_path / "state.db")
    url = request.getfixturevalue("pg_url")
    return lambda: StateStore(database=PostgresDatabase(url, max_size=8))
