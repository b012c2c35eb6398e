"""Read the exit records a run's job left in its folder."""

from __future__ import annotations

from pathlib import Path

from service.runs.folder import RunFolder
from service.runs.state import ExitRecords


def _int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def read_exit_records(folder: RunFolder) -> ExitRecords:
    return ExitRecords(snakemake=_int(folder.snakemake_exit),
                       command=_int(folder.command_exit),
                       modules_failed=(folder.status / "modules.exit").exists())
