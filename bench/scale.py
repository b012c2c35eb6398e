"""What following many live runs costs, against one live run, in the same run.

    .venv/bin/python bench/scale.py [-n 1000] [-w 30] [-c 10]     (as root, cluster up)

Starts a service of its own under the service account (as the tests do, with
the service's default poller intervals and max_live_runs_per_user raised to
N + 50). Then, first with 1 live run, then with N:

- the service's CPU, in % of one core, over W seconds with no request coming
  (its own threads; the Slurm commands it runs are counted apart);
- its file-system metadata calls per second (strace -c of every thread of the
  service, W seconds: calls that take a path, and folder listings);
- slurmctld's RPCs per minute from the service account (sdiag's per-user count);
- the time to learn that a short run among them has ended: from its job's exit
  record (the job script's last write) to the service's final state (state.json's
  `updated`), and its POST to OK, median of a few short runs;
- the cancel rate: runs cancelled per second by C clients through the API (one
  run per call, each call answered once the run ended CANCELLED), and the time
  of one call cancelling all the rest (POST run/cancel).

The N runs are `sleep`. So that a short run can still start among them, the
benchmark (as root) holds the jobs still pending (`scontrol hold`: PENDING,
JobHeldAdmin) and cancels running ones until 2 of the 6 test CPUs are free:
most of the N runs are then PENDING, as on a busy cluster. All of the
benchmark's jobs are cancelled at the end. Run it with nothing else using the
cluster as the service account: sdiag counts every client of that account."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_load import rpc_count

from service.runs.folder import run_path
from tests.live import WS_USER, LiveService, build_images, make_service, run

SLEEP = "sleep 7200"
FREE_CPUS = 2
# Past the poller's YOUNG_S: its intervals have grown (shorter for a quick try).
STEADY_S = float(os.environ.get("WS_BENCH_STEADY_S", "65"))
TICKS = 100  # clock ticks per second (/proc/<pid>/stat)
RUN_URL = "/api/software/muse/run/sw_example/"


@dataclass
class Figures:
    live: int
    cpu_pct: float = 0.0
    children_cpu_pct: float = 0.0
    metadata_per_s: float = 0.0
    top_calls: str = ""
    rpc_per_min: float = 0.0
    learn_ms: float = 0.0
    post_to_ok_ms: float = 0.0
    cancel_per_s: float = 0.0
    cancel_many_s: float = 0.0


def service_pid(live: LiveService) -> int:
    """The service's own process (not runuser, not the warm Snakemake)."""
    for pid in run(["pgrep", "-f", "--", f"--config {live.config} serve"]).stdout.split():
        if Path(f"/proc/{pid}/comm").read_text().strip() != "runuser":
            return int(pid)
    raise RuntimeError("the service's process was not found")


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(own utime+stime, reaped children's cutime+cstime) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def measure_cpu(pid: int, seconds: float, figures: Figures) -> None:
    (own0, kids0), t0 = cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    (own1, kids1), elapsed = cpu_ticks(pid), time.monotonic() - t0
    figures.cpu_pct = (own1 - own0) / TICKS / elapsed * 100
    figures.children_cpu_pct = (kids1 - kids0) / TICKS / elapsed * 100


def measure_metadata(pid: int, seconds: float, figures: Figures, out: Path) -> None:
    """strace -c of every thread the service has (not the commands it runs)."""
    tids = [p.name for p in Path(f"/proc/{pid}/task").iterdir()]
    argv = ["timeout", "-s", "INT", str(seconds), "strace", "-c", "-q", "-o", str(out),
            "-e", "trace=%file,getdents64", *(a for t in tids for a in ("-p", t))]
    subprocess.run(argv, capture_output=True, check=False)
    calls: list[tuple[int, str]] = []
    for line in out.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            count = int(parts[3])
            calls.append((count, parts[-1]))
    figures.metadata_per_s = sum(c for c, _ in calls) / seconds
    figures.top_calls = ", ".join(f"{n} {c / seconds:.0f}/s" for c, n in sorted(calls)[::-1][:4])


def measure_rpc(seconds: float, figures: Figures) -> None:
    before, t0 = rpc_count(), time.monotonic()
    time.sleep(seconds)
    figures.rpc_per_min = (rpc_count() - before) / (time.monotonic() - t0) * 60


def post(live: LiveService, cmd: str) -> dict[str, Any]:
    r = requests.post(live.url + RUN_URL, json={"cmd": cmd}, headers=live.auth(), timeout=300)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def report(url: str, wait: float = 0) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(url, params={"wait": str(wait)},
                                        timeout=wait + 60).json()["info"]["report"]
    return body


def job_id(url: str) -> int:
    while True:
        r = report(url)
        if r["process"]["job_id"] is not None:
            return int(r["process"]["job_id"])
        assert r["cr"] == "WAIT", r
        time.sleep(0.2)


def measure_short_runs(live: LiveService, k: int, figures: Figures) -> None:
    """k runs of `true`, one after the other: exit record to final state, POST to OK."""
    learn, total = [], []
    for _ in range(k):
        t0 = time.time()
        answer = post(live, "true")
        while (r := report(answer["url"], 30))["cr"] == "WAIT":
            pass
        total.append(time.time() - t0)
        assert r["cr"] == "OK", r
        folder = run_path(live.runs_dir, answer["url"].rstrip("/").rsplit("/", 1)[1])
        state = json.loads((folder / "state.json").read_text())
        exits = list((folder / "status").glob("*.exit"))
        record = max(p.stat().st_mtime for p in exits if p.name != "snakemake.exit")
        learn.append(state["updated"] - record)
    figures.learn_ms = statistics.median(learn) * 1000
    figures.post_to_ok_ms = statistics.median(total) * 1000


def cancel(live: LiveService, url: str) -> None:
    path = url.split("/api/", 1)[1].replace("/state/", "/cancel/", 1)
    r = requests.post(f"{live.url}/api/{path}", headers=live.auth(), timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["info"]["report"]["cr"] == "NOK", r.text


def measure_cancels(live: LiveService, urls: list[str], clients: int,
                    figures: Figures) -> None:
    t0 = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda u: cancel(live, u), urls))
    figures.cancel_per_s = len(urls) / (time.monotonic() - t0)


def slurm_jobs(states: str) -> list[str]:
    return run(["squeue", "-u", WS_USER, "-h", "-t", states, "-o", "%i"]).stdout.split()


def leave_cpus_free(live: LiveService, urls: dict[int, str]) -> None:
    """Hold what is pending, cancel (through the API) what runs beyond 6 - FREE_CPUS."""
    pending = slurm_jobs("PD")
    for i in range(0, len(pending), 200):
        run(["scontrol", "hold", ",".join(pending[i:i + 200])])
    running = [int(j) for j in slurm_jobs("R,CF")]
    for job in running[: max(0, len(running) - (6 - FREE_CPUS))]:
        cancel(live, urls.pop(job))


def phase(live: LiveService, pid: int, figures: Figures, window: float, tmp: Path) -> None:
    time.sleep(STEADY_S)
    measure_cpu(pid, window, figures)
    measure_rpc(window, figures)
    measure_metadata(pid, window, figures, tmp / f"strace-{figures.live}.txt")
    measure_short_runs(live, 5, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("-w", "--window", type=float, default=30.0)
    parser.add_argument("-c", "--clients", type=int, default=10)
    parser.add_argument("--cancels", type=int, default=300,
                        help="runs cancelled one per call by the clients (the rest: one call)")
    args = parser.parse_args()
    live = make_service(build_images(), cluster={"poll_min_s": 0.5, "poll_max_s": 10.0},
                        limits={"max_live_runs_per_user": args.n + 50})
    deadline = time.time() + 180  # the warm Snakemake warms up in the background
    while "warm Snakemake ready" not in live.log() and time.time() < deadline:
        time.sleep(0.5)
    one, many = Figures(1), Figures(args.n)
    try:
        pid = service_pid(live)
        tmp = live.home
        # One live run.
        first = post(live, SLEEP)["url"]
        job_id(first)
        phase(live, pid, one, args.window, tmp)
        t0 = time.monotonic()
        cancel(live, first)
        one.cancel_per_s = 1 / (time.monotonic() - t0)
        # N live runs, most of them PENDING.
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            urls = list(pool.map(lambda _: post(live, SLEEP)["url"], range(args.n)))
            ids = list(pool.map(job_id, urls))
        print(f"{args.n} runs in Slurm in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        by_job = dict(zip(ids, urls, strict=True))
        leave_cpus_free(live, by_job)
        held = len(slurm_jobs("PD"))
        print(f"{len(by_job)} live runs, {held} PENDING", file=sys.stderr)
        phase(live, pid, many, args.window, tmp)
        rest = list(by_job.values())
        measure_cancels(live, rest[: args.cancels], args.clients, many)
        t0 = time.monotonic()
        r = requests.post(f"{live.url}/api/run/cancel", headers=live.auth(), timeout=300)
        assert r.status_code == 200, r.text
        many.cancel_many_s = time.monotonic() - t0
        print(f"one call cancelled {len(r.json()['cancelled'])} runs in "
              f"{many.cancel_many_s:.2f} s", file=sys.stderr)
    finally:
        leftover = slurm_jobs("all")
        for i in range(0, len(leftover), 200):
            run(["scancel", *leftover[i:i + 200]])
        live.stop()
        rounds = re.findall(r"poller: (\d+) status rounds in (\d+) s \((\d+) live runs\)",
                            live.log())
    print(f"{'':38}{'1 live run':>14}{f'{args.n} live runs':>16}")
    rows = [("service CPU, % of one core (own)", "cpu_pct", ".1f"),
            ("  the Slurm commands it ran", "children_cpu_pct", ".1f"),
            ("file-system metadata calls/s", "metadata_per_s", ".0f"),
            ("slurmctld RPCs/min (sdiag)", "rpc_per_min", ".0f"),
            ("exit record -> final state, ms", "learn_ms", ".0f"),
            ("short run POST -> OK, ms", "post_to_ok_ms", ".0f"),
            (f"cancels/s ({args.clients} clients; 1: one)", "cancel_per_s", ".1f")]
    for label, name, fmt in rows:
        print(f"{label:<38}{getattr(one, name):>14{fmt}}{getattr(many, name):>16{fmt}}")
    print(f"metadata calls, 1 run: {one.top_calls}")
    print(f"metadata calls, {args.n} runs: {many.top_calls}")
    for n, seconds, runs in rounds:
        print(f"status rounds: {int(n) * 60 / float(seconds):.0f}/min with {runs} live runs")


if __name__ == "__main__":
    main()
