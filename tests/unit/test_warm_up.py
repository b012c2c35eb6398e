"""The warm Snakemake's warm-up workflow runs to its end (issue 12, item 6: its
validate() once raised SourceFileError, so scheduling and execution were never
warmed, and nothing said so)."""

from __future__ import annotations

import subprocess
import sys


def test_warm_up_workflow_runs_to_its_end() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from service.local.warm_snakemake import warm_up; warm_up()"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "did not run to its end" not in result.stderr


def test_the_warm_process_leaves_quietly_when_the_service_is_gone() -> None:
    """After a kill -9 of the service, the warm Snakemake's next message met a
    closed pipe and printed a BrokenPipeError traceback into the service's log."""
    code = ("import os\n"
            "from service.local.warm_snakemake import _say\n"
            "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"
            "_say({'pid': 1, 'exit': 0})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
