"""Retention: old final runs and downloads go, live and recent ones stay."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.core.config import Config, LimitsConfig
from service.core.store import Store
from service.runs.folder import run_path
from service.runs.ledger import Ledger
from service.runs.retention import download_created, run_retention, sweep


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg = Config(state_dir=tmp_path / "state", runs_dir=tmp_path / "runs",
                 limits=LimitsConfig(retention_days=1.0, retention_check_s=0.05))
    cfg.runs_dir.mkdir(parents=True)
    cfg.downloads_dir.mkdir(parents=True)
    return cfg


@pytest.fixture
def store(config: Config) -> Store:
    return Store(config.database)


def add_run(store: Store, config: Config, age_s: float, cr: str) -> str:
    key = str(uuid.uuid4())
    store.add_run(key, "sw_example", "alice", "local")
    store.db.execute("UPDATE runs SET created = ?, cr = ? WHERE key = ?",
                     (time.time() - age_s, cr, key))
    (run_path(config.runs_dir, key) / "work").mkdir(parents=True)
    (run_path(config.runs_dir, key) / "request.json").write_text("{}")
    return key


def add_download(config: Config, age_s: float, tmp: bool = False) -> str:
    stamp = datetime.fromtimestamp(time.time() - age_s, UTC)
    key = f"{stamp:%Y%m%d_%H%M%S}_{uuid.uuid4()}"
    folder = config.downloads_dir / (f".{key}.tmp" if tmp else key)
    folder.mkdir()
    (folder / "stdout.txt").write_text("9.0\n")
    return key


async def test_sweep_deletes_old_final_runs_and_downloads_only(config: Config,
                                                               store: Store) -> None:
    day = 86400.0
    old_ok = add_run(store, config, 2 * day, "OK")
    old_nok = add_run(store, config, 2 * day, "NOK")
    old_live = add_run(store, config, 2 * day, "WAIT")
    recent = add_run(store, config, 60, "OK")
    old_dl, new_dl = add_download(config, 2 * day), add_download(config, 60)
    leftover = add_download(config, 2 * day, tmp=True)
    (config.downloads_dir / "not-a-key").mkdir()
    result = await sweep(Ledger(store, config.runs_dir), config, time.time())
    assert set(result.runs) == {old_ok, old_nok}
    assert result.downloads == (old_dl,)
    for key in (old_ok, old_nok):
        assert not (run_path(config.runs_dir, key)).exists() and store.get_run(key) is None
    for key in (old_live, recent):
        assert (run_path(config.runs_dir, key)).is_dir() and store.get_run(key) is not None
    assert sorted(p.name for p in config.downloads_dir.iterdir()) == sorted(
        [new_dl, "not-a-key"])
    assert not (config.downloads_dir / f".{leftover}.tmp").exists()


async def test_an_index_entry_without_folder_is_removed(config: Config, store: Store) -> None:
    key = add_run(store, config, 3 * 86400, "OK")
    (run_path(config.runs_dir, key) / "request.json").unlink()
    (run_path(config.runs_dir, key) / "work").rmdir()
    (run_path(config.runs_dir, key)).rmdir()
    assert (await sweep(Ledger(store, config.runs_dir), config, time.time())).runs == (key,)
    assert store.get_run(key) is None


async def test_stale_staging_goes_after_a_day(config: Config, store: Store) -> None:
    staging = config.runs_dir / ".staging"
    old, fresh = staging / "old", staging / "fresh"
    old.mkdir(parents=True)
    fresh.mkdir()
    past = time.time() - 2 * 86400
    os.utime(old, (past, past))
    await sweep(Ledger(store, config.runs_dir), config, time.time())
    assert not old.exists() and fresh.exists()


async def test_the_background_task_sweeps_periodically(config: Config, store: Store) -> None:
    task = asyncio.create_task(run_retention(Ledger(store, config.runs_dir), config))
    try:
        await asyncio.sleep(0.1)
        key = add_run(store, config, 2 * 86400, "OK")
        for _ in range(50):
            if store.get_run(key) is None:
                break
            await asyncio.sleep(0.02)
        assert store.get_run(key) is None and not (run_path(config.runs_dir, key)).exists()
    finally:
        task.cancel()


def test_download_created_from_key() -> None:
    assert download_created("20260102_030405_x") == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert download_created("garbage") is None
