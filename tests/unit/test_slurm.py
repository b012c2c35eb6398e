"""ws_slurm: Slurm's commands built and parsed, on output recorded from the live
cluster, and the one squeue-then-sacct query, on recorded answers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from ws_slurm import records, sacct, scancel, squeue
from ws_slurm.query import SlurmQuery
from ws_slurm.run import Completed, run
from ws_slurm.sbatch import Submission, parse_sbatch, sbatch_argv, upstream
from ws_slurm.states import FINAL, parse_states

from tests.unit.fakes import Recorded

SQUEUE = "2|RUNNING\n1|COMPLETED\n3|FAILED\n4|PENDING\n"
SACCT = "1|COMPLETED\n2|CANCELLED by 0\n3|FAILED\n5|TIMEOUT\n"


def test_sbatch_argv() -> None:
    sub = Submission(script="/r/s.sh", job_name="7-ws-x", chdir="/r", output="/r/o",
                     cpus=2, runtime_min=10, mem_mb=1000, partition="p",
                     dependencies=("9", "10"), extra=("--mail-user=a@b.org",))
    assert sbatch_argv(sub) == [
        "sbatch", "--parsable", "--job-name=7-ws-x", "--chdir=/r", "--output=/r/o",
        "--cpus-per-task=2", "--kill-on-invalid-dep=yes", "--no-requeue", "--time=10",
        "--mem=1000M",
        "--partition=p", "--dependency=afterok:9:10", "--mail-user=a@b.org", "/r/s.sh"]
    bare = Submission(script="s", job_name="j", chdir="/", output="o", cpus=1)
    assert not [a for a in sbatch_argv(bare) if a.startswith(("--time", "--dep"))]


def test_sbatch_export_names_the_whole_environment() -> None:
    sub = Submission(script="s", job_name="j", chdir="/", output="o", cpus=1,
                     export="PATH=/usr/bin:/bin,LANG=C.UTF-8")
    assert "--export=PATH=/usr/bin:/bin,LANG=C.UTF-8" in sbatch_argv(sub)
    bare = Submission(script="s", job_name="j", chdir="/", output="o", cpus=1)
    assert not [a for a in sbatch_argv(bare) if a.startswith("--export")]


def test_upstream_jobs_are_the_producers_of_the_inputs() -> None:
    producer = {"a.txt": "10", "b.txt": "9", "c.txt": "10"}
    assert upstream(["a.txt", "b.txt", "c.txt", "raw.txt"], producer) == ("9", "10")
    assert upstream(["raw.txt"], producer) == ()


def test_parse_sbatch() -> None:
    assert parse_sbatch("2\n") == 2
    assert parse_sbatch("2459394;muse\n") == 2459394
    with pytest.raises(ValueError):
        parse_sbatch("sbatch: error\n")
    with pytest.raises(ValueError):
        parse_sbatch("")


def test_parse_states_of_squeue() -> None:
    jobs = parse_states(SQUEUE)
    assert jobs[2].state == "RUNNING" and not jobs[2].final
    assert jobs[1].final and jobs[3].state == "FAILED"
    assert parse_states("") == {}
    recorded = "12|COMPLETED\n13|CANCELLED by 0\n14.batch|COMPLETED\n\nxx|RUNNING\n"
    assert {i: j.state for i, j in parse_states(recorded).items()} == {
        12: "COMPLETED", 13: "CANCELLED"}


def test_parse_states_of_sacct_keeps_the_state_word() -> None:
    jobs = parse_states(SACCT)
    assert jobs[2].state == "CANCELLED"
    assert jobs[3].state == "FAILED"
    assert jobs[5].state == "TIMEOUT" and jobs[5].final


def test_one_query_names_every_job() -> None:
    assert sacct.states_argv([3, 1, 2])[4] == "--jobs=1,2,3"
    assert squeue.states_argv() == ["squeue", "--me", "--noheader", "--states=all",
                                    "--format=%i|%T"]
    assert squeue.states_argv([3, 1])[-1] == "--jobs=1,3"


def test_scancel_argv() -> None:
    assert scancel.scancel_argv([7, 3, 7]) == ["scancel", "3", "7"]
    with pytest.raises(ValueError):
        scancel.scancel_argv([])
    assert scancel.cancelled(1, "scancel: error: Kill job error on job id 5: Job/step "
                                "already completing or completed\n")
    assert not scancel.cancelled(1, "scancel: error: Unable to contact slurm controller\n")


# Output as Slurm 23.02 to 25.05 print it (their documented state words; the
# squeue and sacct formats ws asks for are unchanged since 22.05).
SACCT_NEWER = ("10|OUT_OF_MEMORY\n11|PREEMPTED\n12|BOOT_FAIL\n13|DEADLINE\n14|REQUEUED\n"
               "15|CANCELLED by 1001\n16|NODE_FAIL\n17|RESIZING\n18|SPECIAL_EXIT\n"
               "19|REVOKED\n20|COMPLETED\n21|FAILED\n22|TIMEOUT\n23|PENDING\n"
               "24_1|COMPLETED\n25+0|COMPLETED\n26|\n")
SQUEUE_NEWER = ("30|COMPLETING\n31|REQUEUE_HOLD\n32|REQUEUE_FED\n33|RESV_DEL_HOLD\n"
                "34|SUSPENDED\n35|STOPPED\n36|CONFIGURING\n37|SIGNALING\n38|STAGE_OUT\n"
                "39|LAUNCH_FAILED\n40|PREEMPTED\n41|RUNNING\n")


def test_parse_states_of_sacct_of_newer_releases() -> None:
    jobs = parse_states(SACCT_NEWER)
    final = {j for j, info in jobs.items() if info.final}
    assert final == {10, 11, 12, 13, 15, 16, 18, 19, 20, 21, 22}
    assert jobs[15].state == "CANCELLED" and jobs[14].state == "REQUEUED"
    # Array and heterogeneous job ids are never ws's; an empty state is no news.
    assert not {24, 25, 26} & set(jobs)


def test_parse_states_of_squeue_of_newer_releases() -> None:
    jobs = parse_states(SQUEUE_NEWER)
    assert {j for j, info in jobs.items() if info.final} == {39, 40}
    assert jobs[30].state == "COMPLETING" and not jobs[30].final


def test_every_final_state_but_completed_has_a_cause() -> None:
    from service.runs.state import SLURM_CAUSES
    assert FINAL - set(SLURM_CAUSES) == {"COMPLETED", "FAILED"}


def test_accounting_disabled_is_told_from_a_passing_failure() -> None:
    # Recorded here: sacct with AccountingStorageType=accounting_storage/none (22.05).
    assert sacct.accounting_disabled("Slurm accounting storage is disabled\n")
    assert not sacct.accounting_disabled(
        "sacct: error: Problem talking to the database: Connection refused\n")


async def test_squeue_then_sacct_for_what_squeue_forgot() -> None:
    runner = Recorded(squeue=Completed(0, "2|RUNNING\n9|PENDING\n", ""),
                      sacct=Completed(0, "1|COMPLETED\n", ""))
    answer = await SlurmQuery(runner).states({1, 2})
    assert answer.answered
    assert {i: j.state for i, j in answer.known.items()} == {1: "COMPLETED", 2: "RUNNING"}
    assert runner.asked[1][4] == "--jobs=1"


async def test_a_failing_squeue_is_no_answer() -> None:
    runner = Recorded(squeue=Completed(1, "", "slurm_load_jobs error: timed out\n"),
                      sacct=Completed(0, "1|COMPLETED\n", ""))
    answer = await SlurmQuery(runner).states({1, 2})
    assert not answer.answered and set(answer.known) == {1}
    # Asked by id, a failing squeue (it no longer knows one) is never an answer.
    by_id = Recorded(squeue=Completed(0, "2|RUNNING\n", ""), sacct=Completed(0, "", ""))
    assert not (await SlurmQuery(by_id, whole_account=False).states({2})).answered


async def test_without_accounting_sacct_is_asked_once(caplog: Any) -> None:
    runner = Recorded(squeue=Completed(0, "1|RUNNING\n", ""),
                      sacct=Completed(1, "", "Slurm accounting storage is disabled\n"))
    query = SlurmQuery(runner)
    for _ in range(5):
        assert set((await query.states({1, 2})).known) == {1}
    names = [argv[0] for argv in runner.asked]
    assert names.count("sacct") == 1 and names.count("squeue") == 5
    assert sum("no accounting" in r.getMessage() for r in caplog.records) == 1


async def test_by_name_asks_sacct_only_for_runs_squeue_does_not_show() -> None:
    runner = Recorded(squeue=Completed(0, "5|RUNNING|1-ws-a|/r/KEYA\n", ""),
                      sacct=Completed(0, "3|COMPLETED|2-ws-a|/r/KEYB\n", ""))
    found, complete = await SlurmQuery(runner).by_name({"KEYA": "1-ws-a",
                                                        "KEYB": "2-ws-a"}, 0.0)
    assert complete and found == {"KEYA": (5,), "KEYB": (3,)}
    assert runner.asked[1][5] == "--name=2-ws-a"
    failing = Recorded(squeue=Completed(1, "", "down"))
    assert await SlurmQuery(failing).by_name({"K": "n"}, 0.0) == (None, False)


async def test_run_reports_a_missing_or_hung_command() -> None:
    assert (await run(["/nonexistent/sbatch"])).returncode == -1
    hung = await run(["sleep", "5"], timeout=0.05)
    assert hung.returncode == -1 and "timed out" in hung.stderr
    assert (await run(["echo", "7"])).stdout == "7\n"


def test_exit_records_are_read_bounded_and_never_through_links(tmp_path: Path) -> None:
    ok = tmp_path / "ok.exit"
    ok.write_text("0\n")
    assert records.read_exit(str(ok)) == 0
    (tmp_path / "zero.exit").symlink_to("/dev/zero")
    (tmp_path / "link.exit").symlink_to(ok)
    os.mkfifo(tmp_path / "fifo.exit")
    (tmp_path / "big.exit").write_text("0" * 10_000)
    (tmp_path / "junk.exit").write_text("zero")
    (tmp_path / "dir.exit").mkdir()
    for name in ("zero", "link", "fifo", "big", "junk", "dir", "missing"):
        assert records.read_exit(str(tmp_path / f"{name}.exit")) is None, name


def test_jobs_list_round_trip(tmp_path: Path) -> None:
    jobs = [records.JobEntry(10, "b", 6, "status/b.10.exit"),
            records.JobEntry(2, "a", 5, "status/a.2.exit")]
    records.write_jobs(str(tmp_path), jobs)
    assert records.read_jobs(str(tmp_path)) == sorted(jobs, key=lambda e: e.jobid)
    # The shape on disk, as the executor has always written it.
    assert (tmp_path / "jobs.json").read_text().startswith(
        '{"10": {"exit": "status/b.10.exit", "rule": "b", "slurm_id": "6"}')
    (tmp_path / "jobs.json").unlink()
    (tmp_path / "jobs.json").symlink_to("/dev/zero")
    assert records.read_jobs(str(tmp_path)) == []


def test_malformed_jobs_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "jobs.json").write_text(
        '{"1": {"rule": "a", "slurm_id": "x"}, "2": 5, "x": {"slurm_id": "3"},'
        ' "3": {"rule": "c", "slurm_id": 7, "exit": "status/c.3.exit"}}')
    assert records.read_jobs(str(tmp_path)) == [records.JobEntry(3, "c", 7,
                                                                 "status/c.3.exit")]
    (tmp_path / "jobs.json").write_text("[1]")
    assert records.read_jobs(str(tmp_path)) == []


def test_the_record_function_writes_atomically_where_told(tmp_path: Path) -> None:
    import subprocess
    status = tmp_path / "st atus"
    status.mkdir()
    script = f"cd {tmp_path}\n{records.record_function('st atus')}\nrecord x.exit 3\n"
    subprocess.run(["bash", "-c", script], check=True)
    assert (status / "x.exit").read_text() == "3\n"
    assert sorted(os.listdir(status)) == ["x.exit"]
