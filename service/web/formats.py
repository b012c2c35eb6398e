"""Response formats: json (default), api (readable HTML), yaml, xml."""

from __future__ import annotations

import html
import json
from typing import Any
from xml.etree import ElementTree as ET

import yaml
from aiohttp import web

from service.core.params import FORMATS as FORMATS


def _to_xml(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            tag = str(k) if str(k).isidentifier() else "item"
            child = ET.SubElement(parent, tag)
            if tag != str(k):
                child.set("key", str(k))
            _to_xml(child, v)
    elif isinstance(value, list):
        for v in value:
            _to_xml(ET.SubElement(parent, "item"), v)
    elif value is None:
        parent.set("null", "true")
    else:
        parent.text = str(value).lower() if isinstance(value, bool) else str(value)


def render(data: Any, fmt: str = "json", status: int = 200,
           headers: dict[str, str] | None = None) -> web.Response:
    """Serialise `data` in the asked format (unknown formats were refused earlier)."""
    if fmt == "yaml":
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return web.Response(text=text, status=status, content_type="application/yaml",
                            headers=headers)
    if fmt == "xml":
        root = ET.Element("response")
        _to_xml(root, data)
        text = ET.tostring(root, encoding="unicode", xml_declaration=True)
        return web.Response(text=text, status=status, content_type="application/xml",
                            headers=headers)
    if fmt == "api":
        pretty = html.escape(json.dumps(data, indent=2, ensure_ascii=False))
        page = ("<!doctype html><html><head><meta charset='utf-8'><title>ws</title></head>"
                f"<body><h1>ws</h1><pre>{pretty}</pre></body></html>")
        return web.Response(text=page, status=status, content_type="text/html",
                            headers=headers)
    return web.json_response(data, status=status, headers=headers,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))
