"""The public catalogue endpoints and the access-relation endpoints."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml
from aiohttp.test_utils import TestClient

from service.core.store import Store

from .helpers import assert_error_shape, token_for

SW_EXAMPLE_INFO = {"desc": "adds numbers", "shortname": "add",
                   "urls": {"doc": "https://example.org/doc"}, "keywords": ["math"]}


async def test_software_list(client: TestClient[Any, Any], catalogue_data: Store) -> None:
    resp = await client.get("/api/software/list")
    assert resp.status == 200
    body = await resp.json()
    assert [s["name"] for s in body] == ["lonely", "other", "sw_example"]
    assert body[2] == {"name": "sw_example", "info": {"sw": SW_EXAMPLE_INFO}}
    assert body[0]["info"]["sw"] == {"desc": "", "shortname": "", "urls": {},
                                     "keywords": []}


async def test_empty_catalogue(client: TestClient[Any, Any]) -> None:
    assert await (await client.get("/api/software/list/")).json() == []
    assert await (await client.get("/api/container/list/")).json() == []


async def test_software_detail(client: TestClient[Any, Any], catalogue_data: Store,
                               image: Any) -> None:
    resp = await client.get("/api/software/detail/sw_example/")
    assert resp.status == 200
    assert await resp.json() == {
        "name": "sw_example",
        "info": {"sw": SW_EXAMPLE_INFO,
                 "cont": {"name": "c1", "type": "singularity", "image": str(image),
                          "desc": "first"}}}


async def test_container_list(client: TestClient[Any, Any], catalogue_data: Store,
                              image: Any) -> None:
    body = await (await client.get("/api/container/list")).json()
    assert body == [
        {"name": "c1", "info": {"cont": {"name": "c1", "type": "singularity",
                                         "image": str(image), "desc": "first"}}},
        {"name": "c2", "info": {"cont": {"name": "c2", "type": "docker",
                                         "image": str(image), "desc": "second"}}},
    ]


@pytest.mark.parametrize("name", ["nothing", "..", "%2e%2e", "a%2Fb"])
async def test_unknown_software(client: TestClient[Any, Any], catalogue_data: Store,
                                name: str) -> None:
    resp = await client.get(f"/api/software/detail/{name}")
    assert resp.status == 404
    assert_error_shape(await resp.json(), "not_found")


async def test_every_format(client: TestClient[Any, Any], catalogue_data: Store) -> None:
    json_body = await (await client.get("/api/software/list")).json()
    resp = await client.get("/api/software/list", params={"format": "json"})
    assert resp.content_type == "application/json" and await resp.json() == json_body

    resp = await client.get("/api/software/list", params={"format": "yaml"})
    assert resp.content_type == "application/yaml"
    assert yaml.safe_load(await resp.text()) == json_body

    resp = await client.get("/api/software/list", params={"format": "xml"})
    assert resp.content_type == "application/xml"
    root = ET.fromstring(await resp.text())
    assert [item.findtext("name") for item in root] == ["lonely", "other", "sw_example"]
    assert root[2].findtext("info/sw/urls/doc") == "https://example.org/doc"

    resp = await client.get("/api/software/list", params={"format": "api"})
    assert resp.content_type == "text/html"
    assert "sw_example" in await resp.text()


async def test_format_in_every_encoding(client: TestClient[Any, Any],
                                        catalogue_data: Store) -> None:
    resp = await client.get("/api/container/list?format=yaml")
    assert resp.content_type == "application/yaml"
    resp = await client.get("/api/software/detail/sw_example?format=xml")
    assert resp.content_type == "application/xml"


@pytest.mark.parametrize("path", ["/api/software/list", "/api/container/list",
                                  "/api/software/detail/sw_example"])
async def test_bad_format(client: TestClient[Any, Any], catalogue_data: Store,
                          path: str) -> None:
    resp = await client.get(path, params={"format": "html"})
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_parameter")


async def test_unknown_software_error_in_yaml(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/api/software/detail/nothing", params={"format": "yaml"})
    assert resp.status == 404
    assert set(yaml.safe_load(await resp.text())) == {"error", "more", "type"}


# ---- access relations ------------------------------------------------------------------

async def _get(client: TestClient[Any, Any], path: str, token: str) -> tuple[int, Any]:
    resp = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    return resp.status, await resp.json()


async def test_relations_as_admin(client: TestClient[Any, Any],
                                  catalogue_data: Store) -> None:
    token = await token_for(client, "alice")
    expected = {
        "/api/software/sw_example/access/user/name/list": ["bob", "carol"],
        "/api/software/sw_example/access/2/user/name/list": ["bob"],
        "/api/software/sw_example/access/3/user/name/list/": ["carol"],
        "/api/software/other/access/user/name/list": ["carol"],  # through c1
        "/api/software/lonely/access/1/user/name/list": ["bob"],
        "/api/software/lonely/access/4/user/name/list": [],
        "/api/user/bob/access/software/name/list": ["lonely", "sw_example"],
        "/api/user/bob/access/1/software/name/list": ["lonely"],
        "/api/user/carol/access/software/name/list": ["other", "sw_example"],
        "/api/user/carol/access/3/software/name/list": ["other", "sw_example"],
        "/api/user/alice/access/software/name/list": [],
        "/api/container/c1/access/user/name/list": ["carol"],
        "/api/container/c2/access/1/user/name/list": ["bob"],
        "/api/container/c2/access/2/user/name/list": [],
        "/api/user/bob/access/container/name/list": ["c2"],
        "/api/user/carol/access/3/container/name/list": ["c1"],
        "/api/user/carol/access/1/container/name/list": [],
    }
    for path, names in expected.items():
        assert await _get(client, path, token) == (200, names), path


async def test_relations_take_the_token_as_parameter(client: TestClient[Any, Any],
                                                     catalogue_data: Store) -> None:
    token = await token_for(client, "bob")
    resp = await client.get("/api/user/bob/access/container/name/list",
                            params={"jwt": token, "format": "yaml"})
    assert resp.status == 200
    assert yaml.safe_load(await resp.text()) == ["c2"]


async def test_non_admin_sees_only_own_relations(client: TestClient[Any, Any],
                                                 catalogue_data: Store) -> None:
    token = await token_for(client, "bob")
    visible = {
        "/api/software/sw_example/access/user/name/list": ["bob"],  # not carol
        "/api/software/sw_example/access/3/user/name/list": [],
        "/api/software/other/access/user/name/list": [],
        "/api/container/c1/access/user/name/list": [],
        "/api/container/c2/access/user/name/list": ["bob"],
        "/api/user/bob/access/software/name/list": ["lonely", "sw_example"],
        "/api/user/bob/access/2/software/name/list": ["sw_example"],
        "/api/user/bob/access/container/name/list": ["c2"],
    }
    for path, names in visible.items():
        assert await _get(client, path, token) == (200, names), path
    for path in ("/api/user/carol/access/software/name/list",
                 "/api/user/carol/access/3/container/name/list",
                 "/api/user/nobody/access/software/name/list"):
        status, body = await _get(client, path, token)
        assert status == 403, path
        assert_error_shape(body, "forbidden")


@pytest.mark.parametrize("level", ["0", "5", "x", "-1", "1.0"])
async def test_bad_level(client: TestClient[Any, Any], catalogue_data: Store,
                         level: str) -> None:
    token = await token_for(client, "alice")
    for path in (f"/api/software/sw_example/access/{level}/user/name/list",
                 f"/api/user/bob/access/{level}/software/name/list",
                 f"/api/container/c1/access/{level}/user/name/list",
                 f"/api/user/bob/access/{level}/container/name/list"):
        status, body = await _get(client, path, token)
        assert status == 400, path
        assert_error_shape(body, "bad_parameter")


async def test_unknown_targets(client: TestClient[Any, Any], catalogue_data: Store) -> None:
    token = await token_for(client, "alice")
    for path in ("/api/software/nothing/access/user/name/list",
                 "/api/container/nothing/access/user/name/list",
                 "/api/user/nobody/access/container/name/list"):
        status, body = await _get(client, path, token)
        assert status == 404, path
        assert_error_shape(body, "not_found")


async def test_relations_need_a_token(client: TestClient[Any, Any],
                                      catalogue_data: Store) -> None:
    resp = await client.get("/api/container/c1/access/user/name/list")
    assert resp.status == 401
    assert_error_shape(await resp.json(), "unauthorized")
