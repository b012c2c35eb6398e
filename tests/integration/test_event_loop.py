"""One user's request cannot stall the others: while a hostile request is
served by the live service, another client's GET /api/software/list/ is
measured (the hostile request's own time is not asserted on)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests

from tests.live import WS_USER, LiveService

pytestmark = pytest.mark.cluster
# 24 MB of stdout: 240 000 lines of 99 characters.
PRINT_24_MB = "python -c \"import sys; sys.stdout.write(('x' * 99 + chr(10)) * 240000)\""


def latencies_while(action: Any, url: str) -> tuple[Any, list[float]]:
    """Run `action` in a thread; meanwhile GET `url` again and again, timing each."""
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(value=action()))
    times: list[float] = []
    worker.start()
    while worker.is_alive() or not times:
        start = time.monotonic()
        r = requests.get(url, timeout=120)
        times.append(time.monotonic() - start)
        assert r.status_code == 200
        time.sleep(0.05)
    worker.join()
    return result["value"], times


@pytest.mark.parametrize("fmt", ["yaml", "xml", "json", "api"])
def test_a_24_mb_stdout_in_any_format_stalls_no_one(service: LiveService, fmt: str) -> None:
    def hostile() -> requests.Response:
        return requests.post(f"{service.url}/api/software/run/sw_example/?format={fmt}",
                             json={"cmd": PRINT_24_MB}, headers=service.auth(),
                             timeout=300)
    answer, times = latencies_while(hostile, f"{service.url}/api/software/list/")
    # Served as asked, or refused as too large for that format: either way, at once.
    assert answer.status_code in (200, 413), answer.text[:500]
    if answer.status_code == 413:  # the error, in the format asked
        assert "too_large" in answer.text and "format=json" in answer.text
    else:
        assert len(answer.content) > 24_000_000
    assert len(times) >= 3
    print(f"format={fmt}: {len(times)} GETs of the other client, slowest "
          f"{max(times) * 1000:.0f} ms")
    assert max(times) < 1.0, f"the other client waited {max(times):.2f} s: {times}"


def test_a_locked_database_stalls_no_one(service: LiveService) -> None:
    # Another process (as `ws admin` would be) holds the database's write lock for 3 s.
    holder = subprocess.Popen(
        ["runuser", "-u", WS_USER, "--", sys.executable, "-c",
         "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None);"
         " db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(3);"
         " db.execute('ROLLBACK')", str(service.state_dir / "ws.sqlite3")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

        def writer() -> requests.Response:  # a new run is a write: it meets the lock
            return requests.post(f"{service.url}/api/software/run/sw_example/",
                                 json={"cmd": "echo hi"}, headers=service.auth(),
                                 timeout=120)
        answer, times = latencies_while(writer, f"{service.url}/api/software/list/")
    finally:
        holder.wait(timeout=30)
    # Refused at once with 503 and Retry-After (or served, had the lock gone by then).
    assert answer.status_code in (200, 503), answer.text
    if answer.status_code == 503:
        assert answer.headers["Retry-After"] == "1" and answer.json()["type"] == "busy"
    print(f"locked database: slowest other GET {max(times) * 1000:.0f} ms")
    assert max(times) < 1.0, times
