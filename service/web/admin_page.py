"""The HTML page of GET /api/admin: the tables, and one form per operation of the
admin API. Pure: data in, text out; every value is escaped.

The page holds no token: /static/admin.js signs in, keeps the token in the tab's
sessionStorage as the ws page does, and sends it only in the Authorization
header, so it never reaches a URL, a proxy log or the browser's history."""

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


def _form(base: str, path: str, button: str,
          fields: tuple[tuple[str, str, str], ...]) -> str:
    inputs = "".join(f"<label>{escape(label)} <input name='{name}' type='{kind}'></label> "
                     for name, label, kind in fields)
    # Browsers post blank inputs as empty strings; the update operations take an
    # empty field as "unchanged", so a form may fill only what changes.
    return (f"<form class='operation' method='post' action='{escape(base)}/{path}'>{inputs}"
            "<input type='hidden' name='format' value='api'>"
            f"<button type='submit'>{escape(button)}</button></form>")


SIGN_IN = ("<section id='sign-in-section'><h2>Sign in</h2>"
           "<form id='sign-in' method='post' action='{obtain}'>"
           "<label>User name <input id='username' name='username' autocomplete='username'"
           " required></label> "
           "<label>Password <input id='password' name='password' type='password'"
           " autocomplete='current-password' required></label> "
           "<button type='submit'>Sign in</button></form></section>")


def admin_page(data: Mapping[str, Sequence[Mapping[str, object]]] | None,
               base: str) -> str:
    """`base` is the URL path of /api/admin as the browser asked for it. Without
    `data` (nobody signed in yet) the tables are left to the page's script."""
    tables = "".join(_table(title, rows) for title, rows in (data or {}).items())
    forms = "".join(_form(base, *f) for f in FORMS)
    levels = ", ".join(f"{n} {name}" for n, name in LEVELS.items())
    obtain = escape(base.removesuffix("/admin") + "/jwt/obtain")
    hidden = "" if data is not None else " hidden"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>ws admin</title>"
            "<link rel='stylesheet' href='/static/app.css'>"
            f"</head><body data-base='{escape(base)}'><h1>ws administration</h1>"
            "<p id='status' role='status' aria-live='polite'></p>"
            + SIGN_IN.format(obtain=obtain) +
            f"<section id='admin-section'{hidden}>"
            "<p><button type='button' id='sign-out'>Sign out</button></p>"
            f"<div id='tables'>{tables}</div>"
            f"<h2>Operations</h2><p>Levels: {escape(levels)}</p>{forms}</section>"
            "<script src='/static/admin.js'></script></body></html>")
