"""Softwares, containers, and the access relations between them and users."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from service.errors import NotFound
from service.store import Store


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
    return Software(
        name=row["name"],
        container=get_container(store, row["container"]),
        description=row["description"],
        shortname=row["shortname"],
        urls=json.loads(row["urls"]),
        keywords=json.loads(row["keywords"]),
    )
