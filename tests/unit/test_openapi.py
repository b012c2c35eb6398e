"""The OpenAPI description: every route documented, every documented path routed,
its schemas the models' own; the pages that serve it and the browser page."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from service.core.config import ClusterConfig, Config
from service.runs.parameters import RunParameters
from service.web.app import create_app
from service.web.openapi import openapi_document

from .conftest import ClientFactory

PAGES = {("get", "/"), ("get", "/static/{file}")}  # the browser page, not the API


def _routes(config: Config) -> set[tuple[str, str]]:
    app = create_app(config)
    return {(r.method.lower(), r.resource.canonical.rstrip("/") or "/")
            for r in app.router.routes() if r.method != "HEAD" and r.resource is not None}


def test_every_route_is_documented_and_every_documented_path_routed(config: Config) -> None:
    doc = openapi_document("http://127.0.0.1:8000")
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    routes = _routes(config)
    assert routes - PAGES == documented
    assert routes >= PAGES


def test_every_api_path_answers_with_a_trailing_slash_too(config: Config) -> None:
    app = create_app(config)
    canon = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    for path in openapi_document("x")["paths"]:
        assert path + "/" in canon, path


def test_the_schemas_are_the_models(config: Config) -> None:
    doc = openapi_document("x")
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    assert schemas["RunParameters"] == RunParameters.model_json_schema(
        ref_template="#/components/schemas/{model}")
    run = doc["paths"]["/api/software/{identity}/run/{name}"]["post"]
    form = run["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(RunParameters.model_fields) | {"file", "jwt"} == set(form["properties"])
    assert run["security"] == [{"bearer": []}]
    state = doc["paths"]["/api/software/{identity}/state/{name}/{key}"]["get"]
    assert {p["name"] for p in state["parameters"]} == {"identity", "name", "key", "wait",
                                                        "format"}
    listing = doc["paths"]["/api/run/list"]["get"]
    assert {"state", "software", "page", "per_page"} <= {p["name"] for p in
                                                         listing["parameters"]}
    for ops in doc["paths"].values():
        for op in ops.values():
            assert "200" in op["responses"] and "default" in op["responses"]


def _identity_schemas(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["schema"] for path, ops in doc["paths"].items() if "{identity}" in path
            for op in ops.values() for p in op["parameters"] if p["name"] == "identity"]


def test_the_identity_is_an_enum_of_the_configured_identities() -> None:
    schemas = _identity_schemas(openapi_document("x", "muse"))
    assert len(schemas) == 5  # run, state, results, content, cancel
    assert all(s == {"type": "string", "enum": ["muse"]} for s in schemas)
    two = openapi_document("x", ["muse", "other"])
    assert all(s["enum"] == ["muse", "other"] for s in _identity_schemas(two))
    assert two["info"]["x-cluster-identity"] == "muse"


async def test_the_served_description_names_the_configured_identity(
        aiohttp_client: ClientFactory, config: Config) -> None:
    hpc = replace(config, cluster=ClusterConfig(identity="hpc"))
    client = await aiohttp_client(create_app(hpc))
    doc = await (await client.get("/api/openapi.json")).json()
    assert {s["enum"][0] for s in _identity_schemas(doc)} == {"hpc"}
    assert doc["info"]["x-cluster-identity"] == "hpc"


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if "$ref" in value else set()
        return found.union(*(_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value))
    return set()


def test_every_reference_resolves() -> None:
    doc = openapi_document("x")
    names = set(doc["components"]["schemas"])
    assert {r.rsplit("/", 1)[1] for r in _refs(doc)} <= names


async def test_served_with_the_docs_and_the_browser_page(client: TestClient[Any, Any]) -> None:
    r = await client.get("/api/openapi.json")
    assert r.status == 200
    assert (await r.json())["info"]["x-cluster-identity"] == "muse"
    for path, marker in (("/api/docs", "docs.js"), ("/", "app.js"), ("/api/docs/", "docs.js")):
        r = await client.get(path)
        assert r.status == 200 and r.content_type == "text/html"
        assert marker in await r.text()
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    for name in ("app.js", "docs.js", "app.css"):
        assert (await client.get(f"/static/{name}")).status == 200


async def test_no_other_file_is_served(client: TestClient[Any, Any], tmp_path: Path) -> None:
    for name in ("..%2Fapp.py", ".hidden.js", "missing.js", "%2e%2e%2fkeys.py",
                 "..%2F..%2Fhandlers%2Fpages.py"):
        r = await client.get(f"/static/{name}")
        assert r.status == 404, name
        assert (await r.json())["type"] == "not_found"


def test_no_page_loads_anything_from_elsewhere() -> None:
    static = Path(__file__).resolve().parents[2] / "service" / "web" / "static"
    for page in static.iterdir():
        text = page.read_text()
        assert "http://" not in text and "https://" not in text, page.name
        assert "<script>" not in text and "style=" not in text, page.name  # CSP: no inline
