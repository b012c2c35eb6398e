"""Cluster runs against a bare Slurm job: median time from submission to results.

    .venv/bin/python bench/cluster_run.py [-n 10]     (as root, cluster up)

Starts a service of its own under the service account (as the tests do), then
alternates N cluster runs of sw_example through the API (POST, state until
cr is OK, GET the results) with N bare `sbatch --wrap "apptainer exec <sif>
python /add.py 4 5"` by the same account, followed with squeue until
COMPLETED. Prints both medians and their ratio. Each run's workflow is
submitted by a warm Snakemake on the login node through ws's executor: no
Snakemake starts inside the job.

    --unix   identity mode "unix": alice is mapped to the test user wsalice, each
             run's folder is made, and its workflow submitted, as wsalice through
             ws-as-user (a Snakemake started cold per run, not the warm one's fork)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alternate import compare

from tests.live import LiveService

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


def one_run(live: LiveService, session: requests.Session) -> None:
    answer = session.post(f"{live.url}/api/software/muse/run/sw_example/",
                          json={"cmd": "python /add.py 4 5"}, headers=live.auth(),
                          timeout=60).json()
    while session.get(answer["url"], timeout=60).json()["info"]["report"]["cr"] == "WAIT":
        time.sleep(0.05)
    result = session.get(answer["urls"]["run"], timeout=60).json()
    assert result["info"]["stdout"] == "9.0", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--unix", action="store_true",
                        help='identity mode "unix", alice mapped to wsalice')
    args = parser.parse_args()

    def map_alice(live: LiveService) -> None:
        result = live.admin("user", "unix", "alice", "wsalice")
        assert result.returncode == 0, result.stderr
    # The service's default poller: it learns of a job's end from the exit record
    # in the run folder, then asks Slurm (no fast squeue polling).
    settings = {"identity": {"mode": "unix"}} if args.unix else {}
    compare(args.n, 1, settings, BASELINE, one_run,
            "cluster run through the API, POST to results",
            "bare sbatch of apptainer exec, to COMPLETED",
            map_alice if args.unix else None)


if __name__ == "__main__":
    main()
