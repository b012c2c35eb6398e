"""scripts/ws-as-user, the one privileged program of identity mode "unix", in
pieces, as an ordinary user: what it refuses to be asked, its root-owned config,
the run folder opened without following links, jobs.json read as hostile, and a
removal that never leaves the run folder. (As another user, through the real
sudoers rule: tests/integration/test_ws_as_user.py.)"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import ModuleType

import pytest

from service.runs.folder import FOLDER_NAME_RE, folder_name

PROGRAM = Path(__file__).resolve().parents[2] / "scripts" / "ws-as-user"
NAME = folder_name("0b3c8d2e-1f4a-4b5c-9d6e-7f8091a2b3c4")  # a run folder's
OTHER, THIRD = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "0" * 40


def _load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("ws_as_user", str(PROGRAM))
    spec = importlib.util.spec_from_loader("ws_as_user", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


prog = _load()


def test_it_is_run_isolated_by_the_system_python() -> None:
    first = PROGRAM.read_text().splitlines()[0]
    assert first == "#!/usr/bin/python3 -IS"


def test_it_takes_the_service_s_run_folder_names() -> None:
    assert prog.RUN_ID_RE.pattern == FOLDER_NAME_RE.pattern
    for run_id in (NAME, OTHER, THIRD):
        assert prog.parse_args(["cancel", run_id]) == ("cancel", run_id)


@pytest.mark.parametrize("argv,says", [
    ([], "expected VERB RUN_ID, got 0"),
    (["cancel"], "got 1"),
    (["cancel", NAME, "--extra"], "got 3"),
    (["shell", NAME], "unknown verb 'shell'"),
    (["CANCEL", NAME], "unknown verb"),
    (["", NAME], "unknown verb"),
    (["cancel", "../" + NAME], "no run folder name"),
    (["cancel", NAME + "/.."], "no run folder name"),
    (["cancel", ".."], "no run folder name"),
    (["cancel", "wsbob/" + NAME], "no run folder name"),
    (["cancel", "/etc"], "no run folder name"),
    (["cancel", "-rf"], "no run folder name"),
    (["cancel", NAME + "\n"], "no run folder name"),
    (["cancel", NAME.upper()], "no run folder name"),
    (["cancel", NAME[:39]], "no run folder name"),
    (["cancel", NAME + "0"], "no run folder name"),
    (["cancel", "0b3c8d2e-1f4a-4b5c-9d6e-7f8091a2b3c4"], "no run folder name"),  # a key
    (["cancel", ""], "no run folder name"),
])
def test_what_it_refuses_to_be_asked(argv: list[str], says: str) -> None:
    with pytest.raises(prog.Refused, match=says):
        prog.parse_args(argv)


def test_main_refuses_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert prog.main(["rm", NAME]) == 2
    assert "ws-as-user: refused: unknown verb 'rm'" in capsys.readouterr().err


@pytest.mark.parametrize("uid,shell,says", [(0, "/bin/bash", "below 1000"),
                                            (999, "/bin/bash", "below 1000"),
                                            (1000, "/usr/sbin/nologin", "no login shell"),
                                            (1000, "", "no login shell")])
def test_only_ordinary_accounts(uid: int, shell: str, says: str) -> None:
    account = pwd.struct_passwd(("x", "x", uid, uid, "", "/home/x", shell))
    with pytest.raises(prog.Refused, match=says):
        prog.check_account(account)
    prog.check_account(pwd.struct_passwd(("x", "x", 1000, 1000, "", "/home/x", "/bin/sh")))


# ---- the config --------------------------------------------------------------------------

def _config(tmp_path: Path, text: str = "") -> Path:
    folder = tmp_path / "etc"
    folder.mkdir(mode=0o755)
    path = folder / "ws-as-user.toml"
    path.write_text(text or f'runs_dir = "{tmp_path}/runs"\npython = "/usr/bin/python3"\n'
                            f'profile_dir = "/srv/profile"\nexecutor_args = ["--ws-x", "y"]\n')
    path.chmod(0o644)
    return path


def test_the_config_is_read_only_from_its_owner_s_file(tmp_path: Path) -> None:
    path = _config(tmp_path)
    me = os.getuid()
    assert prog.read_config(str(path), me)["runs_dir"] == f"{tmp_path}/runs"
    with pytest.raises(prog.Refused, match="owned by UID"):
        prog.read_config(str(path), me + 1)  # root's, in the real program
    path.chmod(0o664)
    with pytest.raises(prog.Refused, match="writable by no one else"):
        prog.read_config(str(path), me)
    path.chmod(0o644)
    path.parent.chmod(0o775)
    with pytest.raises(prog.Refused, match="writable by no one else"):
        prog.read_config(str(path), me)
    path.parent.chmod(0o755)
    link = path.parent / "link.toml"
    link.symlink_to(path)
    with pytest.raises(prog.Refused, match="cannot open"):
        prog.read_config(str(link), me)


@pytest.mark.parametrize("text,says", [
    ('runs_dir = "runs"\npython = "/p"\nprofile_dir = "/d"\n', "runs_dir must be an absolute"),
    ('runs_dir = "/r"\nprofile_dir = "/d"\n', "python must be an absolute"),
    ('runs_dir = "/r"\npython = "/p"\nprofile_dir = "/d"\nexecutor_args = "x"\n',
     "executor_args must be a list"),
    ("runs_dir = [", "ws-as-user.toml"),
])
def test_a_bad_config_is_refused(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(prog.Refused, match=says):
        prog.read_config(str(_config(tmp_path, text)), os.getuid())


def test_the_submission_is_the_services_own(tmp_path: Path) -> None:
    config = prog.read_config(str(_config(tmp_path)), os.getuid())
    from service.cluster.submit import immediate_submit_args
    argv = prog.submit_argv(config)
    assert argv[:6] == ["/usr/bin/python3", "-I", "-m", "service.local.warm_snakemake",
                        "--once", "."]
    service_args = immediate_submit_args(Path("/srv/profile"), ["work/stdout.txt"])
    assert [a for a in argv[6:] if a not in ("--ws-x", "y")] == service_args


def test_the_environment_is_replaced() -> None:
    account = pwd.struct_passwd(("alice", "x", 1100, 1100, "", "/home/alice", "/bin/bash"))
    assert prog.clean_environment(account) == {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/home/alice",
        "USER": "alice", "LOGNAME": "alice", "SHELL": "/bin/bash"}


# ---- the run folder ----------------------------------------------------------------------

@pytest.fixture
def runs(tmp_path: Path) -> Path:
    me = pwd.getpwuid(os.getuid()).pw_name
    (tmp_path / "runs" / me / NAME / "status").mkdir(parents=True)
    return tmp_path / "runs"


def _me() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def test_the_run_folder_is_opened_under_the_users_own(runs: Path) -> None:
    mine, run = prog.open_run_folder(str(runs), _me(), NAME, os.getuid())
    assert os.path.samefile(f"/proc/self/fd/{run}", runs / _me() / NAME)
    os.close(mine)
    os.close(run)


def test_no_step_of_it_may_be_a_link(runs: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / OTHER).mkdir(parents=True)
    (runs / _me() / OTHER).symlink_to(elsewhere / OTHER)
    with pytest.raises(prog.Refused, match="not a real folder"):
        prog.open_run_folder(str(runs), _me(), OTHER, os.getuid())
    (runs / _me() / THIRD).write_text("a file")
    with pytest.raises(prog.Refused, match="not a real folder"):
        prog.open_run_folder(str(runs), _me(), THIRD, os.getuid())
    with pytest.raises(prog.Refused, match="not a real folder"):
        prog.open_run_folder(str(runs), _me(), "1" * 40, os.getuid())  # missing
    # The user's runs folder itself a link: refused too.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / _me()).symlink_to(runs / _me())
    with pytest.raises(prog.Refused, match="runs folder"):
        prog.open_run_folder(str(tmp_path / "other"), _me(), NAME, os.getuid())


def test_it_must_belong_to_the_user(runs: Path) -> None:
    with pytest.raises(prog.Refused, match="does not belong to UID"):
        prog.open_run_folder(str(runs), _me(), NAME, os.getuid() + 1)


def test_job_ids_are_read_as_hostile(runs: Path) -> None:
    status = runs / _me() / NAME / "status"
    run = os.open(runs / _me() / NAME, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert prog.job_ids(run, os.getuid()) == []
        (status / "jobs.json").write_text(
            '{"1": {"slurm_id": "42"}, "2": {"slurm_id": "7"}, "3": {"slurm_id": "42"},'
            ' "4": {"slurm_id": "-1"}, "5": {"slurm_id": "1 2"}, "6": "x",'
            ' "7": {"slurm_id": "0"}, "8": {"slurm_id": "1234567890123"},'
            ' "9": {"slurm_id": "\\u0661"}}')
        assert prog.job_ids(run, os.getuid()) == [7, 42]
        (status / "jobs.json").unlink()
        (status / "jobs.json").symlink_to("/etc/passwd")
        assert prog.job_ids(run, os.getuid()) == []
    finally:
        os.close(run)


# `squeue --me -h -o "%i %Z"` as recorded: the run's job, one in its work/, one of
# another run, one of a folder whose name starts as the run's, an array task.
SQUEUE = f"""101 /srv/ws-runs/wsalice/{NAME}
102 /srv/ws-runs/wsalice/{NAME}/work
103 /srv/ws-runs/wsalice/{OTHER}
104 /srv/ws-runs/wsalice/{NAME}x
105_3 /srv/ws-runs/wsalice/{NAME}
106 /srv/ws-runs/wsalice
 /srv/ws-runs/wsalice/{NAME}
0 /srv/ws-runs/wsalice/{NAME}
107 /srv/ws-runs/wsalice/{NAME}/a b
"""


def test_cancel_finds_the_runs_jobs_by_their_working_folder() -> None:
    folder = f"/srv/ws-runs/wsalice/{NAME}"
    assert prog.jobs_below(SQUEUE, folder) == [101, 102, 107]
    assert prog.jobs_below(SQUEUE, folder + "/") == [101, 102, 107]
    assert prog.jobs_below("", folder) == []


def test_cancel_asks_slurm_for_the_jobs_in_the_opened_folder(
        runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder's path is the kernel's, of the descriptor: a link on the way to it
    (the admin's runs_dir) is resolved as getcwd, hence sbatch, sees it."""
    asked: list[list[str]] = []

    class Squeue:
        def __init__(self, argv: list[str], **kw: object) -> None:
            asked.append(argv)
            folder = (runs / _me() / NAME).resolve()
            self.stdout = io.BytesIO(f"5 {folder}\n6 /elsewhere\n".encode())

        def __enter__(self) -> Squeue:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(prog.subprocess, "Popen", Squeue)
    run = os.open(runs / _me() / NAME, prog.DIR_FLAGS)
    try:
        assert prog.queued_jobs(run, {}) == [5]
    finally:
        os.close(run)
    assert asked[0][1:] == ["--me", "-h", "-o", "%i %Z"]


def test_remove_deletes_the_folder_and_nothing_it_links_to(runs: Path,
                                                           tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "precious").write_text("x")
    folder = runs / _me() / NAME
    (folder / "work").mkdir()
    (folder / "work" / "link").symlink_to(kept)
    (folder / "work" / "file").write_text("y")
    mine, run = prog.open_run_folder(str(runs), _me(), NAME, os.getuid())
    try:
        assert prog.remove(mine, NAME) == 0
    finally:
        os.close(run)
        os.close(mine)
    assert not folder.exists() and (kept / "precious").read_text() == "x"


# ---- create: the run folder from the service's tar stream ----------------------------

def _tar(entries: list[tuple[str, bytes | None, int]], link: str | None = None) -> io.BytesIO:
    """A tar stream: (name, content or None for a folder, mode), and maybe a link."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    out.seek(0)
    return out


GOOD = [("Snakefile", b"rule all:\n", 0o600), ("status", None, 0o700),
        ("job.sh", b"#!/bin/sh\n", 0o700), ("work", None, 0o700),
        ("work/in.txt", b"x" * 10, 0o644)]


def _mine(runs: Path) -> int:
    return os.open(runs / _me(), os.O_PATH | os.O_DIRECTORY)


def test_create_unpacks_regular_files_and_folders_with_its_own_modes(runs: Path) -> None:
    mine = _mine(runs)
    try:
        assert prog.create(mine, OTHER, os.getuid(), _tar(GOOD)) == 0
    finally:
        os.close(mine)
    made = runs / _me() / OTHER
    assert (made / "Snakefile").read_bytes() == b"rule all:\n"
    assert (made / "work" / "in.txt").read_bytes() == b"x" * 10
    modes = {p: stat.S_IMODE((made / p).stat().st_mode) & ~0o027  # whatever the umask
             for p in ("Snakefile", "job.sh", "status", "work/in.txt")}
    assert modes == {"Snakefile": 0o640, "job.sh": 0o750, "status": 0o750,
                     "work/in.txt": 0o640}
    assert os.listdir(runs / _me() / ".staging") == []  # built there, renamed away


@pytest.mark.parametrize("entries,link,says", [
    ([("../escape", b"", 0o600)], None, "leaves the run folder"),
    ([("/etc/evil", b"", 0o600)], None, "leaves the run folder"),
    ([("work/./x", b"", 0o600)], None, "leaves the run folder"),
    (GOOD, "work/link", "no regular file or folder"),
])
def test_create_refuses_what_is_no_plain_folder(runs: Path, entries: list[tuple[str, bytes |
                                                None, int]], link: str | None,
                                                says: str) -> None:
    mine = _mine(runs)
    try:
        with pytest.raises(prog.Refused, match=says):
            prog.create(mine, OTHER, os.getuid(), _tar(entries, link))
    finally:
        os.close(mine)
    assert not (runs / _me() / OTHER).exists()  # nothing half made
    assert os.listdir(runs / _me() / ".staging") == []
    assert not (runs.parent / "escape").exists()


def test_create_refuses_an_existing_run_folder(runs: Path) -> None:
    mine = _mine(runs)
    try:
        with pytest.raises(prog.Refused, match="exists already"):
            prog.create(mine, NAME, os.getuid(), _tar(GOOD))
    finally:
        os.close(mine)
    assert sorted(os.listdir(runs / _me() / NAME)) == ["status"]


# ---- run: a local run's job.sh, in a session of its own ------------------------------

def _env() -> dict[str, str]:
    return prog.clean_environment(pwd.getpwuid(os.getuid()))


def _run_fd(runs: Path) -> int:
    return os.open(runs / _me() / NAME, os.O_PATH | os.O_DIRECTORY)


def test_run_runs_job_sh_in_the_run_folder_once(runs: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = runs / _me() / NAME
    # Its own session and process group; nothing on stdin, stdout, stderr; the
    # program's environment, not the caller's.
    (folder / "job.sh").write_text(
        'read -r _ _ _ _ pgrp sid _ < /proc/$$/stat\n'
        'echo "$$ $pgrp $sid" > ids\n'
        'readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2 > fds\n'
        'echo "${WS_SECRET:-none} $PATH" > env\n'
        'exit 7\n')
    monkeypatch.chdir("/")
    monkeypatch.setenv("WS_SECRET", "leaked")
    run = _run_fd(runs)
    try:
        assert prog.run_job(run, os.getuid(), _env(), str(runs / "no.sock")) == 7
        with pytest.raises(prog.Refused, match="run already"):
            prog.run_job(run, os.getuid(), _env(), str(runs / "no.sock"))
    finally:
        os.close(run)
    pid, pgrp, sid = (folder / "ids").read_text().split()
    assert pid == pgrp == sid
    assert (folder / "fds").read_text().split() == ["/dev/null"] * 3
    assert (folder / "env").read_text().split() == ["none", prog.SAFE_PATH]
    assert (folder / "status" / "run.started").is_file()


def test_run_refuses_a_folder_without_a_job_script(runs: Path, tmp_path: Path) -> None:
    folder = runs / _me() / NAME
    run = _run_fd(runs)
    try:
        with pytest.raises(prog.Refused, match=r"no job\.sh"):
            prog.run_job(run, os.getuid(), _env(), str(runs / "no.sock"))
        (tmp_path / "elsewhere.sh").write_text("touch ran\n")
        (folder / "job.sh").symlink_to(tmp_path / "elsewhere.sh")
        with pytest.raises(prog.Refused, match=r"no job\.sh"):
            prog.run_job(run, os.getuid(), _env(), str(runs / "no.sock"))
    finally:
        os.close(run)
    assert not (folder / "status" / "run.started").exists()
    assert not (folder / "ran").exists()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie: dead
    except FileNotFoundError:
        return True


RUN_SESSION = """
import importlib.machinery, importlib.util, sys
loader = importlib.machinery.SourceFileLoader("ws_as_user", sys.argv[1])
spec = importlib.util.spec_from_loader("ws_as_user", loader)
prog = importlib.util.module_from_spec(spec)
loader.exec_module(prog)
sys.exit(prog._run_session(["/bin/bash", "job.sh"], {"PATH": prog.SAFE_PATH}))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_kills_the_job_s_whole_group(tmp_path: Path, signum: int) -> None:
    # The background process leaves the group (a session of its own, as
    # Apptainer's squashfuse_ll): killed as the job's descendant.
    (tmp_path / "job.sh").write_text("setsid sleep 300 &\necho $! > bg.pid\nsleep 300\n")
    proc = subprocess.Popen([sys.executable, "-c", RUN_SESSION, str(PROGRAM)],
                            cwd=tmp_path)
    try:
        started = tmp_path / "bg.pid"
        deadline = time.monotonic() + 30
        while not (started.exists() and started.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "job.sh never started"
            time.sleep(0.02)
        background = int(started.read_text())
        proc.send_signal(signum)
        assert proc.wait(30) == 128 + signum
        deadline = time.monotonic() + 10
        while not _gone(background):  # killed: init reaps it when it gets to it
            assert time.monotonic() < deadline, "the job's background process lives on"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()


def test_the_rule_the_docs_and_the_program_name_the_same_verbs() -> None:
    root = PROGRAM.parents[1]
    pattern = re.compile(r"ws-as-user \^\(([a-z|]+)\) \[0-9a-f\]\{40\}")
    for path in (root / "scripts" / "unix-users-up.sh", root / "docs" / "admin.md"):
        found = pattern.search(path.read_text().replace("$PROGRAM", "ws-as-user"))
        assert found, path
        assert found.group(1).split("|") == list(prog.VERBS), path


# ---- export: the run folder as a tar stream, never following a link ----------------------

def test_export_hands_over_files_and_folders_and_no_link(runs: Path, tmp_path: Path) -> None:
    folder = runs / _me() / NAME
    (folder / "work" / "d").mkdir(parents=True)
    (folder / "work" / "stdout.txt").write_text("42\n")
    (folder / "work" / "stdout.txt").chmod(0o600)
    (folder / "work" / "d" / "inner.txt").write_text("s\n")
    (folder / "work" / "d").chmod(0o700)
    (tmp_path / "secret").write_text("not theirs")
    (folder / "work" / "link.txt").symlink_to(tmp_path / "secret")
    (folder / "work" / "linkdir").symlink_to(tmp_path)
    os.mkfifo(folder / "work" / "fifo")
    out = io.BytesIO()
    mine, run = prog.open_run_folder(str(runs), _me(), NAME, os.getuid())
    try:
        assert prog.export(run, out) == 0
    finally:
        os.close(run)
        os.close(mine)
    out.seek(0)
    with tarfile.open(fileobj=out, mode="r|") as tar:
        got = {}
        for m in tar:
            assert m.isdir() or m.isreg(), m.name
            f = tar.extractfile(m)
            got[m.name] = f.read() if f else None
    assert got == {"status": None, "work": None, "work/d": None,
                   "work/d/inner.txt": b"s\n", "work/stdout.txt": b"42\n"}


def test_export_reads_a_file_a_chunk_at_a_time_and_keeps_its_header_s_size(
        tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abcdef")
    with (tmp_path / "f").open("rb") as f:
        grew = prog._Exactly(f, 4)  # the file grew after its size was taken: cut
        assert (grew.read(3), grew.read(3), grew.read()) == (b"abc", b"d", b"")
    with (tmp_path / "f").open("rb") as f:
        shrank = prog._Exactly(f, 8)  # it shrank: padded, the stream stays whole
        assert shrank.read() == b"abcdef\0\0"
