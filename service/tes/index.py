"""The task table (tes_tasks in the store): a task's id to its run, and what
ListTasks filters on in SQL (owner, name prefix), newest first, by keyset pages
(created, id). A task whose run was removed (retention) is left out by joining
with the run index."""

from __future__ import annotations

import json
from dataclasses import dataclass

from service.core.store import Store


@dataclass(frozen=True)
class TaskEntry:
    id: str
    key: str
    owner: str
    name: str
    tags: dict[str, str]
    created: float


def _entry(row: object) -> TaskEntry:
    r = dict(row)  # type: ignore[call-overload]
    try:
        tags = json.loads(r["tags"])
    except ValueError:
        tags = {}
    return TaskEntry(r["id"], r["key"], r["owner"], r["name"],
                     tags if isinstance(tags, dict) else {}, float(r["created"]))


def add_task(store: Store, entry: TaskEntry) -> None:
    store.db.execute(
        "INSERT INTO tes_tasks (id, key, owner, name, tags, created) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.id, entry.key, entry.owner, entry.name, json.dumps(entry.tags), entry.created))


def find_task(store: Store, task_id: str) -> TaskEntry | None:
    row = store.db.execute(
        "SELECT t.* FROM tes_tasks t JOIN runs r ON r.key = t.key WHERE t.id = ?",
        (task_id,)).fetchone()
    return _entry(row) if row else None


def tasks_of(store: Store, owner: str, name_prefix: str | None,
             after: tuple[float, str] | None, limit: int) -> list[TaskEntry]:
    """The owner's tasks, newest first, after the keyset `after` (created, id)."""
    where, args = ["t.owner = ?"], [owner]
    if name_prefix:
        where.append("substr(t.name, 1, ?) = ?")
        args += [len(name_prefix), name_prefix]  # type: ignore[list-item]
    if after is not None:
        where.append("(t.created < ? OR (t.created = ? AND t.id < ?))")
        args += [after[0], after[0], after[1]]  # type: ignore[list-item]
    rows = store.db.execute(
        "SELECT t.* FROM tes_tasks t JOIN runs r ON r.key = t.key WHERE "  # noqa: S608
        + " AND ".join(where) + " ORDER BY t.created DESC, t.id DESC LIMIT ?",
        [*args, limit]).fetchall()
    return [_entry(r) for r in rows]
