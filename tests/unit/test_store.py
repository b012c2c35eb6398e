"""Schema migrations run on open, once, and keep what was there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.accounts import users
from service.core.store import MIGRATIONS, Store


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "ws.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO users VALUES ('old', 'hash', 0, 1000.0)")
    db.commit()
    db.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    user = users.get_user(store, "old")
    assert user is not None and user.tokens_valid_from == 1000.0
    store.close()
    # Opening again migrates nothing more.
    assert Store(path).db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
