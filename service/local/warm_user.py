"""A Unix user's own warm Snakemake (identity mode "unix"): `python -m
service.local.warm_user SOCKET`, started as the user by `ws-as-user warm RUN_ID`.

It is warm_snakemake's process for one user: Snakemake's start-up (≈1.9 s of a
local run) paid once, each run a forked child. It listens on a Unix socket in the
user's own runs folder (mode 0600, so the user alone may connect: not the service
account, not another user), where `ws-as-user run RUN_ID`, as the user, hands it
the run folder it opened and checked (its descriptor, SCM_RIGHTS) with the rlimits
the service set on it. Nothing here checks more than the program did: this
process holds no more power than the user has, and serves only what the user's
own program sends it.

Protocol on a connection (JSON lines): the program sends {"rlimits": [[RESOURCE,
SOFT, HARD], ...], "python": ITS_CONFIG'S} with the run folder's descriptor (or,
`ws-as-user warm` probing, "probe": true and no descriptor: answered {"ready": 1}
if this process is current; one that is not leaves without answering); this process answers
{"pid": PID} once the child is forked and {"exit": CODE} once it has ended.
"stop" from the program (the service stops the run), or the connection closing,
kills the child's group and everything below it (SIGKILL), as `ws-as-user run`
does with a job it runs itself; the exit then follows as usual.

It leaves when idle for IDLE_S (no connection, no child); a lock file next to the
socket keeps one per user."""

from __future__ import annotations

import array
import contextlib
import fcntl
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass

from service.local.warm_snakemake import run_child, warm_up
from service.runs.workflow import RUN_HERE

IDLE_S = 300.0
LOCK_WAIT_S = 10.0
MAX_REQUEST = 64 * 1024


class Outdated(Exception):
    """This process's code is not what the service runs now."""


_STARTED_AS = os.stat(__file__)


def _code_changed() -> bool:
    try:
        now = os.stat(__file__)
    except OSError:
        return True
    return (now.st_ino, now.st_mtime_ns) != (_STARTED_AS.st_ino, _STARTED_AS.st_mtime_ns)


@dataclass
class Served:
    conn: socket.socket
    pid: int = 0
    stopping: bool = False  # killed: its connection is no longer listened to


def descendants(pid: int) -> list[int]:
    """The processes below `pid` now (from /proc: each one's parent)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_run(pid: int) -> None:
    """The child's group and everything below it (Apptainer's squashfuse_ll leaves
    the group), before it is reaped: SIGKILL."""
    left = descendants(pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    for other in left:
        with contextlib.suppress(OSError):
            os.kill(other, signal.SIGKILL)


@dataclass(frozen=True)
class Request:
    rlimits: list[list[int]]
    run_fd: int  # the run folder's descriptor; -1 for a probe
    python: str  # the Python the program would run (its config's)


def receive(conn: socket.socket) -> Request | None:
    """A run (its rlimits and its folder's descriptor), or a probe (no descriptor:
    `ws-as-user warm` asks whether this process is current); None for anything else."""
    fds = array.array("i")
    try:
        # Room for two: more than one descriptor sent is then seen, and refused.
        data, ancillary, flags, _ = conn.recvmsg(MAX_REQUEST,
                                                 socket.CMSG_SPACE(2 * fds.itemsize))
    except OSError:
        return None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    try:
        request = json.loads(data)
        limits = [[int(r), int(s), int(h)] for r, s, h in request["rlimits"]]
        python = str(request.get("python", ""))
        probe = request.get("probe") is True
    except (ValueError, TypeError, KeyError):
        limits = None
    if limits is None or len(fds) != (0 if probe else 1) or flags & (
            socket.MSG_CTRUNC | socket.MSG_TRUNC):
        for fd in fds:
            os.close(fd)
        return None
    return Request(limits, -1 if probe else fds[0], python)


def _say(conn: socket.socket, message: dict[str, int]) -> None:
    with contextlib.suppress(OSError):
        conn.sendall((json.dumps(message) + "\n").encode())


def _start(conn: socket.socket, served: dict[int, Served], by_pid: dict[int, Served],
           own: tuple[int, ...]) -> None:
    """Fork the run's child; `own`: this process's descriptors (wake pipe, socket,
    lock), which the child closes with every connection: none reaches the run."""
    got = receive(conn)
    if got is None:
        conn.close()
        return
    if got.python != sys.executable or _code_changed():
        # ws was upgraded or moved (the admin's config names another Python): this
        # process's code is not the service's any more. No answer: the program runs
        # the run cold (or, probing, starts a new one); leave.
        if got.run_fd >= 0:
            os.close(got.run_fd)
        conn.close()
        raise Outdated
    if got.run_fd < 0:  # a probe: current
        _say(conn, {"ready": 1})
        conn.close()
        return
    limits, run_fd = got.rlimits, got.run_fd
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (*own, conn.fileno(), *(s.conn.fileno() for s in served.values())):
            with contextlib.suppress(OSError):
                os.close(fd)
        run_child(run_fd, list(RUN_HERE), limits)
    os.close(run_fd)
    entry = served[conn.fileno()] = Served(conn, pid)
    by_pid[pid] = entry
    _say(conn, {"pid": pid})


def serve(path: str) -> None:
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # this process forks (warm_snakemake.serve says why)
    lock = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                   0o600)
    # One per user: an outdated one that a probe made leave may still be going.
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                return  # a current one is there
            time.sleep(0.1)
    wake = os.pipe()
    os.set_blocking(wake[1], False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)
    warm_up()
    gc.collect()
    gc.freeze()
    os.umask(0o077)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a socket left by one that was killed (we hold the lock)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.umask(0o027)  # the runs' files: as the program makes them (ws-as-user)
    listener.listen(16)
    served: dict[int, Served] = {}
    by_pid: dict[int, Served] = {}
    try:
        while True:
            try:
                listened: list[socket.socket | int] = [
                    listener, wake[0], *(s.conn for s in served.values() if not s.stopping)]
                readable, _, _ = select.select(listened, [], [],
                                               None if served else IDLE_S)
            except InterruptedError:
                continue
            if not readable:
                return  # idle
            for ready in readable:
                if ready is listener:
                    conn, _ = listener.accept()
                    try:
                        _start(conn, served, by_pid, (*wake, listener.fileno(), lock))
                    except Outdated:
                        return  # running children finish on their own
                elif ready == wake[0]:
                    os.read(wake[0], 4096)
                    _reap(served, by_pid)
                else:
                    assert isinstance(ready, socket.socket)
                    _stop_asked(ready, served)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _stop_asked(conn: socket.socket, served: dict[int, Served]) -> None:
    """"stop", or the connection gone: the run is killed (its exit is said once
    it is reaped)."""
    entry = served.get(conn.fileno())
    try:
        data = conn.recv(64)
    except OSError:
        data = b""
    if entry is not None and (not data or data.strip() == b"stop"):
        entry.stopping = True
        kill_run(entry.pid)


def _reap(served: dict[int, Served], by_pid: dict[int, Served]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        entry = by_pid.pop(pid, None)
        if entry is not None:
            served.pop(entry.conn.fileno(), None)
            _say(entry.conn, {"exit": os.waitstatus_to_exitcode(status)})
            entry.conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
