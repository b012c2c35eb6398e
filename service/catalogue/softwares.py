"""Softwares, containers, and the access relations between them and users."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from service.core.errors import Conflict, InvalidParameter, NotFound
from service.core.names import check_name
from service.core.store import Store

CONTAINER_TYPES = ("docker", "singularity")
MAX_DESC = 10_000
MAX_SHORT = 200


@dataclass(frozen=True)
class Container:
    name: str
    type: str  # "docker" | "singularity"
    image: str  # absolute path of the Singularity image (SIF) runs use
    description: str = ""

    def as_info(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "image": self.image,
                "desc": self.description}


@dataclass(frozen=True)
class Software:
    name: str
    container: Container
    description: str = ""
    shortname: str = ""
    urls: dict[str, str] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)

    def sw_info(self) -> dict[str, object]:
        return {"desc": self.description, "shortname": self.shortname, "urls": self.urls,
                "keywords": self.keywords}


def _container(row: object) -> Container:
    r = dict(row)  # type: ignore[call-overload]
    return Container(r["name"], r["type"], r["image"], r["description"])


def get_container(store: Store, name: str) -> Container:
    row = store.db.execute("SELECT * FROM containers WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"unknown container {name!r}")
    return _container(row)


def get_software(store: Store, name: str) -> Software:
    row = store.db.execute("SELECT * FROM softwares WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"unknown software {name!r}", ["GET /api/software/list lists them"])
    return _software(row, get_container(store, row["container"]))


def _software(row: object, container: Container) -> Software:
    r = dict(row)  # type: ignore[call-overload]
    return Software(name=r["name"], container=container, description=r["description"],
                    shortname=r["shortname"], urls=json.loads(r["urls"]),
                    keywords=json.loads(r["keywords"]))


def list_containers(store: Store) -> list[Container]:
    rows = store.db.execute("SELECT * FROM containers ORDER BY name").fetchall()
    return [_container(r) for r in rows]


def list_softwares(store: Store) -> list[Software]:
    containers = {c.name: c for c in list_containers(store)}
    rows = store.db.execute("SELECT * FROM softwares ORDER BY name").fetchall()
    return [_software(r, containers[r["container"]]) for r in rows]


# ---- editing (admin) -------------------------------------------------------------------

def _text(field_name: str, value: str, limit: int) -> str:
    if len(value) > limit or "\x00" in value:
        raise InvalidParameter(f"{field_name} is over {limit} characters or holds NUL")
    return value


IMAGE_PATH_RE = re.compile(r"[A-Za-z0-9._/+-]+")


def _image(image: str | Path) -> str:
    # The service runs what this path names, so it must be a real file now.
    # The path is written into workflows and job scripts run on the host: a
    # plain, normalised path of safe characters cannot be read as shell (an
    # API admin is not necessarily root on the login node).
    text = str(image)
    if not text.startswith("/"):
        raise InvalidParameter(f"image {text!r} must be an absolute path")
    if not IMAGE_PATH_RE.fullmatch(text):
        raise InvalidParameter(f"image {text!r} holds characters an image path may not",
                               ["allowed: letters, digits and . _ / + -"])
    # normpath keeps a leading "//" (POSIX leaves its meaning open).
    if os.path.normpath(text) != text or "//" in text:
        raise InvalidParameter(f"image {text!r} is not a normalised path",
                               [f"write it as {os.path.normpath(text)!r}"])
    path = Path(text)
    if not path.is_file():
        raise InvalidParameter(f"image {str(image)!r} is not an existing file")
    return str(path)


def _type(value: str) -> str:
    if value not in CONTAINER_TYPES:
        raise InvalidParameter(f"bad container type {value!r}",
                               [f"allowed: {', '.join(CONTAINER_TYPES)}"])
    return value


def _urls(urls: Mapping[str, object]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, url in urls.items():
        # Urls are shown as links to people: only web links, nothing like javascript:.
        if (not isinstance(url, str) or not url.startswith(("http://", "https://"))
                or not key or len(key) > 100 or len(url) > 2000):
            raise InvalidParameter(f"bad url {key!r}: {url!r}",
                                   ["expected a key and an http:// or https:// URL"])
        checked[str(key)] = url
    return checked


def _keywords(keywords: Sequence[object]) -> list[str]:
    if not all(isinstance(k, str) and 0 < len(k) <= 100 for k in keywords):
        raise InvalidParameter("keywords must be strings of 1 to 100 characters")
    return [str(k) for k in keywords]


def add_container(store: Store, name: str, type: str, image: str | Path,
                  description: str = "") -> Container:
    container = Container(check_name("container", name), _type(type), _image(image),
                          _text("desc", description, MAX_DESC))
    try:
        store.db.execute("INSERT INTO containers (name, type, image, description) "
                         "VALUES (?, ?, ?, ?)",
                         (container.name, container.type, container.image,
                          container.description))
    except sqlite3.IntegrityError as e:
        raise Conflict(f"container {name!r} exists already") from e
    return container


def update_container(store: Store, name: str, type: str | None = None,
                     image: str | Path | None = None,
                     description: str | None = None) -> Container:
    old = get_container(store, name)
    new = Container(
        name,
        old.type if type is None else _type(type),
        old.image if image is None else _image(image),
        old.description if description is None else _text("desc", description, MAX_DESC),
    )
    store.db.execute("UPDATE containers SET type = ?, image = ?, description = ? "
                     "WHERE name = ?", (new.type, new.image, new.description, name))
    return new


def remove_container(store: Store, name: str) -> None:
    get_container(store, name)
    with store.transaction() as db:
        users = [r[0] for r in db.execute(
            "SELECT name FROM softwares WHERE container = ? ORDER BY name", (name,))]
        if users:
            raise Conflict(f"container {name!r} holds softwares; remove them first",
                           [f"software {s}" for s in users])
        db.execute("DELETE FROM containers WHERE name = ?", (name,))


def add_software(store: Store, name: str, container: str, description: str = "",
                 shortname: str = "", urls: Mapping[str, object] | None = None,
                 keywords: Sequence[object] = ()) -> Software:
    software = Software(check_name("software", name), get_container(store, container),
                        _text("desc", description, MAX_DESC),
                        _text("shortname", shortname, MAX_SHORT), _urls(urls or {}),
                        _keywords(keywords))
    try:
        store.db.execute(
            "INSERT INTO softwares (name, container, description, shortname, urls, keywords) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (software.name, container, software.description, software.shortname,
             json.dumps(software.urls), json.dumps(software.keywords)))
    except sqlite3.IntegrityError as e:
        raise Conflict(f"software {name!r} exists already") from e
    return software


def update_software(store: Store, name: str, container: str | None = None,
                    description: str | None = None, shortname: str | None = None,
                    urls: Mapping[str, object] | None = None,
                    keywords: Sequence[object] | None = None) -> Software:
    """Change the given fields; `urls` and `keywords` replace the old ones."""
    old = get_software(store, name)
    new = Software(
        name,
        old.container if container is None else get_container(store, container),
        old.description if description is None else _text("desc", description, MAX_DESC),
        old.shortname if shortname is None else _text("shortname", shortname, MAX_SHORT),
        old.urls if urls is None else _urls(urls),
        old.keywords if keywords is None else _keywords(keywords),
    )
    store.db.execute(
        "UPDATE softwares SET container = ?, description = ?, shortname = ?, urls = ?, "
        "keywords = ? WHERE name = ?",
        (new.container.name, new.description, new.shortname, json.dumps(new.urls),
         json.dumps(new.keywords), name))
    return new


def remove_software(store: Store, name: str) -> None:
    # Grants go with the software (ON DELETE CASCADE); past runs keep their folders.
    if store.db.execute("DELETE FROM softwares WHERE name = ?", (name,)).rowcount == 0:
        raise NotFound(f"unknown software {name!r}")
