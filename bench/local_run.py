"""Local runs against the bare container: median time per run, and the ratio.

    .venv/bin/python bench/local_run.py [-n 20] [--cold | --unix]   (as root, cluster up)

Starts a service of its own under the service account (as the tests do), then
alternates N local runs of sw_example through the API (`python /add.py 4 5`,
the generated Snakemake workflow included) with N bare
`apptainer exec <sif> python /add.py 4 5` run by the same account, so both see
the same machine noise. Prints both medians and their ratio. Each run's
Snakemake is forked from the warm Snakemake process, unless:

    --cold   the service without the warm Snakemake: each run's job.sh starts
             Snakemake anew (what unix mode does, in service mode)
    --unix   identity mode "unix": alice is mapped to the test user wsalice, each
             run's folder is made and run as wsalice through ws-as-user
             (`prlimit -- sudo -u wsalice ws-as-user run`): by wsalice's own warm
             Snakemake once it is up (the first runs start Snakemake cold)
    --unix --cold
             the same without the user's warm Snakemake (each run's job.sh starts
             Snakemake anew as wsalice)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alternate import compare

from tests.live import LiveService

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


def one_run(live: LiveService, session: requests.Session) -> None:
    r = session.post(f"{live.url}/api/software/run/sw_example/",
                     json={"cmd": "python /add.py 4 5"}, headers=live.auth(), timeout=120)
    assert r.status_code == 200 and r.json()["info"]["stdout"] == "9.0", r.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--cold", action="store_true", help="no warm Snakemake")
    parser.add_argument("--unix", action="store_true",
                        help='identity mode "unix", alice mapped to wsalice')
    args = parser.parse_args()
    if args.unix:  # whatever warm Snakemake of wsalice's is left: not this service's
        subprocess.run(["pkill", "-KILL", "-u", "wsalice", "-f", "service.local.warm_user"],
                       check=False)

    def map_alice(live: LiveService) -> None:
        result = live.admin("user", "unix", "alice", "wsalice")
        assert result.returncode == 0, result.stderr
    settings: dict[str, dict[str, object]] = {"local": {"max_concurrent": 1}}
    if args.cold:
        settings["local"]["warm_snakemake"] = False
    if args.unix:
        settings["identity"] = {"mode": "unix"}
    compare(args.n, 2, settings, BASELINE, one_run,
            "local run through the API", "bare apptainer exec",
            map_alice if args.unix else None)


if __name__ == "__main__":
    main()
