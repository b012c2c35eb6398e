"""Slurm argv builders and parsers, on output recorded from the live cluster."""

from __future__ import annotations

from pathlib import Path

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


def test_parse_squeue() -> None:
    jobs = slurm.parse_squeue(SQUEUE)
    assert jobs[2].state == "RUNNING" and not jobs[2].final
    assert jobs[1].final and jobs[3].state == "FAILED"
    assert slurm.parse_squeue("") == {}


def test_parse_sacct_keeps_the_state_word() -> None:
    jobs = slurm.parse_sacct(SACCT)
    assert jobs[2].state == "CANCELLED"
    assert jobs[3].state == "FAILED"
    assert jobs[5].state == "TIMEOUT" and jobs[5].final


def test_one_query_names_every_job() -> None:
    assert slurm.sacct_command([3, 1, 2])[4] == "--jobs=1,2,3"
    assert "--me" in slurm.squeue_command()
