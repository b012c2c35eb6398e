"""The Slurm library (ws_slurm) against the live cluster, as the service
account: sbatch a job that runs `singularity exec <sif> python /add.py 4 5`,
follow it with squeue/sacct as the poller does, and read 9.0 back."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.live import ROOT, WS_USER

pytestmark = pytest.mark.cluster

ADAPTER_RUN = """
import asyncio, json, sys, time
from pathlib import Path
from ws_slurm.query import SlurmQuery
from ws_slurm.run import run
from ws_slurm.sbatch import Submission, parse_sbatch, sbatch_argv

async def main(folder: Path) -> None:
    sub = Submission(script=str(folder / "job.sh"), job_name="adapter-test",
                     chdir=str(folder), output=str(folder / "out.txt"), cpus=1,
                     runtime_min=2, mem_mb=200)
    submitted = await run(sbatch_argv(sub))
    assert submitted.ok, submitted.stderr
    job_id = parse_sbatch(submitted.stdout)
    query, states = SlurmQuery(), []
    deadline = time.time() + 120
    while time.time() < deadline:
        info = (await query.states({job_id})).known.get(job_id)
        if info is not None:
            states.append(info.state)
            if info.final:
                break
        await asyncio.sleep(0.2)
    print(json.dumps({"job_id": job_id, "states": states}))

asyncio.run(main(Path(sys.argv[1])))
"""


def test_submit_and_follow_a_singularity_job(images: dict[str, Path]) -> None:
    folder = ROOT / "var" / "tests" / f"adapter-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    (folder / "job.sh").write_text(
        f"#!/bin/bash\nsingularity -s exec {images['singularity']} python /add.py 4 5\n")
    subprocess.run(["chown", "-R", f"{WS_USER}:", str(folder)], check=True)
    result = subprocess.run(
        ["runuser", "-u", WS_USER, "--", str(ROOT / ".venv" / "bin" / "python"), "-c",
         ADAPTER_RUN, str(folder)], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert result.returncode == 0, result.stderr
    followed = json.loads(result.stdout)
    assert isinstance(followed["job_id"], int)
    assert followed["states"][-1] == "COMPLETED", followed
    assert (folder / "out.txt").read_text() == "9.0\n"
