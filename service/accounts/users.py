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
    # Identity mode "unix": the Unix user this user's runs execute as (None: none).
    unix_user: str | None = None

    def as_dict(self) -> dict[str, object]:
        # unix_user only when there is one: the service mode's answers stay as they were.
        mapped = {"unix_user": self.unix_user} if self.unix_user else {}
        return {"name": self.name, "is_admin": self.is_admin, **mapped}


def add_user(store: Store, name: str, password_hash: str, is_admin: bool = False,
             unix_user: str | None = None) -> User:
    """A new user; `unix_user` checked first by the caller (unix_users.check_unix_user)."""
    check_name("user", name)
    created = time.time()
    _refuse_taken_unix_user(store, unix_user, name)
    try:
        store.db.execute(
            "INSERT INTO users (name, password_hash, is_admin, created, tokens_valid_from,"
            " unix_user) VALUES (?, ?, ?, ?, ?, ?)",
            (name, password_hash, int(is_admin), created, created, unix_user))
    except sqlite3.IntegrityError as e:
        raise Conflict(f"user {name!r} exists already") from e
    return User(name, is_admin, created, created, unix_user)


def _refuse_taken_unix_user(store: Store, unix_user: str | None, name: str) -> None:
    if unix_user is None:
        return
    row = store.db.execute("SELECT name FROM users WHERE unix_user = ? AND name != ?",
                           (unix_user, name)).fetchone()
    if row is not None:
        raise Conflict(f"Unix user {unix_user!r} is mapped to ws user {row[0]!r} already",
                       ["one Unix user per ws user"])


def set_unix_user(store: Store, name: str, unix_user: str | None) -> None:
    """Map a user to a Unix user (checked first by the caller), or unmap (None)."""
    _refuse_taken_unix_user(store, unix_user, name)
    try:
        cur = store.db.execute("UPDATE users SET unix_user = ? WHERE name = ?",
                               (unix_user, name))
    except sqlite3.IntegrityError as e:  # mapped by another process in between
        raise Conflict(f"Unix user {unix_user!r} is mapped to another ws user") from e
    if cur.rowcount == 0:
        raise NotFound(f"unknown user {name!r}")


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


COLUMNS = "name, is_admin, created, tokens_valid_from, unix_user"


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], bool(row["is_admin"]), row["created"], row["tokens_valid_from"],
                row["unix_user"])


def get_user(store: Store, name: str) -> User | None:
    row = store.db.execute(f"SELECT {COLUMNS} FROM users WHERE name = ?",  # noqa: S608
                           (name,)).fetchone()
    return _user(row) if row else None


def mapped_to(store: Store, unix_user: str) -> str | None:
    """The ws user mapped to this Unix user now (one to one), if any."""
    row = store.db.execute("SELECT name FROM users WHERE unix_user = ?",
                           (unix_user,)).fetchone()
    return str(row[0]) if row else None


def list_users(store: Store) -> list[User]:
    rows = store.db.execute(f"SELECT {COLUMNS} FROM users ORDER BY name")  # noqa: S608
    return [_user(r) for r in rows.fetchall()]
