"""One final state per run, with its cause."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from service.core import atomic
from service.runs.exits import command_exit
from service.runs.state import Cr, ExitRecords, JobExit, LatestCr, RunState, ended, ended_jobs

RECORDED = Path(__file__).parent / "recorded"

NOW = 1_700_000_000.0
ALL_WELL = ExitRecords(snakemake=0, command=0, modules_failed=False)


def test_ok_only_when_slurm_snakemake_and_command_agree() -> None:
    state = ended(RunState(jobs=(1,)), "COMPLETED", ALL_WELL, NOW)
    assert (state.cr, state.latest_cr, state.latest_state, state.cause) == (
        "OK", "ENDED_OK", "COMPLETED", "")


@pytest.mark.parametrize("slurm_state", ["TIMEOUT", "CANCELLED", "NODE_FAIL",
                                         "OUT_OF_MEMORY", "PREEMPTED"])
def test_slurm_end_causes_are_never_ok(slurm_state: str) -> None:
    # Even if the exit records say all went well (written before the kill).
    state = ended(RunState(), slurm_state, ALL_WELL, NOW)
    assert (state.cr, state.latest_cr, state.latest_state) == ("NOK", "ENDED_NOK",
                                                               slurm_state)
    assert state.cause


def test_failing_command() -> None:
    state = ended(RunState(), "FAILED", ExitRecords(snakemake=1, command=3,
                                                    modules_failed=False), NOW)
    assert state.cr == "NOK" and "status 3" in state.cause


def test_module_failure() -> None:
    state = ended(RunState(), "FAILED", ExitRecords(None, None, modules_failed=True), NOW)
    assert "module load" in state.cause


def test_a_refused_requeued_attempt_says_so() -> None:
    records = ExitRecords(snakemake=None, command=93, modules_failed=False, requeued=True)
    state = ended(RunState(jobs=(1,)), "FAILED", records, NOW)
    assert state.cr == "NOK" and state.cause.startswith("Slurm requeued the job")


def test_a_refused_bind_says_so() -> None:
    records = ExitRecords(snakemake=None, command=94, modules_failed=False, bind_refused=True)
    state = ended(RunState(jobs=(1,)), "FAILED", records, NOW)
    assert state.cr == "NOK" and state.cause.startswith("a bind's source led out of")


def test_missing_exit_record() -> None:
    state = ended(RunState(), "COMPLETED", ExitRecords(None, None, False), NOW)
    assert state.cr == "NOK" and "without recording" in state.cause


def test_a_job_failed_before_its_command_ended() -> None:
    # The submitting Snakemake exited 0; the job failed with no exit record (what
    # the DRMAA backend reports for a job killed at its time limit, say).
    state = ended(RunState(), "FAILED", ExitRecords(snakemake=0, command=None,
                                                    modules_failed=False), NOW)
    assert state.cr == "NOK" and "before its command recorded" in state.cause


def test_round_trip() -> None:
    state = RunState(jobs=(4,), latest_state="RUNNING")
    assert RunState.from_dict(state.to_dict()) == state


def test_ok_needs_the_command_to_have_run() -> None:
    state = ended(RunState(), "COMPLETED", ExitRecords(snakemake=0, command=None,
                                                       modules_failed=False), NOW)
    assert state.cr == "NOK" and "did not run" in state.cause


def jobs_records(*exits: int | None) -> ExitRecords:
    jobs = tuple(JobExit(rule=f"r{i}", slurm_id=10 + i, exit=e) for i, e in enumerate(exits))
    return ExitRecords(snakemake=0, command=command_exit(jobs), modules_failed=False,
                       jobs=jobs)


def test_several_jobs_ok_only_when_every_job_is() -> None:
    run = RunState(jobs=(10, 11, 12))
    all_done = {10: "COMPLETED", 11: "COMPLETED", 12: "COMPLETED"}
    assert ended_jobs(run, all_done, jobs_records(0, 0, 0), NOW).cr == "OK"
    # The middle job failed: its dependant was cancelled, never ran.
    state = ended_jobs(run, {10: "COMPLETED", 11: "FAILED", 12: "CANCELLED"},
                       jobs_records(0, 3, None), NOW)
    assert (state.cr, state.latest_state) == ("NOK", "FAILED")
    assert "status 3" in state.cause
    # Slurm says COMPLETED but a command's record is missing: never OK.
    assert ended_jobs(run, all_done, jobs_records(0, None, 0), NOW).cr == "NOK"
    # A job Slurm killed, although its command had recorded 0.
    state = ended_jobs(run, {**all_done, 12: "TIMEOUT"}, jobs_records(0, 0, 0), NOW)
    assert (state.cr, state.latest_state) == ("NOK", "TIMEOUT")


def test_jobs_judge_a_run_whose_submitting_child_was_cut_off() -> None:
    """Followed again by name after a crash (reconcile.py): no exit of Snakemake's
    child, and the jobs' own records decide."""
    run = RunState(jobs=(10,))
    cut_off = replace(jobs_records(0), snakemake=None)
    assert ended_jobs(run, {10: "COMPLETED"}, cut_off, NOW).cr == "OK"
    failed = ended_jobs(run, {10: "COMPLETED"}, replace(jobs_records(2), snakemake=None), NOW)
    assert failed.cr == "NOK" and "status 2" in failed.cause
    assert ended_jobs(run, {10: "COMPLETED"}, replace(jobs_records(None), snakemake=None),
                      NOW).cr == "NOK"


def test_state_with_jobs_round_trips() -> None:
    state = RunState(jobs=(10, 11))
    assert RunState.from_dict(state.to_dict()) == state
    assert "job_id" not in state.to_dict()
    assert json.loads(json.dumps(state.to_dict()))["cr"] == "WAIT"  # enums: plain strings


def test_an_older_state_json_with_job_id_only_migrates() -> None:
    """Written by ws before `jobs` (recorded: tests/unit/recorded/)."""
    old = RunState.from_dict(atomic.read_json(RECORDED / "state-job_id-only.json"))
    assert old == RunState(cr=Cr.OK, latest_cr=LatestCr.ENDED_OK, latest_state="COMPLETED",
                           jobs=(961,), updated=1733212345.5)
    assert old.job_id == 961  # what the reports show
    both = RunState.from_dict(atomic.read_json(RECORDED / "state-job_id-and-jobs.json"))
    assert both.jobs == (962, 963) and both.job_id == 962 and not both.final


def test_moved_to_takes_the_callers_time() -> None:
    assert RunState().moved_to(NOW, latest_state="RUNNING") == RunState(
        latest_state="RUNNING", updated=NOW)
