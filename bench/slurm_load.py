"""What following runs costs slurmctld: RPCs per minute of the service account
(sdiag), with K live cluster runs, then while runs end one after another.

    .venv/bin/python bench/slurm_load.py [-k 10] [-s 60]     (as root, cluster up)

Starts a service of its own (default poller settings), submits K runs of
`sleep S`, and reads sdiag's per-user RPC count for the service account at the
start and end of a window of S seconds while they all run (steady state), then
over the minute in which they end. sdiag counts every client of that account:
run it with nothing else using the cluster as the service account."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live import WS_USER, build_images, make_service, run

ROUNDS = re.compile(r"poller: (\d+) status rounds in (\d+) s \((\d+) live runs\)")


def rpc_count(user: str = WS_USER) -> int:
    out = run(["sdiag"]).stdout
    found = re.search(rf"^\s*{re.escape(user)}\s*\(\s*\d+\)\s*count:(\d+)", out, re.M)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("-s", type=int, default=60)
    args = parser.parse_args()
    live = make_service(build_images())
    try:
        urls = []
        for _ in range(args.k):
            r = requests.post(f"{live.url}/api/software/muse/run/sw_example/",
                              json={"cmd": f"sleep {args.s + 20}"}, headers=live.auth(),
                              timeout=60)
            urls.append(r.json()["url"])
        time.sleep(10)  # all submitted and running
        before, t0 = rpc_count(), time.monotonic()
        time.sleep(args.s)
        steady = (rpc_count() - before) / (time.monotonic() - t0) * 60
        before, t0 = rpc_count(), time.monotonic()
        for url in urls:
            while requests.get(url, timeout=60).json()["info"]["report"]["cr"] == "WAIT":
                time.sleep(1)
        ending = (rpc_count() - before) / (time.monotonic() - t0) * 60
    finally:
        live.stop()
        rounds = ROUNDS.findall(live.log())
    print(f"live runs: {args.k}")
    print(f"slurmctld RPCs/min of {WS_USER} (sdiag, every client of the account), "
          f"steady state: {steady:.0f}; while the runs end: {ending:.0f}")
    for n, seconds, runs in rounds:  # the service's own: one squeue (+ sacct) per round
        print(f"service's status rounds: {int(n) * 60 / float(seconds):.0f}/min "
              f"with {runs} live runs")


if __name__ == "__main__":
    main()
