"""Schemathesis, driven by the service's own OpenAPI description, fuzzes the live
service: no 5xx, every status, content type and body as documented. One pass
of EXAMPLES test cases per operation; as a user with no access, so that no fuzzed
run reaches Slurm.
Schemathesis's coverage phase is left out: with this Hypothesis it stops on an
error of its own (AST recursion) before sending a request."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest

from tests.live import ROOT, LiveService

pytestmark = pytest.mark.cluster
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")
# Test cases per operation. No --max-time: with it, Schemathesis fuzzes again and
# again until the time is spent, whatever this says.
EXAMPLES = 25


def test_the_description_holds_under_fuzzing(service_factory: Callable[..., LiveService],
                                             tmp_path: object) -> None:
    live = service_factory()
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "schemathesis"), "run",
         f"{live.url}/api/openapi.json", "--url", live.url,
         "--checks", CHECKS, "--phases", "examples,fuzzing",
         "--max-examples", str(EXAMPLES), "--workers", "2",
         "--request-timeout", "30", "--generation-deterministic",
         "--header", f"Authorization: Bearer {live.token('bob')}",
         "--no-color", "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             "SCHEMATHESIS_HOOKS": ""})
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    # Every operation of the description was fuzzed.
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected and tested, result.stdout[-3000:]
    assert selected[1] == selected[2] == tested[1], result.stdout[-3000:]
    log = live.log()
    # The service's side of it: no 5xx answered, no handler failed. (aiohttp itself
    # logs, with a traceback, the probes it refuses with 400 before any handler.)
    assert not re.search(r'" 5\d\d ', log), re.findall(r'.*" 5\d\d .*', log)[:20]
    assert "unexpected error on" not in log
