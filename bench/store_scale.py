"""The store at scale: a service with many finished runs, against one with few.

    .venv/bin/python bench/store_scale.py [-n 10000] [--few 100]     (as root)

Starts a service of its own (as the tests do), stops it, and makes FEW finished
runs through the ledger, as the service makes them (the whole run folder
written by the same code, then its final state), without Slurm: finished runs
need none. Then starts the service and measures: its start-up (to its first
answer), its memory (VmRSS), a `run/list` page (the first, and one deep in the
list) and a state call of a finished run, medians of 50 calls. Then the same
after making runs up to N in all. No Slurm job is submitted."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.live import ROOT, WS_USER, LiveService, build_images, make_service, run

CALLS = 50


async def make_runs(config_path: str, count: int) -> None:
    """As the service account: `count` finished cluster runs of sw_example by alice."""
    import os

    from service.catalogue.softwares import get_software
    from service.core.config import load_config
    from service.core.store import Store
    from service.runs import folder as runfolder
    from service.runs.ledger import Ledger
    from service.runs.lifecycle import prepare_run
    from service.runs.request import RunRequest
    from service.runs.state import ENDED_OK, OK, RunState

    config = load_config(Path(config_path), os.environ)
    store = Store(config.database)
    ledger = Ledger(store, config.runs_dir)
    software = get_software(store, "sw_example")
    request = RunRequest.from_dict({"cmd": "python /add.py 4 5"})

    async def one(i: int) -> None:
        staging = runfolder.staging_dir(config.runs_dir)
        prepared = await prepare_run(config, ledger, software, "alice", request, [],
                                     staging, "cluster")
        staging.rmdir()
        now = time.time()
        await ledger.change(prepared.record.key, RunState(
            cr=OK, latest_cr=ENDED_OK, latest_state="COMPLETED", updated=now,
            jobs=(10_000_000 + i,)))

    for start in range(0, count, 50):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))
    ledger.close()  # the store stays open: the ledger's measurer may still write to it


def fill(live: LiveService, count: int) -> float:
    t0 = time.monotonic()
    result = run(["runuser", "-u", WS_USER, "--", str(ROOT / ".venv" / "bin" / "python"),
                  __file__, "--fill", str(live.config), str(count)], cwd=str(ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    return time.monotonic() - t0


def median_ms(url: str, headers: dict[str, str] | None = None) -> float:
    session = requests.Session()
    times = []
    for _ in range(CALLS):
        t0 = time.perf_counter()
        r = session.get(url, headers=headers, timeout=60)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return statistics.median(times) * 1000


def rss_mb(live: LiveService) -> float:
    for pid in run(["pgrep", "-f", "--", f"--config {live.config} serve"]).stdout.split():
        if Path(f"/proc/{pid}/comm").read_text().strip() == "runuser":
            continue
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("the service's process was not found")


def measure(live: LiveService, runs: int) -> dict[str, float]:
    t0 = time.monotonic()
    live.start()
    started = time.monotonic() - t0
    headers = live.auth()
    listed = requests.get(f"{live.url}/api/run/list/", params={"per_page": 100},
                          headers=headers, timeout=60).json()
    assert listed["total"] == runs, listed["total"]
    key = listed["runs"][len(listed["runs"]) // 2]["key"]
    state = f"{live.url}/api/software/muse/state/sw_example/{key}/"
    deep = max(1, runs // 20 // 2)
    figures = {
        "start-up to first answer, s": started,
        "memory (VmRSS), MB": rss_mb(live),
        "run/list, first page of 20, ms": median_ms(f"{live.url}/api/run/list/", headers),
        "run/list, a page deep in the list, ms": median_ms(
            f"{live.url}/api/run/list/?page={deep}", headers),
        "run/list?state=OK&software=sw_example, ms": median_ms(
            f"{live.url}/api/run/list/?state=OK&software=sw_example", headers),
        "state call of a finished run, ms": median_ms(state),
    }
    live.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--few", type=int, default=100)
    args = parser.parse_args()
    live = make_service(build_images())
    live.stop()
    try:
        made = fill(live, args.few)
        few = measure(live, args.few)
        made_many = fill(live, args.n - args.few)
        many = measure(live, args.n)
    finally:
        live.stop()
    print(f"made {args.few} finished runs in {made:.0f} s, "
          f"{args.n - args.few} more in {made_many:.0f} s")
    print(f"{'':44}{f'{args.few} runs':>12}{f'{args.n} runs':>14}")
    for label in few:
        print(f"{label:<44}{few[label]:>12.1f}{many[label]:>14.1f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fill"]:
        asyncio.run(make_runs(sys.argv[2], int(sys.argv[3])))
    else:
        main()
