"""A Unix user's own warm Snakemake (identity mode "unix"): what `ws-as-user run`
sends it and how it answers (service/local/warm_user.py and the program's
_run_warm), over a real Unix socket; the server's side is played by the test."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from pathlib import Path

from service.local import warm_user
from tests.unit.test_ws_as_user import _load

prog = _load()


def serve_once(path: Path, answers: list[bytes], seen: list[object]) -> threading.Thread:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got = warm_user.receive(conn)
            seen.append(got)
            if got is not None and got.run_fd >= 0:
                os.close(got.run_fd)
            for answer in answers:
                if answer == b"WAIT-STOP":
                    seen.append(conn.recv(64))
                    continue
                conn.sendall(answer)
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_run_is_handed_over_with_its_folder_and_bounds(tmp_path: Path) -> None:
    seen: list[object] = []
    thread = serve_once(tmp_path / "s", [b'{"pid": 12}\n{"exit"', b': 3}\n'], seen)
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        assert prog._run_warm(str(tmp_path / "s"), fd, "/venv/bin/python") == 3
    finally:
        os.close(fd)
    thread.join(5)
    request = seen[0]
    assert isinstance(request, warm_user.Request)
    assert [r for r, _, _ in request.rlimits] == list(prog.WARM_LIMITS)
    assert request.python == "/venv/bin/python"


def test_no_warm_process_or_one_that_fails_before_forking_means_cold(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        assert prog._run_warm(str(tmp_path / "none"), fd) is None
        thread = serve_once(tmp_path / "s", [b"nonsense\n"], [])
        assert prog._run_warm(str(tmp_path / "s"), fd) is None
        thread.join(5)
    finally:
        os.close(fd)


def test_a_stop_signal_asks_the_warm_process_to_kill_the_run(tmp_path: Path) -> None:
    seen: list[object] = []
    thread = serve_once(tmp_path / "s", [b'{"pid": 12}\n', b"WAIT-STOP",
                                         b'{"exit": -9}\n'], seen)
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    old = signal.getsignal(signal.SIGTERM)
    try:
        timer.start()
        assert prog._run_warm(str(tmp_path / "s"), fd) == 128 + signal.SIGTERM
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, old)
        os.close(fd)
    thread.join(5)
    assert seen[1] == b"stop\n"


def test_the_warm_process_takes_nothing_but_a_request_and_one_folder() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b'{"rlimits": [[2, 10, 20]]}')  # no descriptor
        assert warm_user.receive(b) is None
        a.sendall(b'{"rlimits": [], "probe": true, "python": "/p"}')  # a probe has none
        probe = warm_user.receive(b)
        assert probe is not None and (probe.run_fd, probe.python) == (-1, "/p")
        fds = [os.open("/", os.O_PATH), os.open("/", os.O_PATH)]
        a.sendmsg([b'{"rlimits": []}'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                          bytes(memoryview(_ints(fds))))])
        assert warm_user.receive(b) is None  # two
        a.sendmsg([b"not json"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   bytes(memoryview(_ints(fds[:1]))))])
        assert warm_user.receive(b) is None
        a.sendmsg([json.dumps({"rlimits": [[2, 10, 20]]}).encode()], [
            (socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(memoryview(_ints(fds[:1]))))])
        got = warm_user.receive(b)
        assert got is not None and got.rlimits == [[2, 10, 20]] and got.python == ""
        os.close(got.run_fd)
        for fd in fds:
            os.close(fd)


def _ints(fds: list[int]) -> object:
    import array
    return array.array("i", fds)


def test_warm_asks_whether_the_one_answering_is_current(tmp_path: Path) -> None:
    seen: list[object] = []
    thread = serve_once(tmp_path / "s", [b'{"ready": 1}\n'], seen)
    assert prog._current_warm(str(tmp_path / "s"), "/venv/bin/python")
    thread.join(5)
    assert isinstance(seen[0], warm_user.Request) and seen[0].run_fd == -1
    thread = serve_once(tmp_path / "t", [], [])  # an outdated one: no answer
    assert not prog._current_warm(str(tmp_path / "t"), "/venv/bin/python")
    thread.join(5)
    assert not prog._current_warm(str(tmp_path / "none"), "/venv/bin/python")
