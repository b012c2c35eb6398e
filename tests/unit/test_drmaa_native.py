"""slurm-drmaa's job template (pure): the same Submission sbatch's argv is
built from, in slurm-drmaa's native specification (its options, as read from
its source: slurm_drmaa/util.c), and the job's environment from --export."""

from __future__ import annotations

import os

import pytest
from ws_slurm import native, resources
from ws_slurm import sbatch as slurm
from ws_slurm.drmaa import SLURM_WORDS, only_environment
from ws_slurm.states import FINAL as FINAL_STATES

SUB = slurm.Submission(script="/r/status/run.1.sh", job_name="7-ws-x", chdir="/r",
                       output="/r/status/run.1.out", cpus=2, runtime_min=90, mem_mb=1000,
                       partition="p", dependencies=("9", "10"),
                       export="PATH=/usr/bin:/bin,LANG=C.UTF-8",
                       extra=("--qos=normal", "--mail-type=END"))


def test_native_specification_carries_what_sbatch_argv_does() -> None:
    assert native.native_specification(SUB) == (
        "--cpus-per-task=2 --no-requeue --time=01:30:00 --mem=1000 --partition=p "
        "--dependency=afterok:9:10 --qos=normal --mail-type=END")
    bare = slurm.Submission(script="/s", job_name="j", chdir="/", output="/o", cpus=1)
    assert native.native_specification(bare) == "--cpus-per-task=1 --no-requeue"


def test_template_of_a_job() -> None:
    t = native.template(SUB)
    assert t.remote_command == "/r/status/run.1.sh"
    assert (t.job_name, t.working_directory, t.output_path) == (
        "7-ws-x", "/r", ":/r/status/run.1.out")
    assert t.job_environment == {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def test_remote_command_is_quoted_for_the_script_slurm_drmaa_writes() -> None:
    sub = slurm.Submission(script="/r/$(touch x) y.sh", job_name="j", chdir="/r",
                           output="/r/o", cpus=1)
    assert native.template(sub).remote_command == "'/r/$(touch x) y.sh'"
    with pytest.raises(native.Unsupported):
        native.template(slurm.Submission(script="s.sh", job_name="j", chdir="/r",
                                         output="/r/o", cpus=1))


@pytest.mark.parametrize("minutes,hms", [(1, "00:01:00"), (60, "01:00:00"),
                                          (1500, "25:00:00")])
def test_time_is_hh_mm_ss(minutes: int, hms: str) -> None:
    assert resources.hms(minutes) == hms


@pytest.mark.parametrize("word,out", [
    ("--time=90", "--time=01:30:00"), ("--time=1-02:03:04", "--time=26:04:00"),
    ("--time=10:30", "--time=00:11:00"), ("--mem=2G", "--mem=2048"),
    ("--mem=500", "--mem=500"), ("--mem=500M", "--mem=500"), ("--partition=debug",
                                                              "--partition=debug"),
    ("--exclusive", "--exclusive"), ("--mail-type=ALL", "--mail-type=ALL")])
def test_further_options_in_slurm_drmaa_words(word: str, out: str) -> None:
    assert native.native_word(word) == out


@pytest.mark.parametrize("word,says", [
    ("--mail-user=a@b.org", "--mail-user is not supported"),
    ("--export=ALL", "--export is not supported"),
    ("--kill-on-invalid-dep=yes", "not supported"),
    ("--mail-type=END,FAIL", "takes one of"),
    ("--comment=a b", "without blanks"),
    ("--comment=a=b", "without '='"),
    ("-p debug", "without blanks"),
    ("--mem=2X", "not a size")])
def test_what_slurm_drmaa_cannot_take_is_refused_by_name(word: str, says: str) -> None:
    with pytest.raises(native.Unsupported, match=says):
        native.native_word(word)


def test_job_environment_from_export() -> None:
    assert native.job_environment(None) is None
    assert native.job_environment("ALL") is None
    assert native.job_environment("NIL") == {}
    assert native.job_environment("A=1,B=x:y") == {"A": "1", "B": "x:y"}
    with pytest.raises(native.Unsupported):
        native.job_environment("ALL,A=1")


def test_environment_is_narrowed_only_while_submitting() -> None:
    os.environ["WS_TEST_SECRET"] = "s"
    try:
        with only_environment({"PATH": "/bin"}):
            assert dict(os.environ) == {"PATH": "/bin"}
        assert os.environ["WS_TEST_SECRET"] == "s"
        with only_environment(None):
            assert os.environ["WS_TEST_SECRET"] == "s"
    finally:
        del os.environ["WS_TEST_SECRET"]


def test_drmaa_states_read_as_slurm_words() -> None:
    assert SLURM_WORDS["done"] == "COMPLETED" and SLURM_WORDS["failed"] == "FAILED"
    assert {SLURM_WORDS[s] for s in ("queued_active", "user_on_hold", "system_on_hold")} == {
        "PENDING"}
    # Only done and failed are final, as their Slurm words are for the service.
    assert {s for s, w in SLURM_WORDS.items() if w in FINAL_STATES} == {"done", "failed"}
