"""GET /api/admin and the admin JSON API: admins only, same rules as the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from service.accounts import passwords, users
from service.catalogue import access
from service.catalogue import softwares as catalogue
from service.core.store import Store

from .helpers import PASSWORD, assert_error_shape, token_for

OPERATIONS = ["user/add", "user/remove", "user/password", "user/update", "software/add",
              "software/update", "software/remove", "container/add", "container/update",
              "container/remove", "access/grant", "access/revoke"]


class Admin:
    def __init__(self, client: TestClient[Any, Any], token: str) -> None:
        self.client, self.token = client, token

    async def post(self, operation: str, status: int = 200, **values: Any) -> Any:
        resp = await self.client.post(f"/api/admin/{operation}", json=values,
                                      headers={"Authorization": f"Bearer {self.token}"})
        body = await resp.json()
        assert resp.status == status, body
        if status != 200:
            assert_error_shape(body, body["type"])
        return body


@pytest.fixture
async def admin(client: TestClient[Any, Any], catalogue_data: Store) -> Admin:
    return Admin(client, await token_for(client, "alice"))


async def test_overview_json(client: TestClient[Any, Any], admin: Admin) -> None:
    resp = await client.get("/api/admin", params={"jwt": admin.token})
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"users", "containers", "softwares", "access"}
    assert body["users"][0] == {"name": "alice", "is_admin": True}
    assert {"user": "carol", "kind": "container", "target": "c1", "level": 3} in body["access"]
    assert [s["name"] for s in body["softwares"]] == ["lonely", "other", "sw_example"]


async def test_overview_formats(client: TestClient[Any, Any], admin: Admin) -> None:
    resp = await client.get("/api/admin/", params={"jwt": admin.token, "format": "yaml"})
    assert set(yaml.safe_load(await resp.text())) == {"users", "containers", "softwares",
                                                      "access"}
    resp = await client.get("/api/admin", params={"jwt": admin.token, "format": "xml"})
    assert resp.content_type == "application/xml"
    for kwargs in ({"params": {"jwt": admin.token, "format": "api"}},
                   {"params": {"jwt": admin.token},
                    "headers": {"Accept": "text/html,application/xhtml+xml"}}):
        resp = await client.get("/api/admin", **kwargs)  # type: ignore[arg-type]
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
        assert "<td>carol</td>" in page and "action='/api/admin/user/add'" in page
    # An explicit format wins over the browser's Accept.
    resp = await client.get("/api/admin", params={"jwt": admin.token, "format": "json"},
                            headers={"Accept": "text/html"})
    assert resp.content_type == "application/json"


async def test_overview_page_escapes(client: TestClient[Any, Any], admin: Admin) -> None:
    await admin.post("software/update", name="other", desc="<script>alert(1)</script>")
    resp = await client.get("/api/admin", params={"jwt": admin.token, "format": "api"})
    page = await resp.text()
    assert "<script>" not in page and "&lt;script&gt;" in page


async def test_non_admin_is_refused_everywhere(client: TestClient[Any, Any],
                                               catalogue_data: Store) -> None:
    token = await token_for(client, "carol")
    resp = await client.get("/api/admin", params={"jwt": token})
    assert resp.status == 403
    assert_error_shape(await resp.json(), "forbidden")
    for operation in OPERATIONS:
        resp = await client.post(f"/api/admin/{operation}",
                                 data={"jwt": token, "name": "carol", "user": "carol",
                                       "software": "sw_example", "level": "4"})
        assert resp.status == 403, operation
        assert_error_shape(await resp.json(), "forbidden")
    assert not users.get_user(catalogue_data, "carol").is_admin  # type: ignore[union-attr]
    assert access.list_grants(catalogue_data, "carol")[0].level == 3


async def test_no_token(client: TestClient[Any, Any]) -> None:
    for operation in OPERATIONS:
        resp = await client.post(f"/api/admin/{operation}", data={"name": "x"})
        assert resp.status == 401, operation


async def test_users(client: TestClient[Any, Any], admin: Admin, store: Store) -> None:
    body = await admin.post("user/add", name="dave", password="dave's password",
                            admin="no")
    assert body["user"] == {"name": "dave", "is_admin": False}
    assert await token_for(client, "dave", "dave's password")
    await admin.post("user/password", name="dave", password="a new password")
    assert await token_for(client, "dave", "a new password")
    body = await admin.post("user/update", name="dave", admin=True)
    assert body["user"]["is_admin"] is True
    await admin.post("user/remove", name="dave")
    assert users.get_user(store, "dave") is None

    await admin.post("user/add", 409, name="bob", password=PASSWORD)
    await admin.post("user/add", 400, name="bad name", password=PASSWORD)
    await admin.post("user/add", 400, name="eve", password="short")
    await admin.post("user/add", 400, name="eve")
    await admin.post("user/add", 400, name="eve", password=PASSWORD, admin="maybe")
    await admin.post("user/remove", 404, name="nobody")
    await admin.post("user/password", 404, name="nobody", password=PASSWORD)
    await admin.post("user/update", 404, name="nobody", admin="yes")


async def test_user_add_hashes_off_the_loop(admin: Admin, store: Store,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    threads: list[str] = []
    real = passwords.hash_password

    def spy(password: str) -> str:
        threads.append(threading.current_thread().name)
        return real(password)

    monkeypatch.setattr("service.web.handlers.admin.hash_password", spy)
    await admin.post("user/add", name="dave", password=PASSWORD)
    assert threads and threads[0] != threading.main_thread().name


async def test_containers(admin: Admin, store: Store, image: Path, tmp_path: Path) -> None:
    body = await admin.post("container/add", name="c3", type="docker", image=str(image),
                            desc="third")
    assert body["container"] == {"name": "c3", "type": "docker", "image": str(image),
                                 "desc": "third"}
    other = tmp_path / "other.sif"
    other.write_bytes(b"SIF")
    body = await admin.post("container/update", name="c3", image=str(other), desc="")
    assert body["container"]["image"] == str(other)
    assert body["container"]["desc"] == "third"  # empty means unchanged
    await admin.post("container/remove", name="c3")
    assert [c.name for c in catalogue.list_containers(store)] == ["c1", "c2"]

    await admin.post("container/add", 409, name="c1", type="singularity", image=str(image))
    await admin.post("container/add", 400, name="c4", type="podman", image=str(image))
    await admin.post("container/add", 400, name="c4", type="singularity",
                     image=str(tmp_path / "missing.sif"))
    await admin.post("container/add", 400, name="c4", type="singularity", image="rel.sif")
    await admin.post("container/update", 404, name="nothing", desc="x")
    body = await admin.post("container/remove", 409, name="c1")
    assert "software sw_example" in body["more"]


async def test_softwares(client: TestClient[Any, Any], admin: Admin, store: Store) -> None:
    body = await admin.post("software/add", name="new_sw", container="c2", desc="d",
                            shortname="n", urls={"doc": "https://example.org"},
                            keywords=["k"])
    assert body["software"] == {"name": "new_sw", "container": "c2", "desc": "d",
                                "shortname": "n", "urls": {"doc": "https://example.org"},
                                "keywords": ["k"]}
    # Forms send the JSON fields as text.
    resp = await client.post("/api/admin/software/update",
                             data={"jwt": admin.token, "name": "new_sw", "container": "c1",
                                   "keywords": '["a", "b"]', "urls": "{}", "desc": ""})
    assert resp.status == 200
    detail = await (await client.get("/api/software/detail/new_sw")).json()
    assert detail["info"]["sw"] == {"desc": "d", "shortname": "n", "urls": {},
                                    "keywords": ["a", "b"]}
    assert detail["info"]["cont"]["name"] == "c1"
    await admin.post("software/remove", name="new_sw")
    await admin.post("software/remove", 404, name="new_sw")

    await admin.post("software/add", 409, name="other", container="c1")
    await admin.post("software/add", 404, name="x", container="nothing")
    await admin.post("software/add", 400, name="x", container="c1", urls="[1]")
    await admin.post("software/add", 400, name="x", container="c1", urls="{not json")
    await admin.post("software/add", 400, name="x", container="c1", keywords={"a": 1})
    await admin.post("software/add", 400, name="x", container="c1",
                     urls={"doc": "file:///etc/passwd"})
    await admin.post("software/add", 400, name="x", container="c1", keywords=[""])
    await admin.post("software/update", 404, name="nothing", desc="x")


async def test_access(client: TestClient[Any, Any], admin: Admin, store: Store) -> None:
    body = await admin.post("access/grant", user="carol", software="lonely", level=4)
    assert body["grant"] == {"user": "carol", "software": "lonely", "level": 4,
                             "level_name": "admin"}
    await admin.post("access/grant", user="bob", container="c1", level="3")
    resp = await client.get("/api/software/other/access/3/user/name/list",
                            params={"jwt": admin.token})
    assert await resp.json() == ["bob", "carol"]
    await admin.post("access/revoke", user="carol", software="lonely")
    await admin.post("access/revoke", 404, user="carol", software="lonely")

    for level in (0, 5, "x", None, 1.5):
        await admin.post("access/grant", 400, user="bob", software="other", level=level)
    await admin.post("access/grant", 400, user="bob", level=1)  # no target
    await admin.post("access/grant", 400, user="bob", software="other", container="c1",
                     level=1)
    await admin.post("access/grant", 404, user="nobody", software="other", level=1)
    await admin.post("access/grant", 404, user="bob", software="nothing", level=1)


async def test_bad_format(client: TestClient[Any, Any], admin: Admin) -> None:
    resp = await client.post("/api/admin/user/add", data={"jwt": admin.token,
                                                          "format": "txt"})
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_parameter")


async def test_errors_in_yaml(client: TestClient[Any, Any], admin: Admin) -> None:
    resp = await client.post("/api/admin/user/remove", data={"jwt": admin.token,
                                                             "name": "nobody",
                                                             "format": "yaml"})
    assert resp.status == 404
    assert set(yaml.safe_load(await resp.text())) == {"error", "more", "type"}
