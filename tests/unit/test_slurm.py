"""Slurm argv builders and parsers, on output recorded from the live cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.cluster import slurm

SQUEUE = "2|RUNNING\n1|COMPLETED\n3|FAILED\n4|PENDING\n"
SACCT = "1|COMPLETED\n2|CANCELLED by 0\n3|FAILED\n5|TIMEOUT\n"


def test_sbatch_command_is_an_argv_with_every_option() -> None:
    job = slurm.SbatchJob(script=Path("/r/k/job.sh"), job_name="7-ws-sw_example",
                          chdir=Path("/r/k"), output=Path("/r/k/logs/slurm-%j.out"),
                          time_min=10, mem_mb=1000, cpus=1,
                          extra=(("mail-user", "a@b.org"), ("mail-type", "ALL")))
    assert slurm.sbatch_command(job) == [
        "sbatch", "--parsable", "--job-name=7-ws-sw_example", "--chdir=/r/k",
        "--output=/r/k/logs/slurm-%j.out", "--time=10", "--mem=1000M", "--cpus-per-task=1",
        "--export=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,"
        "LANG=C.UTF-8", "--mail-user=a@b.org", "--mail-type=ALL", "/r/k/job.sh"]


def test_the_job_environment_is_named_in_full() -> None:
    job = slurm.SbatchJob(script=Path("/j.sh"), job_name="j", chdir=Path("/"),
                          output=Path("/o"), time_min=1, mem_mb=1, cpus=1, environment=())
    assert "--export=NIL" in slurm.sbatch_command(job)
    bad = slurm.SbatchJob(script=Path("/j.sh"), job_name="j", chdir=Path("/"),
                          output=Path("/o"), time_min=1, mem_mb=1, cpus=1,
                          environment=(("PATH", "/a,B=1"),))
    try:
        slurm.sbatch_command(bad)
    except ValueError:
        return
    raise AssertionError("a comma in a value would smuggle in another variable")


def test_parse_sbatch() -> None:
    assert slurm.parse_sbatch("2\n") == 2
    assert slurm.parse_sbatch("2459394;muse\n") == 2459394


def test_parse_states_of_squeue() -> None:
    jobs = slurm.parse_states(SQUEUE)
    assert jobs[2].state == "RUNNING" and not jobs[2].final
    assert jobs[1].final and jobs[3].state == "FAILED"
    assert slurm.parse_states("") == {}


def test_parse_states_of_sacct_keeps_the_state_word() -> None:
    jobs = slurm.parse_states(SACCT)
    assert jobs[2].state == "CANCELLED"
    assert jobs[3].state == "FAILED"
    assert jobs[5].state == "TIMEOUT" and jobs[5].final


def test_one_query_names_every_job() -> None:
    assert slurm.sacct_command([3, 1, 2])[4] == "--jobs=1,2,3"
    assert "--me" in slurm.squeue_command()


# Output as Slurm 23.02 to 25.05 print it (their documented state words; the
# squeue and sacct formats the service asks for are unchanged since 22.05).
SACCT_NEWER = ("10|OUT_OF_MEMORY\n11|PREEMPTED\n12|BOOT_FAIL\n13|DEADLINE\n14|REQUEUED\n"
               "15|CANCELLED by 1001\n16|NODE_FAIL\n17|RESIZING\n18|SPECIAL_EXIT\n"
               "19|REVOKED\n20|COMPLETED\n21|FAILED\n22|TIMEOUT\n23|PENDING\n"
               "24_1|COMPLETED\n25+0|COMPLETED\n26|\n")
SQUEUE_NEWER = ("30|COMPLETING\n31|REQUEUE_HOLD\n32|REQUEUE_FED\n33|RESV_DEL_HOLD\n"
                "34|SUSPENDED\n35|STOPPED\n36|CONFIGURING\n37|SIGNALING\n38|STAGE_OUT\n"
                "39|LAUNCH_FAILED\n40|PREEMPTED\n41|RUNNING\n")


def test_parse_states_of_sacct_of_newer_releases() -> None:
    jobs = slurm.parse_states(SACCT_NEWER)
    final = {j for j, info in jobs.items() if info.final}
    assert final == {10, 11, 12, 13, 15, 16, 18, 19, 20, 21, 22}
    assert jobs[15].state == "CANCELLED" and jobs[14].state == "REQUEUED"
    # Array and heterogeneous job ids are never the service's; an empty state is no news.
    assert not {24, 25, 26} & set(jobs)


def test_parse_states_of_squeue_of_newer_releases() -> None:
    jobs = slurm.parse_states(SQUEUE_NEWER)
    assert {j for j, info in jobs.items() if info.final} == {39, 40}
    assert jobs[30].state == "COMPLETING" and not jobs[30].final


def test_every_final_state_but_completed_has_a_cause() -> None:
    from service.runs.state import SLURM_CAUSES
    assert slurm.FINAL_STATES - set(SLURM_CAUSES) == {"COMPLETED", "FAILED"}


def test_accounting_disabled_is_told_from_a_passing_failure() -> None:
    # Recorded here: sacct with AccountingStorageType=accounting_storage/none (22.05).
    assert slurm.accounting_disabled("Slurm accounting storage is disabled\n")
    assert not slurm.accounting_disabled(
        "sacct: error: Problem talking to the database: Connection refused\n")


async def test_without_accounting_sacct_is_asked_once(monkeypatch: Any,
                                                      caplog: Any) -> None:
    from service.cluster.jobstatus import SlurmStatus
    calls: list[str] = []

    async def fake_run(argv: list[str], timeout: float = 30.0) -> slurm.Completed:
        calls.append(argv[0])
        if argv[0] == "squeue":
            return slurm.Completed(0, "1|RUNNING\n", "")
        return slurm.Completed(1, "", "Slurm accounting storage is disabled\n")

    monkeypatch.setattr(slurm, "run", fake_run)
    source = SlurmStatus()
    for _ in range(5):
        assert set(await source.states({1, 2})) == {1}
    assert calls.count("sacct") == 1 and calls.count("squeue") == 5
    assert sum("no accounting" in r.getMessage() for r in caplog.records) == 1
