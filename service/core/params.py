"""A request's parameters as the client sent them, whatever the encoding (the web
layer reads them into a Params), and the checks every reader of them shares."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.core.errors import InvalidParameter

# The response formats a client may ask for with `format`.
FORMATS = ("json", "api", "yaml", "xml")


@dataclass(frozen=True)
class UploadedFile:
    name: str
    path: Path
    size: int


@dataclass
class Params:
    values: dict[str, Any] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def text(self, name: str, default: str = "") -> str:
        """A scalar parameter as a string; lists and objects are refused."""
        return scalar_text(name, self.values.get(name, default), default)

    def json_value(self, name: str, kinds: tuple[type, ...], what: str) -> Any:
        return json_value(name, self.values.get(name), kinds, what)


def scalar_text(name: str, value: Any, default: str = "") -> str:
    """A scalar value as a string (booleans as yes/no); lists and objects are refused."""
    if value is None:
        return default
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise InvalidParameter(f"parameter {name!r} must be a string")
    return value


def json_value(name: str, value: Any, kinds: tuple[type, ...], what: str) -> Any:
    """A JSON list or object, given as such (JSON body) or as JSON text (forms,
    query string); None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as e:
            raise InvalidParameter(f"{name} must be {what}", [str(e)]) from e
    if not isinstance(value, kinds):
        raise InvalidParameter(f"{name} must be {what}")
    return value


def check_file_name(name: str) -> str:
    """An uploaded file keeps its base name; anything that could name another
    place, or that a shell or terminal could misread, is refused."""
    if not name or name in (".", "..") or len(name.encode()) > 255:
        raise InvalidParameter(f"bad file name {name!r}", ["a plain file name is expected"])
    bad = [c for c in name if c in "/\\" or unicodedata.category(c)[0] == "C"]
    if bad:
        raise InvalidParameter(f"bad file name {name!r}",
                               ["file names may not contain path separators, NUL or "
                                "control characters"])
    return name
