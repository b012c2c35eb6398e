"""Cluster runs against a bare Slurm job: median time from submission to results.

    .venv/bin/python bench/cluster_run.py [-n 10]     (as root, cluster up)

Starts a service of its own under the service account (as the tests do), then
alternates N cluster runs of sw_example through the API (POST, state until
cr is OK, GET the results) with N bare `sbatch --wrap "apptainer exec <sif>
python /add.py 4 5"` by the same account, followed with squeue until
COMPLETED. Prints both medians and their ratio. Snakemake starting inside each
job is the cost this shows (see DESIGN and CLUSTER-NOTES)."""

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

# Runs as the service account: one bare job per request line, timed from sbatch
# to squeue's COMPLETED, polled every 50 ms.
BASELINE = """
import subprocess, sys, time
for line in sys.stdin:
    t0 = time.perf_counter()
    job = subprocess.run(["sbatch", "--parsable", "--output=/dev/null", "--chdir=/tmp",
                          "--wrap", f"apptainer -s exec {sys.argv[1]} python /add.py 4 5"],
                         capture_output=True, text=True, check=True).stdout.split(";")[0].strip()
    while True:
        state = subprocess.run(["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"],
                               capture_output=True, text=True).stdout.strip()
        if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"):
            break
        time.sleep(0.05)
    assert state == "COMPLETED", state
    print(time.perf_counter() - t0, flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args()
    images = build_images()
    live = make_service(images, cluster={"poll_min_s": 0.1})
    baseline = subprocess.Popen(
        ["runuser", "-u", WS_USER, "--", "/usr/bin/python3", "-c", BASELINE,
         str(images["singularity"])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    assert baseline.stdin and baseline.stdout
    session = requests.Session()
    headers = live.auth()
    url = f"{live.url}/api/software/muse/run/sw_example/"
    api: list[float] = []
    bare: list[float] = []
    try:
        for i in range(args.n + 1):
            t0 = time.perf_counter()
            answer = session.post(url, json={"cmd": "python /add.py 4 5"}, headers=headers,
                                  timeout=60).json()
            while session.get(answer["url"], timeout=60).json()["info"]["report"][
                    "cr"] == "WAIT":
                time.sleep(0.05)
            result = session.get(answer["urls"]["run"], timeout=60).json()
            elapsed = time.perf_counter() - t0
            assert result["info"]["stdout"] == "9.0", result
            baseline.stdin.write("go\n")
            baseline.stdin.flush()
            bare_elapsed = float(baseline.stdout.readline())
            if i >= 1:  # one warm-up round
                api.append(elapsed)
                bare.append(bare_elapsed)
    finally:
        baseline.stdin.close()
        baseline.wait()
        live.stop()
    api_median, bare_median = statistics.median(api), statistics.median(bare)
    print(f"runs: {args.n}")
    print(f"cluster run through the API, POST to results (median): {api_median * 1000:.0f} ms")
    print(f"bare sbatch of apptainer exec, to COMPLETED (median):   {bare_median * 1000:.0f} ms")
    print(f"ratio: {api_median / bare_median:.2f}")


if __name__ == "__main__":
    main()
