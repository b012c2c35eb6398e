"""The power users' rerun instructions (docs/power-users.md), run as written: from the
run's content zip and a fresh copy of the inputs, never from what the run left
in its work/ folder."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlparse

import pytest
import requests

from service.runs.folder import run_path
from tests.live import ROOT, WS_USER, LiveService, wait_final

pytestmark = pytest.mark.cluster


def readme_rerun_steps() -> str:
    text = (ROOT / "docs" / "power-users.md").read_text()
    section = text[text.index("## Rerun a workflow by hand"):
                   text.index("## What the two profiles do")]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def test_readme_rerun_starts_from_a_copy_of_the_inputs(service: LiveService) -> None:
    r = requests.post(f"{service.url}/api/software/muse/run/sw_example/",
                      headers=service.auth(), timeout=60,
                      data={"cmd": "python /add.py $(cat in.txt); echo 40 50 > in.txt"},
                      files=[("file", ("in.txt", b"2 3"))])
    assert r.status_code == 200, r.text
    assert wait_final(r.json()["url"])["info"]["report"]["cr"] == "OK"
    key = r.json()["url"].rstrip("/").rsplit("/", 1)[1]
    # What the command left in work/ is not its input any more.
    assert (run_path(service.runs_dir, key) / "work" / "in.txt").read_text() == "40 50\n"
    inputs = service.home / "my-inputs"
    inputs.mkdir()
    (inputs / "in.txt").write_text("2 3")
    parent = service.home / "power-user"
    parent.mkdir()
    subprocess.run(["chown", "-R", f"{WS_USER}:", str(inputs), str(parent)], check=True)
    steps = (readme_rerun_steps()
             .replace("HOST:8000", urlparse(service.url).netloc)
             .replace("NAME", "sw_example").replace("KEY", key)
             .replace("/path/to/your/inputs", str(inputs))
             .replace("/path/to/ws", str(ROOT))
             .replace("snakemake ", f"{ROOT}/.venv/bin/snakemake "))
    done = subprocess.run(["runuser", "-u", WS_USER, "--", "bash", "-euo", "pipefail", "-c",
                           steps], cwd=parent, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    work = parent / "rerun" / key / "work"
    assert (work / "stdout.txt").read_text() == "5.0\n"  # from the inputs sent, not 90.0
