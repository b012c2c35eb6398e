"""A run's exit records are read from its status/ folder without following a
link at the run folder or at status/: in identity mode "unix" the user owns
both and may swap either for a link to another user's run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from service.runs.exits import read_exit_records
from service.runs.folder import RunFolder


def a_run(path: Path, command_exit: int) -> RunFolder:
    (path / "status").mkdir(parents=True)
    (path / "status" / "snakemake.exit").write_text("0\n")
    (path / "status" / "jobs.json").write_text(json.dumps(
        {"1": {"rule": "run", "slurm_id": "77", "exit": "job.1.exit"}}))
    (path / "status" / "job.1.exit").write_text(f"{command_exit}\n")
    (path / "status" / "requeued.exit").write_text("93\n")
    return RunFolder(path)


def test_records_are_read(tmp_path: Path) -> None:
    records = read_exit_records(a_run(tmp_path / "mine", 3))
    assert (records.snakemake, records.command, records.requeued) == (0, 3, True)
    assert [(j.slurm_id, j.exit) for j in records.jobs] == [(77, 3)]


def test_links_at_status_or_the_run_folder_show_nothing_of_the_other_run(
        tmp_path: Path) -> None:
    other = a_run(tmp_path / "bob" / "run", 42)
    mine = tmp_path / "alice" / "run"
    mine.mkdir(parents=True)
    (mine / "status").symlink_to(other.status)
    records = read_exit_records(RunFolder(mine))
    assert (records.snakemake, records.command, records.jobs, records.requeued) == \
        (None, None, (), False)
    os.unlink(mine / "status")
    os.rmdir(mine)
    mine.symlink_to(other.path)
    assert read_exit_records(RunFolder(mine)).jobs == ()
    # An exit record that is itself a link is no record.
    (other.status / "job.1.exit").unlink()
    (other.status / "job.1.exit").symlink_to(tmp_path / "elsewhere")
    assert read_exit_records(other).command is None


def test_the_services_jobs_list_is_used_when_status_has_none(tmp_path: Path) -> None:
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "jobs.json").write_text(json.dumps(
        {"1": {"rule": "run", "slurm_id": "78", "exit": "job.1.exit"}}))
    run = tmp_path / "run"
    run.mkdir()
    records = read_exit_records(RunFolder(run, meta))  # status/ not made yet
    assert [j.slurm_id for j in records.jobs] == [78]
