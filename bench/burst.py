"""A burst of cluster runs against a burst of bare sbatch: acceptance, job ids,
and what each run costs the login node.

    .venv/bin/python bench/burst.py [-n 200] [-c 20]     (as root, cluster up)

Starts a service of its own under the service account (as the tests do). Then:
1. N bare `sbatch --hold --wrap "apptainer exec <sif> python /add.py 4 5"` from C
   threads, by the service account: time until all returned a job id.
2. N POSTs of cluster runs from C client threads: time until all were accepted,
   and until every run's state shows its job id.
All these jobs are then cancelled (they are this benchmark's own), so the shared
cluster is not kept busy. Finally the service's log gives the login node's cost
per run: the CPU seconds and peak RSS of each warm Snakemake child (which
submitted a run's jobs), and the service's own CPU seconds over the burst."""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live import WS_USER, LiveService, build_images, make_service

BASELINE = """
import subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
n, c, sif = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def one(_):
    out = subprocess.run(["sbatch", "--parsable", "--hold", "--output=/dev/null",
                          "--chdir=/tmp", "--wrap", f"apptainer -s exec {sif} python /add.py 4 5"],
                         capture_output=True, text=True, check=True).stdout
    return out.split(";")[0].strip()
t0 = time.perf_counter()
with ThreadPoolExecutor(c) as pool:
    ids = list(pool.map(one, range(n)))
print(time.perf_counter() - t0)
print(" ".join(ids))
"""
CHILD = re.compile(r"Snakemake child \d+: exit -?\d+, ([\d.]+) s CPU, peak RSS (\d+) kB")


def service_cpu_s(live: LiveService) -> float:
    """CPU seconds of the service's process tree (its own and its reaped children)."""
    pids = subprocess.run(["pgrep", "-f", "--", f"--config {live.config} serve"],
                          capture_output=True, text=True, check=False).stdout.split()
    for pid in list(pids):  # the warm Snakemake (its cutime: the reaped children)
        pids += subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True,
                               check=False).stdout.split()
    total = 0.0
    for pid in set(pids):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        total += ticks / 100
    return total


def scancel(ids: list[str]) -> None:
    for i in range(0, len(ids), 100):
        subprocess.run(["scancel", *ids[i:i + 100]], check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("-c", type=int, default=20)
    args = parser.parse_args()
    images = build_images()
    live = make_service(images, limits={"max_live_runs_per_user": 10 * args.n})
    deadline = time.time() + 180  # the warm Snakemake warms up in the background
    while "warm Snakemake ready" not in live.log() and time.time() < deadline:
        time.sleep(0.5)
    try:
        bare = subprocess.run(["runuser", "-u", WS_USER, "--", "/usr/bin/python3", "-c",
                               BASELINE, str(args.n), str(args.c), str(images["singularity"])],
                              capture_output=True, text=True, check=True).stdout.splitlines()
        bare_s, bare_ids = float(bare[0]), bare[1].split()
        scancel(bare_ids)
        headers = live.auth()
        url = f"{live.url}/api/software/muse/run/sw_example/"
        cpu_before = service_cpu_s(live)

        def post(_: int) -> str:
            r = requests.post(url, json={"cmd": "python /add.py 4 5"}, headers=headers,
                              timeout=300)
            assert r.status_code == 200, r.text
            return str(r.json()["url"])

        def job_id(state_url: str) -> str:
            while True:
                report = requests.get(state_url, timeout=300).json()["info"]["report"]
                if report["process"]["job_id"] is not None:
                    return str(report["process"]["job_id"])
                assert report["cr"] == "WAIT", report
                time.sleep(0.05)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.c) as pool:
            urls = list(pool.map(post, range(args.n)))
            accepted_s = time.perf_counter() - t0
            ids = list(pool.map(job_id, urls))
        ids_s = time.perf_counter() - t0
        cpu_s = service_cpu_s(live) - cpu_before
        scancel(ids)
        children = [(float(c), int(r)) for c, r in CHILD.findall(live.log())]
    finally:
        live.stop()
    print(f"runs: {args.n} from {args.c} clients")
    print(f"bare sbatch, all job ids:          {bare_s * 1000:.0f} ms")
    print(f"POSTs, all accepted:               {accepted_s * 1000:.0f} ms "
          f"({accepted_s / bare_s:.2f}x)")
    print(f"POSTs, all job ids known:          {ids_s * 1000:.0f} ms ({ids_s / bare_s:.2f}x)")
    if children:
        print(f"login node per run, Snakemake child: "
              f"{statistics.median(c for c, _ in children) * 1000:.0f} ms CPU (median), "
              f"peak RSS {max(r for _, r in children) / 1024:.0f} MB (max)")
    print(f"login node per run, service + children: {cpu_s / args.n * 1000:.0f} ms CPU")


if __name__ == "__main__":
    main()
