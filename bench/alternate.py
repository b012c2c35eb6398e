"""What both benchmarks share: a service of their own, a baseline that times
itself as the service account, rounds alternated so both see the same noise,
and the medians printed side by side."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live import WS_USER, LiveService, build_images, make_service


def compare(n: int, warm_up: int, service_settings: dict[str, Any], baseline_script: str,
            api_round: Callable[[LiveService, requests.Session], None],
            api_label: str, bare_label: str,
            prepare: Callable[[LiveService], None] | None = None) -> None:
    """Alternate `api_round` (timed here) with one round of `baseline_script`
    (run as the service account with the sw_example SIF as argument; it prints
    its own time per line it reads), then print both medians and their ratio."""
    images = build_images()
    live = make_service(images, **service_settings)
    if prepare is not None:
        prepare(live)
    deadline = time.time() + 180  # the warm Snakemake warms up in the background
    while (not any(said in live.log() for said in ("warm Snakemake ready", "no warm Snakemake"))
           and time.time() < deadline):
        time.sleep(0.5)
    baseline = subprocess.Popen(
        ["runuser", "-u", WS_USER, "--", "/usr/bin/python3", "-c", baseline_script,
         str(images["singularity"])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    assert baseline.stdin and baseline.stdout
    session = requests.Session()
    api: list[float] = []
    bare: list[float] = []
    try:
        for i in range(n + warm_up):
            t0 = time.perf_counter()
            api_round(live, session)
            elapsed = time.perf_counter() - t0
            baseline.stdin.write("go\n")
            baseline.stdin.flush()
            bare_elapsed = float(baseline.stdout.readline())
            if i >= warm_up:
                api.append(elapsed)
                bare.append(bare_elapsed)
    finally:
        baseline.stdin.close()
        baseline.wait()
        live.stop()
    api_median, bare_median = statistics.median(api), statistics.median(bare)
    width = max(len(api_label), len(bare_label))
    print(f"runs: {n}")
    print(f"{api_label:<{width}} (median): {api_median * 1000:.0f} ms")
    print(f"{bare_label:<{width}} (median): {bare_median * 1000:.0f} ms")
    print(f"ratio: {api_median / bare_median:.2f}")
