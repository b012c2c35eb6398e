"""Retention: final runs and downloads older than limits.retention_days are
deleted by the service itself, so the disk does not fill up with old results.

A background task (run_retention, started by the web app's cleanup_ctx) sweeps every
limits.retention_check_s seconds. Live runs (cr WAIT) are never touched. The
index is used from the event loop only (one SQLite connection); the file
deletions run in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.core.config import Config
from service.runs import legacy_folders, removal
from service.runs.folder import KEY_RE, STAGING, run_path
from service.runs.ledger import Ledger
from service.runs.results import DOWNLOAD_KEY_RE

log = logging.getLogger(__name__)
DAY_S = 86400.0
# Leftovers of requests cut short by a crash; a staging folder in use lives for
# one request only, so a day is far beyond any of them.
STAGING_MIN_AGE_S = DAY_S


@dataclass(frozen=True)
class SweepResult:
    runs: tuple[str, ...]
    downloads: tuple[str, ...]


def max_age_s(config: Config) -> float:
    return config.limits.retention_days * DAY_S


def download_created(key: str) -> float | None:
    """When a download was stored, from its key (YYYYMMDD_HHMMSS_<uuid>, UTC)."""
    try:
        return datetime.strptime(key[:15], "%Y%m%d_%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def remove_run_folders(runs_dir: Path, keys: list[str]) -> list[str]:
    """Remove these runs' folders; the keys of those that are gone."""
    gone = []
    for key in keys:
        # Never a path built from anything but a key.
        if KEY_RE.fullmatch(key) and removal.remove(run_path(runs_dir, key)):
            legacy_folders.remove_link(runs_dir, key)
            gone.append(key)
    return gone


def remove_old_downloads(downloads_dir: Path, cutoff: float) -> list[str]:
    """Delete downloads stored before `cutoff` (and crash leftovers `.KEY.tmp`)."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(downloads_dir))
    except FileNotFoundError:
        return removed
    for entry in entries:
        name = entry.name
        key = name[1:-4] if name.startswith(".") and name.endswith(".tmp") else name
        if not DOWNLOAD_KEY_RE.fullmatch(key):
            continue
        created = download_created(key)
        if created is None or created >= cutoff:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if key == name:
            removed.append(key)
    return removed


def remove_stale_staging(runs_dir: Path, cutoff: float) -> None:
    staging = runs_dir / STAGING
    try:
        entries = list(os.scandir(staging))
    except FileNotFoundError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)


async def sweep(ledger: Ledger, config: Config, now: float) -> SweepResult:
    """One pass: delete what is older than the retention age at `now`."""
    age = max_age_s(config)
    cutoff = now - age
    old = [entry.key for entry in ledger.store.runs_older_than(cutoff)]
    # Folder first, then the index entry: a crash in between, or a folder that
    # could not be removed whole, leaves an index entry the next pass tries
    # again, never a folder nobody knows of.
    if config.identity.unix:  # each user's own folders, removed as the user
        gone = await asyncio.to_thread(lambda: [k for k in old if ledger.placement.remove(k)])
    else:
        gone = await asyncio.to_thread(remove_run_folders, config.runs_dir, old)
    for key in gone:
        ledger.forget(key)
    if len(gone) < len(old):
        log.warning("retention: %d old run folders could not be removed whole; tried "
                    "again at the next pass", len(old) - len(gone))
    old = gone
    downloads = await asyncio.to_thread(remove_old_downloads, config.downloads_dir, cutoff)
    await asyncio.to_thread(remove_stale_staging, config.runs_dir,
                            now - max(age, STAGING_MIN_AGE_S))
    return SweepResult(tuple(old), tuple(downloads))


async def run_retention(ledger: Ledger, config: Config,
                        clock: Callable[[], float] = time.time) -> None:
    """Sweep forever, every limits.retention_check_s seconds."""
    while True:
        try:
            result = await sweep(ledger, config, clock())
            if result.runs or result.downloads:
                log.info("retention: deleted %d runs and %d downloads older than %g days",
                         len(result.runs), len(result.downloads),
                         config.limits.retention_days)
        except Exception:
            # A failing pass (a disk error, a locked database) must not end retention.
            log.exception("retention pass failed")
        await asyncio.sleep(max(0.1, config.limits.retention_check_s))
