"""The HTML page of GET /api/admin: the tables, and one form per operation of the
admin API. Pure: data in, text out; every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from service.catalogue.access import LEVELS

# (operation path, button, fields); a field is (name, label, kind).
FORMS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("user/add", "Add user", (("name", "name", "text"), ("password", "password", "password"),
                              ("admin", "admin (yes/no)", "text"))),
    ("user/password", "Set password", (("name", "name", "text"),
                                       ("password", "password", "password"))),
    ("user/update", "Set admin flag", (("name", "name", "text"),
                                       ("admin", "admin (yes/no)", "text"))),
    ("user/remove", "Remove user", (("name", "name", "text"),)),
    ("container/add", "Add container", (("name", "name", "text"),
                                        ("type", "type (docker/singularity)", "text"),
                                        ("image", "SIF image path", "text"),
                                        ("desc", "description", "text"))),
    ("container/update", "Update container", (("name", "name", "text"),
                                              ("type", "type", "text"),
                                              ("image", "SIF image path", "text"),
                                              ("desc", "description", "text"))),
    ("container/remove", "Remove container", (("name", "name", "text"),)),
    ("software/add", "Add software", (("name", "name", "text"),
                                      ("container", "container", "text"),
                                      ("desc", "description", "text"),
                                      ("shortname", "short name", "text"),
                                      ("urls", "urls (JSON object)", "text"),
                                      ("keywords", "keywords (JSON list)", "text"))),
    ("software/update", "Update software", (("name", "name", "text"),
                                            ("container", "container", "text"),
                                            ("desc", "description", "text"),
                                            ("shortname", "short name", "text"),
                                            ("urls", "urls (JSON object)", "text"),
                                            ("keywords", "keywords (JSON list)", "text"))),
    ("software/remove", "Remove software", (("name", "name", "text"),)),
    ("access/grant", "Grant access", (("user", "user", "text"),
                                      ("software", "software (or)", "text"),
                                      ("container", "container", "text"),
                                      ("level", "level (1-4)", "text"))),
    ("access/revoke", "Revoke access", (("user", "user", "text"),
                                        ("software", "software (or)", "text"),
                                        ("container", "container", "text"))),
)


def _table(title: str, rows: Sequence[Mapping[str, object]]) -> str:
    if not rows:
        return f"<h2>{escape(title)}</h2><p>none</p>"
    head = "".join(f"<th>{escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row.values())
                   + "</tr>" for row in rows)
    return f"<h2>{escape(title)}</h2><table border='1'><tr>{head}</tr>{body}</table>"


def _form(base: str, token: str, path: str, button: str,
          fields: tuple[tuple[str, str, str], ...]) -> str:
    inputs = "".join(f"<label>{escape(label)} <input name='{name}' type='{kind}'></label> "
                     for name, label, kind in fields)
    # Browsers post blank inputs as empty strings; the update operations take an
    # empty field as "unchanged", so a form may fill only what changes.
    return (f"<form method='post' action='{escape(base)}/{path}'>{inputs}"
            f"<input type='hidden' name='jwt' value='{escape(token)}'>"
            "<input type='hidden' name='format' value='api'>"
            f"<button type='submit'>{escape(button)}</button></form>")


def admin_page(data: Mapping[str, Sequence[Mapping[str, object]]], base: str,
               token: str) -> str:
    """`base` is the URL path of /api/admin as the browser asked for it."""
    tables = "".join(_table(title, rows) for title, rows in data.items())
    forms = "".join(_form(base, token, *f) for f in FORMS)
    levels = ", ".join(f"{n} {name}" for n, name in LEVELS.items())
    return ("<!doctype html><html><head><meta charset='utf-8'><title>ws admin</title>"
            "</head><body><h1>ws administration</h1>"
            f"{tables}<h2>Operations</h2><p>Levels: {escape(levels)}</p>{forms}"
            "</body></html>")
