"""Access relations: grants of a level to a user on a software or a container.

A grant on a container counts for every software in it; a user's effective
level on a software is the highest of the two grants."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from service.accounts.users import get_user
from service.catalogue.softwares import Software, get_container, get_software
from service.core.errors import InvalidParameter, NotFound
from service.core.store import Store

LEVELS = {1: "visitor", 2: "user", 3: "superuser", 4: "admin"}


@dataclass(frozen=True)
class Grant:
    user: str
    kind: str  # "software" | "container"
    target: str
    level: int

    def as_dict(self) -> dict[str, object]:
        return {"user": self.user, self.kind: self.target, "level": self.level,
                "level_name": LEVELS[self.level]}


def check_level(value: object) -> int:
    """A level given as int or text; anything but 1..4 is refused."""
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    if isinstance(value, bool) or text not in {str(n) for n in LEVELS}:
        raise InvalidParameter(f"bad access level {value!r}",
                               [f"{n} {name}" for n, name in LEVELS.items()])
    return int(text)


def _target(store: Store, software: str | None, container: str | None) -> tuple[str, str]:
    if (software is None) == (container is None):
        raise InvalidParameter("give either a software or a container")
    if software is not None:
        get_software(store, software)
        return "software", software
    assert container is not None
    get_container(store, container)
    return "container", container


def grant(store: Store, user: str, level: int, software: str | None = None,
          container: str | None = None) -> Grant:
    """Give `user` the level on the software or container (replacing an older grant)."""
    level = check_level(level)
    if get_user(store, user) is None:
        raise NotFound(f"unknown user {user!r}")
    kind, target = _target(store, software, container)
    store.db.execute(
        f"INSERT INTO {kind}_access (user, {kind}, level) VALUES (?, ?, ?) "  # noqa: S608
        f"ON CONFLICT (user, {kind}) DO UPDATE SET level = excluded.level",
        (user, target, level))
    return Grant(user, kind, target, level)


def revoke(store: Store, user: str, software: str | None = None,
           container: str | None = None) -> None:
    kind, target = _target(store, software, container)
    cur = store.db.execute(
        f"DELETE FROM {kind}_access WHERE user = ? AND {kind} = ?",  # noqa: S608
        (user, target))
    if cur.rowcount == 0:
        raise NotFound(f"user {user!r} has no grant on {kind} {target!r}")


def list_grants(store: Store, user: str | None = None) -> list[Grant]:
    rows = store.db.execute(
        "SELECT user, 'software' AS kind, software AS target, level FROM software_access "
        "UNION ALL "
        "SELECT user, 'container', container, level FROM container_access "
        "ORDER BY user, kind, target").fetchall()
    return [Grant(*r) for r in rows if user is None or r["user"] == user]


def software_level(store: Store, user: str, software: str, container: str) -> int | None:
    row = store.db.execute(
        "SELECT MAX(level) FROM ("
        " SELECT level FROM software_access WHERE user = ? AND software = ?"
        " UNION ALL"
        " SELECT level FROM container_access WHERE user = ? AND container = ?)",
        (user, software, user, container)).fetchone()
    return int(row[0]) if row[0] is not None else None


def access_level(store: Store, user: str, software: Software) -> int | None:
    """The highest of the user's grants on the software and on its container."""
    return software_level(store, user, software.name, software.container.name)


def _names(rows: list[sqlite3.Row]) -> list[str]:
    return [str(r[0]) for r in rows]


# The four relations the API lists. `level` None: any level; else exactly that
# (effective) level.

def software_users(store: Store, software: str, level: int | None = None) -> list[str]:
    container = get_software(store, software).container.name
    return _names(store.db.execute(
        "SELECT user FROM ("
        " SELECT user, level FROM software_access WHERE software = ?"
        " UNION ALL"
        " SELECT user, level FROM container_access WHERE container = ?)"
        " GROUP BY user HAVING ? IS NULL OR MAX(level) = ? ORDER BY user",
        (software, container, level, level)).fetchall())


def user_softwares(store: Store, user: str, level: int | None = None) -> list[str]:
    return _names(store.db.execute(
        "SELECT software FROM ("
        " SELECT software, level FROM software_access WHERE user = ?"
        " UNION ALL"
        " SELECT s.name, c.level FROM container_access c"
        "  JOIN softwares s ON s.container = c.container WHERE c.user = ?)"
        " GROUP BY software HAVING ? IS NULL OR MAX(level) = ? ORDER BY software",
        (user, user, level, level)).fetchall())


def container_users(store: Store, container: str, level: int | None = None) -> list[str]:
    get_container(store, container)
    return _names(store.db.execute(
        "SELECT user FROM container_access WHERE container = ? AND (? IS NULL OR level = ?)"
        " ORDER BY user", (container, level, level)).fetchall())


def user_containers(store: Store, user: str, level: int | None = None) -> list[str]:
    return _names(store.db.execute(
        "SELECT container FROM container_access WHERE user = ? AND (? IS NULL OR level = ?)"
        " ORDER BY container", (user, level, level)).fetchall())
