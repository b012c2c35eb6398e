"""Atomic writes: a reader sees the old file or the new one, never half of it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str, mode: int = 0o644, durable: bool = True) -> None:
    """durable=False skips the fsync: for files in a staging folder, which only
    become visible through a later rename."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    tmp.chmod(mode)
    os.replace(tmp, path)


def write_json(path: Path, data: Any, durable: bool = True) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", durable=durable)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
