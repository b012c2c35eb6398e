"""Identity mode "unix", its one privileged step, on the live machine as the
scripts install it (scripts/unix-users-up.sh): the sudoers rule lets the service
account run only ws-as-user, only as members of ws-users, never as root, never a
shell or sbatch; the program refuses what it is not for; what it does (cancel,
remove, submit) it does as the user, and Slurm sees that user's jobs on the compute
nodes."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ws_slurm import records

from service.runs.folder import folder_name
from tests.live import ROOT, WS_USER, build_images, run

pytestmark = pytest.mark.cluster
PROGRAM = "/usr/local/libexec/ws/ws-as-user"
RUNS = Path("/srv/ws-runs")  # the config's runs_dir (scripts/unix-users-up.sh)
ALICE, BOB = "wsalice", "wsbob"


def as_ws(*argv: str) -> tuple[int, str]:
    """argv as the service account, from a folder every account may enter."""
    result = run(["runuser", "-u", WS_USER, "--", *argv], cwd="/")
    return result.returncode, result.stdout + result.stderr


def as_user(user: str, *argv: str) -> tuple[int, str]:
    result = run(["runuser", "-u", user, "--", *argv], cwd="/")
    return result.returncode, result.stdout + result.stderr


def sudo_as(user: str, *argv: str) -> tuple[int, str]:
    """The service account's sudo, non-interactive: a refusal never waits for a password."""
    return as_ws("sudo", "-n", "-u", user, *argv)


def sudo_refused(code: int, said: str) -> bool:
    """sudo's refusal: no rule matches (with -n it says a password would be needed;
    asked to run as the caller itself, that it is not allowed)."""
    return code == 1 and ("a password is required" in said
                          or "is not allowed to execute" in said)


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    for user in (ALICE, BOB):
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.fail(f"no user {user}: scripts/cluster-up.sh creates it", pytrace=False)
    if not os.path.isfile(PROGRAM):
        pytest.fail(f"no {PROGRAM}: scripts/cluster-up.sh installs it", pytrace=False)
    # These tests write their own job.sh and run it as `run` does without the
    # user's warm Snakemake (which runs the workflow, not job.sh): one left by
    # earlier tests is stopped (test_unix_mode_local_runs.py tests the warm path).
    for user in (ALICE, BOB):
        run(["pkill", "-KILL", "-u", user, "-f", "service.local.warm_user"])


@pytest.fixture
def folders() -> Iterator[list[Path]]:
    """Run folders a test makes in the users' runs folders, removed after it."""
    made: list[Path] = []
    yield made
    for path in made:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)


def run_folder(user: str, made: list[Path], owner: str | None = None) -> Path:
    """A run folder with status/, made by `owner` (default: the user) in the user's
    runs folder (root makes another user's there: nobody else can)."""
    path = RUNS / user / secrets.token_hex(20)  # a run folder's name
    made.append(path)
    if owner is None:
        assert as_user(user, "mkdir", "-p", str(path / "status"))[0] == 0
    else:
        (path / "status").mkdir(parents=True)
        shutil.chown(path, owner)
        shutil.chown(path / "status", owner)
    return path


def test_sudo_lists_one_program_and_nothing_else() -> None:
    result = run(["sudo", "-l", "-U", WS_USER])
    assert result.returncode == 0, result.stderr
    # Everything after the heading is the rules (sudo wraps long lines at spaces).
    rules = " ".join(result.stdout.split("may run the following commands on", 1)[1]
                     .split("\n", 1)[1].split())
    assert rules == (f"(%ws-users, !root, !#0) NOPASSWD: {PROGRAM} "
                     "^(create|submit|cancel|remove|run|warm|export) [0-9a-f]{40}$"), result.stdout


@pytest.mark.parametrize("argv", [
    ["/bin/bash", "-c", "id"],
    ["sbatch", "--wrap", "id"],
    ["/usr/bin/env", PROGRAM, "cancel", "0" * 40],
    [PROGRAM],
    [PROGRAM, "cancel", "0" * 40, "extra"],
    [PROGRAM, "shell", "0" * 40],
    [PROGRAM, "cancel", "../" + "0" * 40],
    [PROGRAM, "cancel", f"{BOB}/{'0' * 40}"],
])
def test_the_service_account_may_run_nothing_else(argv: list[str]) -> None:
    assert sudo_refused(*sudo_as(ALICE, *argv))


@pytest.mark.parametrize("sudo_args", [
    ["-u", "root"], ["-u", "#0"], [],                       # root, by name, UID, default
    ["-u", "wsneighbour"], ["-u", WS_USER], ["-u", "daemon"],  # not members of ws-users
    ["-u", ALICE, "-g", WS_USER],                           # another group
])
def test_never_as_root_nor_as_non_members(sudo_args: list[str]) -> None:
    assert sudo_refused(*as_ws("sudo", "-n", *sudo_args, PROGRAM, "cancel", "0" * 40))


def test_no_environment_of_the_caller() -> None:
    code, said = sudo_as(ALICE, "PYTHONPATH=/tmp", PROGRAM, "cancel", "0" * 40)
    assert code == 1 and "not allowed to set" in said
    code, said = as_ws("sudo", "-n", "-E", "-u", ALICE, PROGRAM, "cancel", "0" * 40)
    assert code == 1 and "not allowed to preserve the environment" in said


@pytest.mark.parametrize("argv,says", [
    (["cancel", "../" + "0" * 40], "no run folder name"),
    (["cancel", f"../{BOB}/{'0' * 40}"], "no run folder name"),
    (["cancel", "/etc/passwd"], "no run folder name"),
    (["cancel", ".."], "no run folder name"),
    (["sh", "0" * 40], "unknown verb"),
    (["cancel", "0" * 40, "x"], "got 3 arguments"),
])
def test_the_program_itself_refuses(argv: list[str], says: str) -> None:
    """Behind sudo's own pattern, the program refuses the same (run as the user)."""
    code, said = as_user(ALICE, PROGRAM, *argv)
    assert code == 2 and says in said, said


def test_it_refuses_links_other_users_folders_and_missing_ones(folders: list[Path]) -> None:
    alices = run_folder(ALICE, folders)
    bobs = run_folder(BOB, folders)
    # A link in alice's runs folder, to her own run and to bob's: not followed.
    for target in (alices, bobs):
        link = RUNS / ALICE / secrets.token_hex(20)
        folders.append(link)
        assert as_user(ALICE, "ln", "-s", str(target), str(link))[0] == 0
        code, said = sudo_as(ALICE, PROGRAM, "remove", link.name)
        assert code == 2 and "not a real folder" in said
        assert target.is_dir()
    # A folder of bob's in alice's runs folder (root put it there).
    planted = run_folder(ALICE, folders, owner=BOB)
    code, said = sudo_as(ALICE, PROGRAM, "remove", planted.name)
    assert code == 2 and "does not belong" in said and planted.is_dir()
    # Bob's run, asked as alice: only her own runs folder is looked in.
    code, said = sudo_as(ALICE, PROGRAM, "remove", bobs.name)
    assert code == 2 and "missing, a link or a file" in said and bobs.is_dir()


def _held_job(user: str) -> int:
    code, said = as_user(user, "sbatch", "--parsable", "--hold", "-o", "/dev/null",
                         "-J", "ws-as-user-test", "--wrap", "true")
    assert code == 0, said
    return int(said.strip().split(";")[0])


def _owner_and_state(job: int) -> str:
    result = run(["squeue", "-h", "-j", str(job), "-o", "%u %T"])
    return result.stdout.strip()


def test_cancel_and_remove_act_as_the_user(folders: list[Path]) -> None:
    alices_job, bobs_job = _held_job(ALICE), _held_job(BOB)
    try:
        folder = run_folder(ALICE, folders)
        jobs = {"1": {"rule": "run_command", "slurm_id": str(alices_job)},
                "2": {"rule": "planted", "slurm_id": str(bobs_job)}}
        assert as_user(ALICE, "sh", "-c", f"echo '{json.dumps(jobs)}' > "
                       f"{folder}/status/jobs.json")[0] == 0
        code, said = sudo_as(ALICE, PROGRAM, "cancel", folder.name)
        # Alice's job is cancelled; bob's, which her jobs.json also names, is not hers.
        assert code != 0 and "Access/permission denied" in said, said
        assert _owner_and_state(alices_job) in ("", f"{ALICE} CANCELLED")
        assert _owner_and_state(bobs_job) == f"{BOB} PENDING"
        # Her folder holds a link to bob's run: removing hers leaves his alone.
        bobs = run_folder(BOB, folders)
        assert as_user(ALICE, "ln", "-s", str(bobs), str(folder / "status" / "link"))[0] == 0
        code, said = sudo_as(ALICE, PROGRAM, "remove", folder.name)
        assert code == 0, said
        assert not folder.exists() and bobs.is_dir()
    finally:
        run(["scancel", str(alices_job), str(bobs_job)])


def test_the_compute_nodes_know_the_users() -> None:
    """A job of each test user runs on a compute node as that user (the nodes
    resolve the login node's /etc/passwd), and accounting shows it under them."""
    for user in (ALICE, BOB):
        out = RUNS / user / f"id-{uuid.uuid4().hex}.out"
        try:
            code, said = as_user(user, "sbatch", "--wait", "-o", str(out), "-t", "1",
                                 "--wrap", "echo $(id -un) $SLURMD_NODENAME")
            assert code == 0, said
            name, host = out.read_text().split()
            assert name == user and host.startswith("node")
        finally:
            out.unlink(missing_ok=True)
        assoc = run(["sacctmgr", "-n", "-P", "list", "user", user, "format=user,defaultaccount"])
        assert assoc.stdout.strip() == f"{user}|default"


# A run folder built by the user, with the service's own code (in unix mode the
# run folder is the user's: nobody chowns it after the fact).
BUILD = """
import sys
from pathlib import Path
from service.catalogue.softwares import Container, Software
from service.core.config import Config
from service.core.params import Params
from service.runs import workflow
from service.runs.folder import folder_name
from service.runs.lifecycle import _build
from service.runs.parameters import parse_run_request
from service.runs.record import RunRecord
runs, key, image, cmd = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
config = Config(runs_dir=runs)
request = parse_run_request(Params(values={"cmd": cmd}), cluster=True)
software = Software("sw_example", Container("sw_example", "singularity", image))
record = RunRecord(key=key, name="sw_example", owner="alice", number=1, kind="cluster",
                   service="ws-as-user-test", request=request)
resources = workflow.resources_for(request, workflow.profile_defaults(config.cluster.profile_dir))
staging = runs / ".staging"
staging.mkdir(exist_ok=True)
built = _build(staging, runs / folder_name(key), config, record, software, [], resources)
built.rename(runs / built.name)
"""


def _until(what: str, check: Callable[[], bool], timeout: float = 120.0) -> None:
    """Wait for a file or record a job leaves (no event to wait on here)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s"
        time.sleep(0.2)


def test_submit_runs_the_workflow_as_the_user(folders: list[Path]) -> None:
    key = str(uuid.uuid4())
    name = folder_name(key)
    folder = RUNS / ALICE / name
    folders.extend([folder, RUNS / ALICE / ".staging"])
    image = str(build_images()["singularity"])
    code, said = as_user(ALICE, str(ROOT / ".venv" / "bin" / "python"), "-c", BUILD,
                         str(RUNS / ALICE), key, image, "id -un")
    assert code == 0, said
    code, said = sudo_as(ALICE, PROGRAM, "submit", name)
    assert code == 0, said + (folder / "logs" / "snakemake.log").read_text()[-3000:]
    jobs = records.read_jobs(str(folder / "status"))
    assert len(jobs) == 1
    code, said = sudo_as(ALICE, PROGRAM, "submit", name)
    assert code == 2 and "submitted already" in said
    exit_record = folder / "status" / Path(jobs[0].exit).name
    _until("exit record", exit_record.exists)
    assert exit_record.read_text().strip() == "0"
    stdout = folder / "work" / "stdout.txt"
    assert stdout.read_text().strip() == ALICE  # the command ran as alice
    assert (stdout.owner(), stdout.group()) == (ALICE, WS_USER)
    # The service reads it (the default ACL), the other user does not.
    assert as_ws("cat", str(stdout)) == (0, f"{ALICE}\n")
    assert as_user(BOB, "cat", str(stdout))[0] != 0

    def accounted() -> bool:
        result = run(["sacct", "-X", "-n", "-P", "-j", str(jobs[0].slurm_id), "-o", "User"])
        return result.stdout.strip() == ALICE
    _until("sacct record", accounted, 30.0)


def _job(folder: Path, user: str, script: str) -> None:
    code, said = as_user(user, "sh", "-c", f"cat > {folder}/job.sh <<'EOF'\n{script}EOF\n")
    assert code == 0, said


def test_run_gets_the_limits_sudo_was_started_with(folders: list[Path]) -> None:
    """What local runs of unix mode rely on: the service account lowers soft and
    hard limits before sudo (prlimit), sudo gives them to the program and its job,
    and the user cannot raise them again."""
    folder = run_folder(ALICE, folders)
    _job(folder, ALICE, "{ id -un; ulimit -Hu; ulimit -Su; ulimit -Hd; ulimit -Ht; "
                        "ulimit -St; ulimit -Hu unlimited && echo raised || echo kept; "
                        "} > out.txt 2>/dev/null\n")
    code, said = as_ws("prlimit", "--nproc=300:300", "--data=629145600:629145600",
                       "--cpu=30:35", "--", "sudo", "-n", "-u", ALICE, PROGRAM, "run",
                       folder.name)
    assert code == 0, said
    assert (folder / "out.txt").read_text().split() == [
        ALICE, "300", "300", str(629145600 // 1024), "35", "30", "kept"]
    assert (folder / "out.txt").owner() == ALICE
    code, said = sudo_as(ALICE, PROGRAM, "run", folder.name)
    assert code == 2 and "run already" in said, said


# As the service account: start a `run` as alice through sudo in a session of its
# own, wait for its job to start, SIGTERM sudo (its own child: it cannot signal
# alice's processes), print sudo's exit status.
STOP_THROUGH_SUDO = """
import os, signal, subprocess, sys, time
program, user, folder = sys.argv[1:]
proc = subprocess.Popen(["sudo", "-n", "-u", user, program, "run", os.path.basename(folder)],
                        start_new_session=True, stdin=subprocess.DEVNULL)
deadline = time.monotonic() + 30
while not os.path.exists(os.path.join(folder, "bg.pid")):
    assert time.monotonic() < deadline and proc.poll() is None, "the job never started"
    time.sleep(0.02)
proc.send_signal(signal.SIGTERM)
print(proc.wait(30))
"""


def test_a_sigterm_to_sudo_stops_the_user_s_whole_job(folders: list[Path]) -> None:
    folder = run_folder(ALICE, folders)
    _job(folder, ALICE, "sleep 318 &\nsleep 319 &\necho $! > bg.pid.new\n"
                        "mv bg.pid.new bg.pid\nwait\n")
    code, said = as_ws("/usr/bin/python3", "-c", STOP_THROUGH_SUDO, PROGRAM, ALICE,
                       str(folder))
    assert code == 0 and said.split() == [str(128 + 15)], said
    # SIGKILLed, reaped by init when it gets to them: waited for, a little.
    deadline = time.monotonic() + 10
    while (left := run(["pgrep", "-u", ALICE, "-f", "sleep 31[89]"]).stdout.split()):
        assert time.monotonic() < deadline, left
        time.sleep(0.1)
