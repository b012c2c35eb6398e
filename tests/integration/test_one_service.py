"""One service per state folder, and a restart right after a kill -9 (issue 11):
the state folder's lock decides, not a pid file."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

import requests

from tests.live import ROOT, WS, WS_USER, LiveService, run

SERVICE_SH = ["bash", str(ROOT / "scripts" / "service.sh")]


def holder_pid(live: Any) -> int:
    return int((live.state_dir / "ws.lock").read_text().strip())


def test_a_second_service_on_the_same_state_folder_refuses_to_start(
        service: LiveService) -> None:
    live = service
    second = run(["runuser", "-u", WS_USER, "--", WS, "--config", str(live.config), "serve",
                  "--port", "1"], timeout=60)
    assert second.returncode == 1
    assert "already uses" in second.stderr and str(holder_pid(live)) in second.stderr
    assert requests.get(f"{live.url}/api/software/list/", timeout=10).ok


def test_service_sh_restarts_right_after_a_kill_9(service_factory: Any) -> None:
    live = service_factory()
    env = {**os.environ, "WS_LOG": str(live.home / "service-sh.log")}
    # The service's python alone, as an OOM kill would: its runuser parent lingers.
    os.kill(holder_pid(live), signal.SIGKILL)
    started = time.monotonic()
    result = subprocess.run([*SERVICE_SH, "start", str(live.config)], env=env, text=True,
                            capture_output=True, timeout=60, check=False)
    elapsed = time.monotonic() - started
    try:
        assert result.returncode == 0, result.stderr
        assert "started" in result.stderr, result.stderr
        assert requests.get(f"{live.url}/api/software/list/", timeout=10).ok
        print(f"restart after kill -9 answered in {elapsed:.2f} s")
        status = subprocess.run([*SERVICE_SH, "status", str(live.config)], env=env,
                                text=True, capture_output=True, timeout=60, check=False)
        assert status.returncode == 0 and "running" in status.stderr
    finally:
        stop = subprocess.run([*SERVICE_SH, "stop", str(live.config)], env=env, text=True,
                              capture_output=True, timeout=60, check=False)
    assert stop.returncode == 0, stop.stderr
    status = subprocess.run([*SERVICE_SH, "status", str(live.config)], env=env, text=True,
                            capture_output=True, timeout=60, check=False)
    assert status.returncode == 3 and "not running" in status.stderr
    live.proc.wait(timeout=30)  # the first runuser, reaped
