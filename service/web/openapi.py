"""The OpenAPI 3.1 description, built from the operation table
(service.web.openapi_table) and the pydantic models that validate parameters and
shape answers: the JSON Schemas are theirs, never written by hand."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.core.params import FORMATS
from service.runs.parameters import RunParameters
from service.web.api_models import ErrorBody
from service.web.openapi_table import FILE, HTML, JSON, OPERATIONS, Op

REF = "#/components/schemas/{model}"
OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "application/yaml": {}, "application/xml": {}, "text/html": {}}
FILE_TYPES = {"application/zip": {"schema": {"type": "string",
                                              "contentMediaType": "application/zip"}},
              "text/plain": {"schema": {"type": "string"}}}
PATH_PARAMS = {
    "identity": "the cluster resource: one of the identities this service is configured with",
    "name": "a software's name", "key": "the run's key (a capability)",
    "softwarename": "a software's name", "containername": "a container's name",
    "username": "a user's name", "id": "a TES task's id",
    "level": "an access level: 1 visitor, 2 user, 3 superuser, 4 admin",
}


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorBody, RunParameters]
    for op in OPERATIONS:
        for model in ([] if op.answer is None else
                      op.answer if isinstance(op.answer, list) else [op.answer]):
            found.append(model)
        found += [x for x in (op.body, op.query_model) if x is not None]
    return list(dict.fromkeys(found))


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _answer_schema(op: Op) -> dict[str, Any]:
    if op.answer is None:
        schema: dict[str, Any] = {"type": "string"}
    elif isinstance(op.answer, list):
        schema = {"oneOf": [_ref(a) for a in op.answer]}
    else:
        schema = _ref(op.answer)
    if op.list_of:
        return {"type": "array", "items": schema}
    return schema


def _success(op: Op) -> dict[str, Any]:
    if op.kind == HTML:
        return {"text/html": {"schema": {"type": "string"}}}
    content: dict[str, Any] = {"application/json": {"schema": _answer_schema(op)}}
    if op.kind == FILE:
        content.update(FILE_TYPES)
        if op.answer is None:
            del content["application/json"]
    if op.kind == JSON and not op.extra.get("plain"):
        content.update(OTHER_FORMATS)
    if op.extra.get("html"):
        content["text/html"] = {"schema": {"type": "string"}}
    return content


def _parameters(op: Op, schemas: dict[str, Any],
                path_schemas: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True,
               "description": PATH_PARAMS.get(name, name),
               "schema": path_schemas.get(name, {"type": "string"})}
              for name in re.findall(r"{(\w+)}", op.path)]
    params += [{"name": name, "in": "query", "description": text, "schema": schema}
               for name, schema, text in op.query]
    if op.query_model is not None:
        schema = schemas[op.query_model.__name__]
        params += [{"name": name, "in": "query", "description": prop.get("description", ""),
                    "schema": {k: v for k, v in prop.items() if k != "description"}}
                   for name, prop in schema["properties"].items()]
    if op.kind != HTML and not op.extra.get("plain"):
        params.append({"name": "format", "in": "query", "description": "answer format",
                       "schema": {"type": "string", "enum": list(FORMATS)}})
    return params


def _body(op: Op, schemas: dict[str, Any]) -> dict[str, Any] | None:
    if op.run_body:
        run = schemas["RunParameters"]
        form = {"type": "object", "properties": {
            **run["properties"],
            "file": {"type": "array", "description": "0..n files; a zip is also unzipped",
                     "items": {"type": "string", "contentMediaType":
                               "application/octet-stream"}},
            "jwt": {"type": "string", "description": "the token (or the Bearer header)"}}}
        return {"content": {"multipart/form-data": {"schema": form},
                            "application/json": {"schema": _ref(RunParameters)},
                            "application/x-www-form-urlencoded": {"schema": _ref(
                                RunParameters)}}}
    if op.body is not None:
        types = ("application/json",) if op.extra.get("json_body") else (
            "application/json", "application/x-www-form-urlencoded")
        return {"content": {t: {"schema": _ref(op.body)} for t in types},
                **({"required": True} if op.extra.get("json_body") else {})}
    return None


def _operation(op: Op, schemas: dict[str, Any],
               path_schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    error = {"description": "an error, in the one error shape",
             "content": {"application/json": {"schema": _ref(ErrorBody)}, **OTHER_FORMATS}}
    out: dict[str, Any] = {
        "summary": op.summary, "tags": [op.tag],
        "operationId": op.extra.get("operation_id") or
        f"{op.method}_{re.sub(r'[^a-z0-9]+', '_', op.path[5:]).strip('_')}",
        "parameters": _parameters(op, schemas, path_schemas),
        "responses": {"200": {"description": op.summary, "content": _success(op)},
                      "default": error},
    }
    if op.description:
        out["description"] = op.description
    body = _body(op, schemas)
    if body is not None:
        out["requestBody"] = body
    if op.auth == "token":
        out["security"] = [{"bearer": []}]
    elif op.auth == "key":
        out["security"] = [{}, {"bearer": []}]  # the key suffices unless the site asks
    return out


def openapi_document(public_url: str,
                     identities: str | Sequence[str] = "muse") -> dict[str, Any]:
    """`identities`: the cluster identities the service answers to; a generated client
    learns them from the `identity` path parameter's enum instead of from prose."""
    names = [identities] if isinstance(identities, str) else list(identities)
    path_schemas = {"identity": {"type": "string", "enum": names}}
    _, defs = models_json_schema([(model, "validation") for model in _models()],
                                 ref_template=REF)
    schemas: dict[str, Any] = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas, path_schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ws", "version": "1",
                 "description": "Run containerized software on a Slurm cluster over HTTP. "
                                "A trailing slash is optional on every path; parameters "
                                "may come as JSON, a form, multipart or the query string.",
                 "x-cluster-identity": names[0]},
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "bearerFormat": "JWT"}}},
    }
