"""Local runs: POST software/run/{name}, answered with the result itself."""

from __future__ import annotations

import contextlib
import io
import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import LiveService, local_run

pytestmark = pytest.mark.cluster
SEED = Path(__file__).resolve().parent.parent / "data" / "seed"


def test_stdout_as_in_spec(service: LiveService) -> None:
    r = local_run(service, cmd="python /add.py 4 5")
    assert r.status_code == 200, r.text
    assert r.json() == {"info": {"stdout": "9.0", "report": {
        "name": "sw_example", "request": {
            "cmd": "python /add.py 4 5", "cmd_option": "", "ordered_filename_list": [],
            "returned_type": "stdout", "todownload": False}, "cr": "OK"}}}


@pytest.mark.parametrize("returned_type,todownload", [
    ("stdout.txt", "no"), ("stdout.txt", "yes"), ("run.zip", "no"), ("run.zip", "yes")])
def test_files_and_download_keys(service: LiveService, returned_type: str,
                                 todownload: str) -> None:
    r = local_run(service, cmd="python /add.py 1 2", returned_type=returned_type,
                  todownload=todownload)
    assert r.status_code == 200, r.text
    if todownload == "yes":
        assert r.json()["msg"].startswith("The response content can be downloaded at")
        r = requests.get(r.json()["url"], timeout=30)
        assert r.status_code == 200
    if returned_type == "stdout.txt":
        assert r.text == "3.0\n"
    else:
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert any(n.endswith("/work/stdout.txt") for n in names)


def test_input_files_without_and_with_files_order(service: LiveService) -> None:
    stdin = (SEED / "stdin.txt").read_bytes()
    r = local_run(service, files=[("stdin.txt", stdin)], cmd="python /add.py")
    assert r.json()["info"]["stdout"] == "70.0"
    # Two files of the same name: the later one in files_order wins.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("stdin.txt", "1 1")
    files = [("usrcmd.sh", (SEED / "usrcmd.sh").read_bytes()), ("stdin.txt", stdin),
             ("inputs.zip", buf.getvalue())]
    r = local_run(service, files=files, cmd="usrcmd.sh",
                  files_order=["stdin.txt", "inputs.zip", "usrcmd.sh"])
    assert r.json()["info"]["stdout"] == "2.0", r.text
    assert r.json()["info"]["report"]["request"]["ordered_filename_list"] == [
        "stdin.txt", "inputs.zip", "usrcmd.sh"]
    r = local_run(service, files=files, cmd="usrcmd.sh",
                  files_order=["inputs.zip", "stdin.txt", "usrcmd.sh"])
    assert r.json()["info"]["stdout"] == "70.0"


def test_failing_command_answers_with_its_report(service: LiveService) -> None:
    r = local_run(service, cmd="python /add.py 4 x")
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "run_failed" and isinstance(body["more"], list)
    assert body["report"]["cr"] == "NOK"
    assert "exited with status 1" in body["report"]["cause"]
    assert "could not convert string to float" in body["report"]["stderr"]
    content = requests.get(body["more"][0].split()[1], timeout=30)
    assert content.status_code == 200


def test_time_limit(service_factory: Any) -> None:
    live = service_factory(local={"time_limit_s": 3.0})
    t0 = time.time()
    r = local_run(live, cmd="sleep 120")
    # Answered long before the command could have ended: it was killed.
    assert time.time() - t0 < 100
    assert r.status_code == 422
    assert "time limit" in r.json()["report"]["cause"]
    # The run folder is kept for the content endpoint.
    assert requests.get(r.json()["more"][0].split()[1], timeout=30).status_code == 200


def test_concurrency_bound_and_a_responsive_service(service_factory: Any) -> None:
    live = service_factory(local={"max_concurrent": 1, "max_waiting": 0})
    live.token()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(local_run, live, cmd="sleep 8; echo done")
        # The first run holds the one slot once its Snakemake has started.
        deadline = time.time() + 60
        while not list(live.runs_dir.glob("*/logs/snakemake.log")) and time.time() < deadline:
            time.sleep(0.1)
        busy = pool.submit(local_run, live, cmd="echo second").result()
        # Other endpoints answer while the run goes on.
        listing = requests.get(f"{live.url}/api/software/list/", timeout=30)
        assert listing.status_code == 200 and not first.done()
        assert first.result().json()["info"]["stdout"] == "done"
    assert busy.status_code == 503, busy.text
    assert busy.json()["type"] == "busy" and busy.headers["Retry-After"]
    # The refused run left nothing: only the first run's folder is there.
    assert len([p for p in live.runs_dir.iterdir() if not p.name.startswith(".")]) == 1


def test_a_local_run_cut_off_by_a_restart_ends_nok(service_factory: Any) -> None:
    live = service_factory()
    live.token()
    with ThreadPoolExecutor(1) as pool:
        cut = pool.submit(local_run, live, cmd="sleep 20")
        deadline = time.time() + 30
        while not list(live.runs_dir.glob("*/work")) and time.time() < deadline:
            time.sleep(0.2)
        live.stop(kill=True)
        with contextlib.suppress(requests.RequestException):
            cut.result()
    live.start()
    [folder] = [p for p in live.runs_dir.iterdir() if not p.name.startswith(".")]
    state = json.loads((folder / "state.json").read_text())
    assert state["cr"] == "NOK" and "restarted" in state["cause"]


def test_without_warm_snakemake(cold_service: LiveService) -> None:
    # Each run starts Snakemake anew through the run's job.sh, as on the cluster.
    r = local_run(cold_service, cmd="python /add.py 4 5")
    assert r.status_code == 200 and r.json()["info"]["stdout"] == "9.0", r.text
