"""Local runs against the bare container: median time per run, and the ratio.

    .venv/bin/python bench/local_run.py [-n 20]     (as root, cluster up)

Starts a service of its own under the service account (as the tests do), then
alternates N local runs of sw_example through the API (`python /add.py 4 5`,
the generated Snakemake workflow included) with N bare
`apptainer exec <sif> python /add.py 4 5` run by the same account, so both see
the same machine noise. Prints both medians and their ratio."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live import WS_USER, build_images, make_service

# Runs as the service account: times each bare apptainer exec on request, so
# that runuser's own start-up is not counted in the baseline.
BASELINE = """
import subprocess, sys, time
for line in sys.stdin:
    t0 = time.perf_counter()
    out = subprocess.run(["apptainer", "-s", "exec", sys.argv[1], "python", "/add.py", "4",
                          "5"], capture_output=True, text=True, cwd="/tmp").stdout
    assert out.strip() == "9.0", out
    print(time.perf_counter() - t0, flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    images = build_images()
    live = make_service(images, local={"max_concurrent": 1})
    baseline = subprocess.Popen(
        ["runuser", "-u", WS_USER, "--", "/usr/bin/python3", "-c", BASELINE,
         str(images["singularity"])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    assert baseline.stdin and baseline.stdout
    session = requests.Session()
    headers = live.auth()
    url = f"{live.url}/api/software/run/sw_example/"
    api: list[float] = []
    bare: list[float] = []
    try:
        for i in range(args.n + 2):
            t0 = time.perf_counter()
            r = session.post(url, json={"cmd": "python /add.py 4 5"}, headers=headers,
                             timeout=120)
            elapsed = time.perf_counter() - t0
            assert r.status_code == 200 and r.json()["info"]["stdout"] == "9.0", r.text
            baseline.stdin.write("go\n")
            baseline.stdin.flush()
            bare_elapsed = float(baseline.stdout.readline())
            if i >= 2:  # two warm-up rounds
                api.append(elapsed)
                bare.append(bare_elapsed)
    finally:
        baseline.stdin.close()
        baseline.wait()
        live.stop()
    api_median, bare_median = statistics.median(api), statistics.median(bare)
    print(f"runs: {args.n}")
    print(f"local run through the API (median): {api_median * 1000:.0f} ms")
    print(f"bare apptainer exec (median):       {bare_median * 1000:.0f} ms")
    print(f"ratio: {api_median / bare_median:.2f}")


if __name__ == "__main__":
    main()
