"""Two executors as two Slurm jobs chained with afterok, or as one job running both:
median time from the first sbatch to the end of the second executor.

    .venv/bin/python bench/tes_executors.py [-n 8]     (as root, cluster up)

Each executor is `apptainer -s exec <sw_example sif> true`, as the service
account. Chained: job B waits on job A with --dependency=afterok and
--kill-on-invalid-dep=yes (ws's executor plugin chains rules so); one job: both
commands in one script (ws's TES task runner does so). Both followed with
squeue until COMPLETED, polled every 50 ms. docs/tes.md gives the figures."""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess

WS_USER = os.environ.get("WS_USER", "ws")  # the service account, as tests/live.py has it

SCRIPT = r"""
import subprocess, sys, time
sif, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ex = f"apptainer -s exec --containall {sif} true"

def sbatch(*args):
    return subprocess.run(["sbatch", "--parsable", "--output=/dev/null", "--chdir=/tmp",
                           *args], capture_output=True, text=True,
                          check=True).stdout.split(";")[0].strip()

def done(job):
    while True:
        state = subprocess.run(["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"],
                               capture_output=True, text=True).stdout.strip()
        if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"):
            return state
        time.sleep(0.05)

for _ in range(n):
    t0 = time.perf_counter()
    if mode == "chained":
        a = sbatch("--wrap", ex)
        last = sbatch(f"--dependency=afterok:{a}", "--kill-on-invalid-dep=yes", "--wrap", ex)
    else:
        last = sbatch("--wrap", f"{ex} && {ex}")
    assert done(last) == "COMPLETED"
    print(time.perf_counter() - t0, flush=True)
"""


def measure(sif: str, mode: str, n: int) -> list[float]:
    out = subprocess.run(["runuser", "-u", WS_USER, "--", "python3", "-c", SCRIPT, sif, mode,
                          str(n)], capture_output=True, text=True, check=True).stdout
    return [float(x) for x in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=8)
    args = parser.parse_args()
    sif = sorted(glob.glob("/var/cache/ws/images/sw_example-*.sif"))[0]
    chained, one = [], []
    for _ in range(2):  # alternated halves, so that a busy moment hits both
        chained += measure(sif, "chained", args.n // 2)
        one += measure(sif, "one", args.n // 2)
    c, o = statistics.median(chained), statistics.median(one)
    print(f"two jobs chained with afterok: median {c:.2f} s  {sorted(chained)}")
    print(f"one job running both:          median {o:.2f} s  {sorted(one)}")
    print(f"chained / one: {c / o:.2f}")


if __name__ == "__main__":
    main()
