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
