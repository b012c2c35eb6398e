"""Response formats: json (default), api (readable HTML), yaml, xml.

A run's stdout can be tens of megabytes; rendering it must not hold the event
loop (every other client waits meanwhile): render_stdout renders a big one in
a worker thread, and refuses it past MAX_STDOUT_HELD in the formats whose
encoders run in one piece (a long one as JSON is streamed: web/answers.py)."""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any
from xml.etree import ElementTree as ET

import yaml
from aiohttp import web

from service.core.errors import TooLarge
from service.core.params import FORMATS as FORMATS
from service.runs.results import MAX_STDOUT_HELD

# libyaml's emitter when PyYAML has it (same output, ~50x faster).
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Up to this, a stdout is rendered inline (a few milliseconds in any format).
SMALL_STDOUT = 256 * 1024


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
        text = yaml.dump(data, Dumper=YAML_DUMPER, sort_keys=False, allow_unicode=True)
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


async def render_stdout(stdout: str, report: dict[str, Any], fmt: str) -> web.Response:
    """{"info": {"stdout", "report"}} in `fmt`, without holding the event loop."""
    data: dict[str, Any] = {"info": {"stdout": stdout, "report": report}}
    if len(stdout) <= SMALL_STDOUT:
        return render(data, fmt)
    # Beyond MAX_STDOUT_HELD, yaml, xml and api are refused: their encoders run in
    # one piece (seconds for tens of MB, holding the interpreter lock).
    if fmt != "json" and len(stdout.encode()) > MAX_STDOUT_HELD:
        raise TooLarge(f"stdout is over {MAX_STDOUT_HELD} bytes: too large for "
                       f"format={fmt}",
                       ["ask for format=json, or for returned_type stdout.txt"])
    return await asyncio.to_thread(render, data, fmt)
