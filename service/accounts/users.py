"""Service accounts: a name, a password hash and an admin flag.

Hashing is not done here (see service.accounts.passwords): callers hash first, off
the event loop when they are handlers."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from service.core.errors import Conflict, NotFound
from service.core.names import check_name
from service.core.store import Store


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool
    created: float = 0.0
    # Tokens issued (iat) before this are refused: the account's creation, then
    # each password change.
    tokens_valid_from: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "is_admin": self.is_admin}


def add_user(store: Store, name: str, password_hash: str, is_admin: bool = False) -> User:
    check_name("user", name)
    created = time.time()
    try:
        store.db.execute(
            "INSERT INTO users (name, password_hash, is_admin, created, tokens_valid_from)"
            " VALUES (?, ?, ?, ?, ?)", (name, password_hash, int(is_admin), created, created))
    except sqlite3.IntegrityError as e:
        raise Conflict(f"user {name!r} exists already") from e
    return User(name, is_admin, created, created)


def remove_user(store: Store, name: str) -> None:
    # Grants go with the user (ON DELETE CASCADE).
    if store.db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
        raise NotFound(f"unknown user {name!r}")


def set_password_hash(store: Store, name: str, password_hash: str,
                      end_sessions: bool = True) -> None:
    """A new password ends the tokens issued before it, unless this is only the
    same password hashed anew (end_sessions=False)."""
    cur = store.db.execute(
        "UPDATE users SET password_hash = ?, tokens_valid_from = CASE WHEN ? THEN ? "
        "ELSE tokens_valid_from END WHERE name = ?",
        (password_hash, int(end_sessions), time.time(), name))
    if cur.rowcount == 0:
        raise NotFound(f"unknown user {name!r}")


def set_admin(store: Store, name: str, is_admin: bool) -> None:
    cur = store.db.execute("UPDATE users SET is_admin = ? WHERE name = ?",
                           (int(is_admin), name))
    if cur.rowcount == 0:
        raise NotFound(f"unknown user {name!r}")


def password_hash(store: Store, name: str) -> str | None:
    row = store.db.execute("SELECT password_hash FROM users WHERE name = ?",
                           (name,)).fetchone()
    return str(row[0]) if row else None


COLUMNS = "name, is_admin, created, tokens_valid_from"


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], bool(row["is_admin"]), row["created"], row["tokens_valid_from"])


def get_user(store: Store, name: str) -> User | None:
    row = store.db.execute(f"SELECT {COLUMNS} FROM users WHERE name = ?",  # noqa: S608
                           (name,)).fetchone()
    return _user(row) if row else None


def list_users(store: Store) -> list[User]:
    rows = store.db.execute(f"SELECT {COLUMNS} FROM users ORDER BY name")  # noqa: S608
    return [_user(r) for r in rows.fetchall()]
