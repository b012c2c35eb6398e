"""One service per state folder; the lock dies with its holder."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from service.core.instance_lock import AlreadyRunning, hold_instance_lock


def start_holder(state_dir: Path) -> subprocess.Popen[str]:
    """Another process holding the lock on state_dir, until killed."""
    code = ("import sys, time; from pathlib import Path; "
            "from service.core.instance_lock import hold_instance_lock\n"
            "with hold_instance_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(60)")
    return subprocess.Popen([sys.executable, "-c", code, str(state_dir)],
                            stdout=subprocess.PIPE, text=True)


def held_elsewhere(lock_file: Path) -> bool:
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    with hold_instance_lock(tmp_path / "state"), \
            pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"), \
            hold_instance_lock(tmp_path / "state"):
        pass
    with hold_instance_lock(tmp_path / "state"):  # released at the end of the block
        pass


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    holder = start_holder(tmp_path)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(AlreadyRunning), hold_instance_lock(tmp_path):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with hold_instance_lock(tmp_path):
        pass


STAT = "4242 (ws serve (x)) {state} 1 4242 4242 0 -1 {flags} 120 0 0 0 5 2 0 0 20 0 3 0"
STATUS = "Name:\tpython3\nState:\tS (sleeping)\nShdPnd:\t{shared}\nSigPnd:\t{own}\n"
QUIET = "0000000000000000"


@pytest.mark.parametrize(("state", "flags", "shared", "own", "exiting"), [
    ("S", 4194560, QUIET, QUIET, False),           # alive, asleep
    ("R", 4194560, QUIET, "0000000000000002", False),  # a SIGINT pending is not the end
    ("Z", 4194572, QUIET, QUIET, True),            # a zombie
    ("D", 4194564, QUIET, QUIET, True),            # PF_EXITING: in do_exit
    ("R", 4194560, "0000000000000100", QUIET, True),  # SIGKILL sent, not yet acted on
    ("S", 4194560, QUIET, "0000000000000100", True),
])
def test_an_exiting_holder_is_told_from_proc(state: str, flags: int, shared: str, own: str,
                                              exiting: bool) -> None:
    from service.core.instance_lock import is_exiting
    stat = STAT.format(state=state, flags=flags)
    assert is_exiting(stat, STATUS.format(shared=shared, own=own)) is exiting


def test_a_start_waits_for_a_holder_that_is_exiting(tmp_path: Path) -> None:
    holder = start_holder(tmp_path)
    zombie = subprocess.Popen(["true"])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":
            time.sleep(0.01)
        # The file names a process on its way out (a zombie, unreaped) while the
        # lock is still held, as a killed service's is until its exit ends.
        (tmp_path / "ws.lock").write_text(f"{zombie.pid}\n")
        threading.Timer(0.5, holder.kill).start()
        started = time.monotonic()
        with hold_instance_lock(tmp_path, exiting_wait_s=20):
            assert 0.4 < time.monotonic() - started < 20
        with hold_instance_lock(tmp_path):
            (tmp_path / "ws.lock").write_text(f"{zombie.pid}\n")
            started = time.monotonic()
            with pytest.raises(AlreadyRunning), hold_instance_lock(tmp_path, exiting_wait_s=0.3):
                pass
            assert time.monotonic() - started >= 0.3  # waited, but not forever
    finally:
        holder.kill()
        holder.wait()
        zombie.wait()


def test_a_start_does_not_lose_to_a_running_probe(tmp_path: Path) -> None:
    # service.sh's "is it running?" is `flock -n ws.lock true`: the lock held for an
    # instant, by a process the lock file does not name (it names a live one here).
    (tmp_path / "ws.lock").write_text(f"{os.getpid()}\n")
    probe = subprocess.Popen(["flock", "-n", str(tmp_path / "ws.lock"), "sleep", "0.4"])
    try:
        while not held_elsewhere(tmp_path / "ws.lock"):
            time.sleep(0.01)
        with hold_instance_lock(tmp_path):
            assert probe.poll() is not None
    finally:
        probe.wait()
