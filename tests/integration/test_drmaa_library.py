"""libdrmaa, as scripts/drmaa-up.sh builds it from ../shared/vendor, with the
`drmaa` binding from PyPI, as the service account against the live cluster:
submit, follow, read the exit status back; and what it says of a job it does
not know (which a DRMAA status source must not take for a verdict)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.live import ROOT, WS_USER

pytestmark = pytest.mark.cluster

LIBRARY = Path("/opt/slurm-drmaa/lib/libdrmaa.so.1")
VENDOR = sorted((ROOT.parent / "shared" / "vendor").glob("slurm-drmaa-*.tar.gz"))

DRMAA_RUN = """
import json, os, sys
os.environ["DRMAA_LIBRARY_PATH"] = sys.argv[1]
import drmaa
with drmaa.Session() as session:
    template = session.createJobTemplate()
    template.remoteCommand = "/bin/sh"
    template.args = ["-c", "echo hi; exit 3"]
    template.workingDirectory = sys.argv[2]
    template.outputPath = ":" + sys.argv[2] + "/out.txt"
    template.nativeSpecification = "--time=00:02:00 --mem=100"
    job_id = session.runJob(template)
    info = session.wait(job_id, 120)
    print(json.dumps({"implementation": session.drmaaImplementation, "job_id": job_id,
                      "exit_status": info.exitStatus, "after": session.jobStatus(job_id),
                      "unknown": session.jobStatus("999999999")}))
"""


@pytest.fixture
def library() -> Path:
    if not LIBRARY.exists():
        if VENDOR:
            pytest.fail("../shared/vendor has slurm-drmaa but scripts/drmaa-up.sh did not "
                        "install it", pytrace=False)
        pytest.skip("no slurm-drmaa source on this machine")
    return LIBRARY


def test_submit_follow_and_read_the_exit_status(library: Path, tmp_path: Path) -> None:
    folder = ROOT / "var" / "tests" / f"drmaa-{tmp_path.name[-8:]}"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["chown", f"{WS_USER}:", str(folder)], check=True)
    result = subprocess.run(
        ["runuser", "-u", WS_USER, "--", str(ROOT / ".venv" / "bin" / "python"), "-c",
         DRMAA_RUN, str(library), str(folder)], capture_output=True, text=True, cwd=ROOT,
        timeout=180)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert "Slurm" in seen["implementation"]
    assert int(seen["job_id"]) > 0 and seen["exit_status"] == 3
    assert seen["after"] == "failed"
    # slurm-drmaa answers "failed" for a job Slurm does not know: a DRMAA status
    # source cannot tell a forgotten job from a failed one by jobStatus alone.
    assert seen["unknown"] == "failed"
    assert (folder / "out.txt").read_text() == "hi\n"
