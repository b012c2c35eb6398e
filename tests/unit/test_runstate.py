"""One final state per run, with its cause."""

from __future__ import annotations

import pytest

from service.runs.state import ExitRecords, RunState, ended

ALL_WELL = ExitRecords(snakemake=0, command=0, modules_failed=False)


def test_ok_only_when_slurm_snakemake_and_command_agree() -> None:
    state = ended(RunState(job_id=1), "COMPLETED", ALL_WELL)
    assert (state.cr, state.latest_cr, state.latest_state, state.cause) == (
        "OK", "ENDED_OK", "COMPLETED", "")


@pytest.mark.parametrize("slurm_state", ["TIMEOUT", "CANCELLED", "NODE_FAIL",
                                         "OUT_OF_MEMORY", "PREEMPTED"])
def test_slurm_end_causes_are_never_ok(slurm_state: str) -> None:
    # Even if the exit records say all went well (written before the kill).
    state = ended(RunState(), slurm_state, ALL_WELL)
    assert (state.cr, state.latest_cr, state.latest_state) == ("NOK", "ENDED_NOK",
                                                               slurm_state)
    assert state.cause


def test_failing_command() -> None:
    state = ended(RunState(), "FAILED", ExitRecords(snakemake=1, command=3,
                                                    modules_failed=False))
    assert state.cr == "NOK" and "status 3" in state.cause


def test_module_failure() -> None:
    state = ended(RunState(), "FAILED", ExitRecords(None, None, modules_failed=True))
    assert "module load" in state.cause


def test_missing_exit_record() -> None:
    state = ended(RunState(), "COMPLETED", ExitRecords(None, None, False))
    assert state.cr == "NOK" and "without recording" in state.cause


def test_round_trip() -> None:
    state = RunState(job_id=4, latest_state="RUNNING")
    assert RunState.from_dict(state.to_dict()) == state


def test_ok_needs_the_command_to_have_run() -> None:
    state = ended(RunState(), "COMPLETED", ExitRecords(snakemake=0, command=None,
                                                       modules_failed=False))
    assert state.cr == "NOK" and "did not run" in state.cause
