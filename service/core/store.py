"""The embedded SQLite store: users, catalogue, access relations, run index.

Run folders stay the record of truth for runs; the `runs` table is an index
(numbers for job names, owners for quotas and privacy, ages for retention).
Schema changes are appended to MIGRATIONS and applied on open.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        is_admin INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL
    );
    CREATE TABLE containers (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL CHECK (type IN ('docker', 'singularity')),
        image TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE softwares (
        name TEXT PRIMARY KEY,
        container TEXT NOT NULL REFERENCES containers(name),
        description TEXT NOT NULL DEFAULT '',
        shortname TEXT NOT NULL DEFAULT '',
        urls TEXT NOT NULL DEFAULT '{}',
        keywords TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE software_access (
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        software TEXT NOT NULL REFERENCES softwares(name) ON DELETE CASCADE,
        level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
        PRIMARY KEY (user, software)
    );
    CREATE TABLE container_access (
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        container TEXT NOT NULL REFERENCES containers(name) ON DELETE CASCADE,
        level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
        PRIMARY KEY (user, container)
    );
    CREATE TABLE runs (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        software TEXT NOT NULL,
        owner TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('local', 'cluster')),
        created REAL NOT NULL,
        cr TEXT NOT NULL DEFAULT 'WAIT'
    );
    CREATE INDEX runs_owner_cr ON runs(owner, cr);
    """,
    # Tokens issued before this time are refused: a new password ends the
    # sessions of whoever had the old one.
    """
    ALTER TABLE users ADD COLUMN tokens_valid_from REAL NOT NULL DEFAULT 0;
    UPDATE users SET tokens_valid_from = created;
    """,
    # What an ended run's folder takes on disk (NULL: not measured yet), summed
    # per owner for the quota of stored bytes.
    """
    ALTER TABLE runs ADD COLUMN stored_bytes INTEGER;
    """,
    # Identity mode "unix": the Unix user a ws user's runs execute as, one to one
    # (NULL: none; a UNIQUE index lets many NULLs be).
    """
    ALTER TABLE users ADD COLUMN unix_user TEXT;
    CREATE UNIQUE INDEX users_unix_user ON users(unix_user);
    """,
    # GA4GH TES tasks (service/tes/): a task is a run; its id (safe to show, unlike
    # the run key) and what ListTasks filters on. Rows of runs since removed are
    # left out by joining with `runs`.
    """
    CREATE TABLE tes_tasks (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL
    );
    CREATE INDEX tes_tasks_owner ON tes_tasks(owner, created);
    """,
)


@dataclass(frozen=True)
class RunIndexEntry:
    number: int
    key: str
    software: str
    owner: str
    kind: str
    created: float
    cr: str
    stored_bytes: int | None = None


# How long a statement waits for another connection's write lock. The service
# runs its queries inline on the event loop (they are small and local), where
# every millisecond of waiting is every client's: it waits little and answers
# 503 (errors.Busy, in web/middleware.py) rather than stall all for seconds.
# `ws admin` (its own process) may wait longer.
SERVICE_BUSY_TIMEOUT_MS = 200
CLI_BUSY_TIMEOUT_MS = 5000


class Store:
    """One SQLite connection. Queries are small and local, so they run inline."""

    def __init__(self, path: Path, busy_timeout_ms: int = CLI_BUSY_TIMEOUT_MS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        # With WAL, NORMAL cannot corrupt the database; it only spares an fsync
        # per commit, which every run request makes.
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._migrate()

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript() commits first, so the transaction lives in the script.
            self.db.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # ---- run index -------------------------------------------------------------------
    def add_run(self, key: str, software: str, owner: str, kind: str,
                created: float | None = None) -> int:
        """Index a new run; returns its number (the `114` of `114-ws-sw_example`)."""
        cur = self.db.execute(
            "INSERT INTO runs (key, software, owner, kind, created) VALUES (?, ?, ?, ?, ?)",
            (key, software, owner, kind, time.time() if created is None else created),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def remove_run(self, key: str) -> None:
        self.db.execute("DELETE FROM runs WHERE key = ?", (key,))

    def replace_runs(self, entries: list[RunIndexEntry]) -> None:
        """The whole index, rebuilt (from the run folders): numbers are kept, and
        new runs are numbered after the highest."""
        with self.transaction() as db:
            db.execute("DELETE FROM runs")
            db.executemany(
                "INSERT INTO runs (number, key, software, owner, kind, created, cr) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.number, e.key, e.software, e.owner, e.kind, e.created, e.cr)
                 for e in entries])

    def has_runs(self) -> bool:
        return self.db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None

    def set_run_cr(self, key: str, cr: str) -> None:
        self.db.execute("UPDATE runs SET cr = ? WHERE key = ?", (cr, key))

    def set_run_bytes(self, key: str, stored_bytes: int) -> None:
        self.db.execute("UPDATE runs SET stored_bytes = ? WHERE key = ?", (stored_bytes, key))

    def stored_bytes_of(self, owner: str) -> int:
        """What an owner's ended runs take on disk, as last measured."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(stored_bytes), 0) FROM runs WHERE owner = ?", (owner,)
        ).fetchone()
        return int(row[0])

    def unmeasured_runs(self) -> list[str]:
        """The keys of ended runs whose folder was not measured yet."""
        rows = self.db.execute(
            "SELECT key FROM runs WHERE cr != 'WAIT' AND stored_bytes IS NULL").fetchall()
        return [str(r[0]) for r in rows]

    def get_run(self, key: str) -> RunIndexEntry | None:
        row = self.db.execute("SELECT * FROM runs WHERE key = ?", (key,)).fetchone()
        return RunIndexEntry(**dict(row)) if row else None

    def live_runs(self, kind: str = "cluster") -> list[RunIndexEntry]:
        rows = self.db.execute(
            "SELECT * FROM runs WHERE cr = 'WAIT' AND kind = ? ORDER BY number", (kind,)
        ).fetchall()
        return [RunIndexEntry(**dict(r)) for r in rows]

    def count_live_runs(self, owner: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM runs WHERE owner = ? AND cr = 'WAIT'", (owner,)
        ).fetchone()
        return int(row[0])

    def runs_of(self, owner: str, cr: str | None = None, software: str | None = None,
                limit: int = 20, offset: int = 0) -> tuple[list[RunIndexEntry], int]:
        """An owner's runs, newest first, optionally of one cr and one software;
        one page of them and how many there are in all."""
        where, args = ["owner = ?"], [owner]
        if cr is not None:
            where.append("cr = ?")
            args.append(cr)
        if software is not None:
            where.append("software = ?")
            args.append(software)
        clause = " AND ".join(where)
        total = int(self.db.execute(f"SELECT COUNT(*) FROM runs WHERE {clause}",  # noqa: S608
                                    args).fetchone()[0])
        rows = self.db.execute(
            f"SELECT * FROM runs WHERE {clause} ORDER BY number DESC LIMIT ? OFFSET ?",  # noqa: S608
            [*args, limit, offset]).fetchall()
        return [RunIndexEntry(**dict(r)) for r in rows], total

    def runs_older_than(self, created_before: float) -> list[RunIndexEntry]:
        rows = self.db.execute(
            "SELECT * FROM runs WHERE created < ? AND cr != 'WAIT'", (created_before,)
        ).fetchall()
        return [RunIndexEntry(**dict(r)) for r in rows]
