"""The user's document, examples A-F, as written (curl), with the token added."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import LiveService, wait_final

pytestmark = pytest.mark.cluster
SEED = Path(__file__).resolve().parent.parent / "data" / "seed"
KEY_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
DOWNLOAD_KEY_RE = r"\d{8}_\d{6}_" + KEY_RE


def curl(*args: str, cwd: Path = SEED) -> str:
    result = subprocess.run(["curl", "-sS", *args], cwd=cwd, capture_output=True, text=True,
                            check=True)
    return result.stdout


def post_json(service: LiveService, body: dict[str, Any]) -> dict[str, Any]:
    body = {**body, "jwt": service.token()}
    out = curl("-H", "Content-Type: application/json", "-d", json.dumps(body),
               f"{service.url}/api/software/muse/run/sw_example/")
    return dict(json.loads(out))


def check_post_answer(service: LiveService, answer: dict[str, Any]) -> str:
    state = answer["url"]
    m = re.fullmatch(service.url + r"/api/software/muse/state/sw_example/(" + KEY_RE + ")/",
                     state)
    assert m, answer
    key = m.group(1)
    assert f"GET {state} request to get cluster job state" in answer["msg"]
    assert f"key value={key}" in answer["msg"]
    assert answer["urls"]["run"] == state.replace("/state/", "/run/")
    return key


def check_ended_ok(service: LiveService, state_url: str,
                   request: dict[str, Any]) -> dict[str, Any]:
    body = wait_final(state_url)
    report = body["info"]["report"]
    assert report["request"] == {"cmd_option": "", "todownload": False, "sbatch_list": [],
                                 "module_list": [], "ordered_filename_list": [], **request}
    assert report["rsrc"] == {"identity": "muse"}
    process = report["process"]
    assert set(process) == {"jobname", "job_id", "latest_cr", "latest_state"}
    assert re.fullmatch(r"\d+-ws-sw_example", process["jobname"])
    assert isinstance(process["job_id"], int)
    assert (process["latest_cr"], process["latest_state"]) == ("ENDED_OK", "COMPLETED")
    assert (report["name"], report["cr"]) == ("sw_example", "OK")
    run_url = state_url.replace("/state/", "/run/")
    assert body["url"] == run_url
    assert body["msg"].startswith(f"End of job. You can now get results by GET {run_url}")
    return report


def test_example_a_stdout(backend_service: LiveService) -> None:
    # With either cluster.backend (cli: sbatch/squeue; drmaa: libdrmaa), the same
    # report: the Slurm job id and state.
    service = backend_service
    answer = post_json(service, {"cmd": "python /add.py 4 5", "returned_type": "stdout",
                                 "todownload": "no"})
    key = check_post_answer(service, answer)
    report = check_ended_ok(service, answer["url"],
                            {"cmd": "python /add.py 4 5", "returned_type": "stdout"})
    log = (run_path(service.runs_dir, key) / "logs" / "snakemake.log").read_text()
    drmaa = 'backend = "drmaa"' in service.config.read_text()
    assert f"Submitted job 0{' through DRMAA' if drmaa else ''} as Slurm job " \
           f"{report['process']['job_id']}." in log
    results = json.loads(curl(answer["url"].replace("/state/", "/run/")))
    assert results == {"info": {"stdout": "9.0", "report": report}}


def test_example_b_run_zip(service: LiveService, tmp_path: Path) -> None:
    answer = post_json(service, {"cmd": "python /add.py 4 55", "returned_type": "run.zip",
                                 "todownload": "no"})
    key = check_post_answer(service, answer)
    check_ended_ok(service, answer["url"],
                   {"cmd": "python /add.py 4 55", "returned_type": "run.zip"})
    curl("--output", "MYRETURNEDFILE_MUSE.zip", answer["url"].replace("/state/", "/run/"),
         cwd=tmp_path)
    with zipfile.ZipFile(tmp_path / "MYRETURNEDFILE_MUSE.zip") as z:
        assert z.read(f"{key}/work/stdout.txt") == b"59.0\n"
        assert f"{key}/Snakefile" in z.namelist()
        assert f"{key}/job.sh" in z.namelist()


def test_example_c_stdout_txt(service: LiveService, tmp_path: Path) -> None:
    out = curl("-H", "Content-Type: application/x-www-form-urlencoded", "-d",
               f"cmd=python /add.py 4 55&returned_type=stdout.txt&todownload=no"
               f"&jwt={service.token()}", f"{service.url}/api/software/muse/run/sw_example/")
    answer = json.loads(out)
    check_post_answer(service, answer)
    check_ended_ok(service, answer["url"],
                   {"cmd": "python /add.py 4 55", "returned_type": "stdout.txt"})
    curl("--output", "MYRETURNEDFILE_MUSE.txt", answer["url"].replace("/state/", "/run/"),
         cwd=tmp_path)
    assert (tmp_path / "MYRETURNEDFILE_MUSE.txt").read_text() == "59.0\n"


def test_example_d_todownload(service: LiveService, tmp_path: Path) -> None:
    answer = post_json(service, {"cmd": "python /add.py 4 55", "returned_type": "run.zip",
                                 "todownload": "yes"})
    key = check_post_answer(service, answer)
    check_ended_ok(service, answer["url"], {"cmd": "python /add.py 4 55",
                                            "returned_type": "run.zip", "todownload": True})
    results = json.loads(curl(answer["url"].replace("/state/", "/run/")))
    m = re.fullmatch(service.url + r"/api/download/\?key=(" + DOWNLOAD_KEY_RE + ")",
                     results["url"])
    assert m, results
    assert results["msg"].startswith("The response content can be downloaded at : "
                                     + results["url"])
    assert f"key={m.group(1)}" in results["msg"]
    # The same key each time the results are asked for.
    assert json.loads(curl(answer["url"].replace("/state/", "/run/"))) == results
    curl("--output", "MYRETURNEDFILE1_MUSE.zip", results["url"], cwd=tmp_path)
    with zipfile.ZipFile(tmp_path / "MYRETURNEDFILE1_MUSE.zip") as z:
        assert z.read(f"{key}/work/stdout.txt") == b"59.0\n"
    # A browser gets it as an attachment.
    r = requests.get(results["url"], headers={"Accept": "text/html"}, timeout=30)
    assert r.headers["Content-Disposition"] == 'attachment; filename="run.zip"'
    assert zipfile.ZipFile(io.BytesIO(r.content)).testzip() is None


def test_example_e_input_file(service: LiveService) -> None:
    out = curl("-F", "file=@stdin.txt", "-F", 'cmd="python /add.py"', "-F",
               "returned_type=stdout", "-F", "todownload=no", "-F", f"jwt={service.token()}",
               f"{service.url}/api/software/muse/run/sw_example/")
    answer = json.loads(out)
    check_post_answer(service, answer)
    report = check_ended_ok(service, answer["url"], {
        "cmd": "python /add.py", "ordered_filename_list": ["stdin.txt"],
        "returned_type": "stdout"})
    results = json.loads(curl(answer["url"].replace("/state/", "/run/")))
    assert results == {"info": {"stdout": "70.0", "report": report}}


def test_example_f_script_and_files_order(service: LiveService) -> None:
    out = curl("-F", "file=@usrcmd.sh", "-F", "file=@stdin.txt", "-F", "cmd=usrcmd.sh",
               "-F", "returned_type=stdout", "-F", "todownload=no", "-F",
               'files_order=["stdin.txt","usrcmd.sh"]', "-F", f"jwt={service.token()}",
               f"{service.url}/api/software/muse/run/sw_example/")
    answer = json.loads(out)
    check_post_answer(service, answer)
    report = check_ended_ok(service, answer["url"], {
        "cmd": "usrcmd.sh", "ordered_filename_list": ["stdin.txt", "usrcmd.sh"],
        "returned_type": "stdout"})
    results = json.loads(curl(answer["url"].replace("/state/", "/run/")))
    assert results == {"info": {"stdout": "70.0", "report": report}}
