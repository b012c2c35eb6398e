"""One service per state folder; the lock dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.core.instance_lock import AlreadyRunning, hold_instance_lock


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    with hold_instance_lock(tmp_path / "state"), \
            pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"), \
            hold_instance_lock(tmp_path / "state"):
        pass
    with hold_instance_lock(tmp_path / "state"):  # released at the end of the block
        pass


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; "
            "from service.core.instance_lock import hold_instance_lock\n"
            "with hold_instance_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(AlreadyRunning), hold_instance_lock(tmp_path):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with hold_instance_lock(tmp_path):
        pass
