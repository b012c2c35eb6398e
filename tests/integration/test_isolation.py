"""Isolation, proved from inside runs (local runs: the quickest real runs).

A run's command runs in the software's container, as the service's own
account, with --containall: its own /tmp, PID and IPC namespaces, a clean
environment, and only its work/ folder from the host (as $HOME and cwd). These
tests check that the command text only ever reaches a shell inside the
container, that another run's folder, the service's database, its JWT secret
and its account's home cannot be read, that links a run leaves behind are never
followed by the service, and what cmd_option binds may reach."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import (
    ROOT,
    WS_USER,
    LiveService,
    cluster_run,
    local_run,
    run,
    run_key,
    wait_final,
    wait_state,
)

pytestmark = pytest.mark.cluster
SERVICE_HOME = Path("/var/lib/ws")


def stdout_of(r: requests.Response) -> str:
    assert r.status_code == 200, r.text
    return str(r.json()["info"]["stdout"])


def new_run_folder(service: LiveService, before: set[str]) -> Path:
    added = {p.name for p in service.runs_dir.iterdir()} - before - {".staging", ".ended"}
    assert len(added) == 1, added
    return service.runs_dir / added.pop()


@pytest.mark.parametrize("cmd,expected", [
    ("""echo '{x}' "$(echo hi)"; echo a && echo b""", "{x} hi\na\nb"),
    ("echo `echo tick`", "tick"),
    ("""echo "a;b" 'c && d' "it's" """, "a;b c && d it's"),
    ("echo one\necho two", "one\ntwo"),
    ("echo {config[image]} {params.cmd} {wildcards} {{x}}",
     "{config[image]} {params.cmd} {wildcards} {{x}}"),
    ("""x='$(id)'; echo "$x" | cat""", "$(id)"),
    ("false || echo or; true && echo and", "or\nand"),
    ("""printf '%s\\n' "$0" | grep -c bash""", "1"),
])
def test_cmd_reaches_the_container_literally(service: LiveService, cmd: str,
                                             expected: str) -> None:
    assert stdout_of(local_run(service, cmd=cmd)) == expected


def test_cmd_and_its_parameters_never_reach_a_host_shell(service: LiveService) -> None:
    tag = uuid.uuid4().hex
    # Host places the service account may write, none of them bound in the container.
    hosts = [service.home / f"pwned-{tag}", ROOT / "var" / "tests" / f"pwned-{tag}",
             SERVICE_HOME / f"pwned-{tag}", Path(f"/tmp/pwned-{tag}")]
    touch = "; ".join(f"touch {h} 2>/dev/null" for h in hosts)
    env_value = f"$(touch {hosts[0]}-env);`touch {hosts[0]}-tick`"
    odd_name = f"$(touch {hosts[0].name}-file)`id`;x.txt"
    r = local_run(service, files=[(odd_name, b"data")], cmd=(
        f"{touch}; test -e /tmp/pwned-{tag} && echo private-tmp; "
        f"echo \"$A\"; ls"), cmd_option=f"--no-eval --env 'A={env_value}'")
    lines = stdout_of(r).splitlines()
    assert lines[0] == "private-tmp"  # the command ran, in the container's own /tmp
    assert lines[1] == env_value  # with --no-eval the option's value arrives as text
    assert odd_name in lines[2:]
    # Without --no-eval, Apptainer evaluates --env values, as Singularity does: in
    # the container, where the host paths are not.
    r = local_run(service, cmd='echo "$A"',
                  cmd_option=f"--env 'A=$(touch /tmp/pwned-{tag}-eval {hosts[0]}-eval "
                             "2>/dev/null; echo evaluated)'")
    assert stdout_of(r).startswith("evaluated")
    for h in [*hosts, Path(f"{hosts[0]}-env"), Path(f"{hosts[0]}-tick"),
              Path(f"{hosts[0]}-eval"), Path(f"/tmp/pwned-{tag}-eval"),
              hosts[0].parent / f"{hosts[0].name}-file"]:
        assert not h.exists(), h


@pytest.fixture
def victim(service: LiveService) -> tuple[Path, str]:
    """Another user's run, with a secret in its work folder."""
    secret = f"SECRET-{uuid.uuid4().hex}"
    before = {p.name for p in service.runs_dir.iterdir()}
    assert stdout_of(local_run(service, user="sue", cmd=f"echo {secret} > secret.txt; "
                                                          "echo done")) == "done"
    return new_run_folder(service, before), secret


def test_a_run_cannot_read_other_runs_or_the_service(service: LiveService,
                                                     victim: tuple[Path, str]) -> None:
    folder, secret = victim
    state = service.state_dir
    jwt = (state / "jwt_secret").read_text().strip()
    # Files and folders that exist on the host. (The folders above this run's own
    # work/ exist in the container too, as empty mount points: they are listed below.)
    probes = [folder, folder / "work", folder / "work" / "secret.txt", folder / "request.json",
              service.runs_dir / ".staging", state, state / "ws.sqlite3", state / "jwt_secret",
              service.home / "ws.toml", service.home / "service.log",
              SERVICE_HOME / ".bashrc", SERVICE_HOME / ".profile", SERVICE_HOME / ".apptainer",
              ROOT / "service", ROOT / "README.md", Path("/etc/munge"),
              Path("/etc/slurm/slurm.conf")]
    probe_words = " ".join(f"'{p}'" for p in probes)
    # The secrets are split in the command so that the command's own text (kept in
    # this run's folder) can never be what a search finds.
    half_s, half_j = len(secret) // 2, len(jwt) // 2
    cmd = (f"for p in {probe_words}; do [ -e \"$p\" ] && echo \"VISIBLE $p\"; done; "
           f"cat {probe_words} 2>/dev/null; "
           f"for d in / {ROOT} {service.home} {service.runs_dir} {SERVICE_HOME}; do "
           "ls -A \"$d\" | sed \"s|^|LS $d |\"; done; "
           f"s='{secret[:half_s]}'\"{secret[half_s:]}\"; j='{jwt[:half_j]}'\"{jwt[half_j:]}\"; "
           "timeout 60 grep -rlsF -e \"$s\" -e \"$j\" --exclude-dir=proc --exclude-dir=sys "
           "--exclude-dir=dev / | sed 's/^/FOUND /'; echo end")
    out = stdout_of(local_run(service, cmd=cmd))
    assert "VISIBLE" not in out and "FOUND" not in out, out
    assert secret not in out and jwt not in out
    assert out.endswith("end")
    listed: dict[str, set[str]] = {}
    for line in out.splitlines():
        if line.startswith("LS "):
            _, where, name = line.split(" ", 2)
            listed.setdefault(where, set()).add(name)
    # Above this run's work/ only the path to it shows, and no other run.
    assert listed[str(ROOT)] == {"var"}
    assert listed[str(service.home)] == {"runs"}
    assert len(listed[str(service.runs_dir)]) == 1
    assert folder.name not in listed[str(service.runs_dir)]
    # Under the account's home, only the folder of Snakemake's source cache mount.
    assert listed.get(str(SERVICE_HOME), set()) <= {".cache"}


def test_links_a_run_leaves_are_never_followed(service: LiveService) -> None:
    state = service.state_dir
    jwt = (state / "jwt_secret").read_text().strip()
    cmd = (f"rm -f stdout.txt stderr.txt; ln -s {state}/jwt_secret stdout.txt; "
           f"ln -s {state}/ws.sqlite3 stderr.txt; ln -s {state}/jwt_secret copy.txt; "
           f"mkdir d; ln -s {state} d/state; ln -s {SERVICE_HOME} home")
    answers: list[bytes] = []
    for returned_type, todownload in (("stdout", "no"), ("run.zip", "no"),
                                      ("stdout.txt", "no"), ("stdout.txt", "yes"),
                                      ("run.zip", "yes")):
        r = local_run(service, cmd=cmd, returned_type=returned_type, todownload=todownload)
        answers.append(r.content)
        if todownload == "yes" and r.status_code == 200:
            r = requests.get(r.json()["url"], timeout=30)
            answers.append(r.content)
        if returned_type == "stdout":
            assert r.json()["info"]["stdout"] == ""
        elif returned_type == "run.zip":
            z = zipfile.ZipFile(io.BytesIO(r.content))
            name = next(n for n in z.namelist() if n.endswith("/work/stdout.txt"))
            assert (z.getinfo(name).external_attr >> 16) & 0o170000 == 0o120000
            assert z.read(name) == f"{state}/jwt_secret".encode()
            assert not any(n.endswith("/d/state/jwt_secret") or "/home/" in n
                           for n in z.namelist())
        else:
            assert r.status_code == 404 and r.json()["type"] == "not_found", r.text
    # A failed run's report carries the tail of stderr.txt: a link is not read either.
    r = local_run(service, cmd=cmd + "; exit 3")
    assert r.status_code == 422
    answers.append(r.content)
    assert r.json()["report"]["stderr"] == ""
    for body in answers:
        assert jwt.encode() not in body and b"SQLite format 3" not in body


def test_binds_reach_only_the_run_work_folder(service: LiveService) -> None:
    r = local_run(service, files=[("data.txt", b"inside\n")],
                  cmd="cat /in/data.txt; touch /in/new 2>/dev/null || echo read-only",
                  cmd_option="--bind .:/in:ro")
    assert stdout_of(r) == "inside\nread-only"
    for spec in ("..:/x", "../..:/x", f"{SERVICE_HOME}:/x", "/:/x", f"{service.home}:/x"):
        r = local_run(service, cmd="true", cmd_option=f"--bind {spec}")
        assert r.status_code == 400 and r.json()["type"] == "bad_parameter", spec


@pytest.fixture
def shared() -> Iterator[Path]:
    """A host folder an administrator lets runs bind read-only."""
    path = ROOT / "var" / "tests" / f"shared-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    (path / "ref.txt").write_text("REFERENCE\n")
    (path / "escape").symlink_to(SERVICE_HOME)
    subprocess.run(["chown", "-R", f"{WS_USER}:", str(path)], check=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_admin_allowed_binds_are_read_only_and_nothing_else(service_factory: Any,
                                                            shared: Path) -> None:
    live = service_factory(cluster={"allowed_binds": [str(shared)]})
    r = local_run(live, cmd="cat /ref/ref.txt; touch /ref/new 2>/dev/null || echo read-only",
                  cmd_option=f"--bind {shared}:/ref")
    assert stdout_of(r) == "REFERENCE\nread-only"
    assert not (shared / "new").exists()
    assert stdout_of(local_run(live, cmd="cat /r.txt",
                               cmd_option=f"-B {shared}/ref.txt:/r.txt:ro")) == "REFERENCE"
    for spec in (f"{shared}:/ref:rw", f"{shared}/escape:/x", f"{shared}/../:/x",
                 f"{shared}x:/x", f"{shared}/./ref.txt:/x", f"{shared}/nothing:/x",
                 f"{SERVICE_HOME}:/x"):
        r = local_run(live, cmd="true", cmd_option=f"--bind {spec}")
        assert r.status_code == 400 and r.json()["type"] == "bad_parameter", (spec, r.text)
        assert set(r.json()) == {"error", "more", "type"}


def test_a_bind_replaced_by_a_link_before_the_job_starts_opens_nothing(
        service_factory: Any, shared: Path) -> None:
    # Accepted at POST, the bind's folder is replaced by a link to the service's
    # home while the job waits in Slurm: Apptainer would follow it when the job
    # starts; the job script looks again first.
    live = service_factory(cluster={"allowed_binds": [str(shared)]})
    data = shared / "data"
    data.mkdir()
    subprocess.run(["chown", f"{WS_USER}:", str(data)], check=True)
    # A partition that is down queues jobs and starts none: the job waits.
    run(["scontrol", "update", "PartitionName=debug", "State=DOWN"])
    try:
        answer = cluster_run(live, cmd="ls -a /ref", cmd_option=f"--bind {data}:/ref")
        wait_state(answer["url"], lambda body: bool(
            body["info"]["report"]["process"].get("job_id")), timeout=60)
        data.rmdir()
        data.symlink_to(SERVICE_HOME)
    finally:
        run(["scontrol", "update", "PartitionName=debug", "State=UP"])
    report = wait_final(answer["url"])["info"]["report"]
    assert report["cr"] == "NOK", report
    assert report["process"]["cause"].startswith("a bind's source led out of"), report
    assert "stdout.txt" not in {p.name for p in (run_path(live.runs_dir, run_key(
        live, answer)) / "work").iterdir()}


def test_no_writable_place_is_shared_between_runs(service: LiveService) -> None:
    tag = uuid.uuid4().hex
    mounts = "awk '{print $2}' /proc/mounts | while read -r m; do"
    stdout_of(local_run(service, user="sue", cmd=(
        f"{mounts} touch \"$m/probe-{tag}\" 2>/dev/null; done; true")))
    try:
        out = stdout_of(local_run(service, cmd=(
            f"{mounts} [ -e \"$m/probe-{tag}\" ] && echo \"$m\"; done; true")))
        assert out == "", f"a file left by another run is visible under: {out}"
    finally:
        for leftover in (SERVICE_HOME / ".cache").rglob(f"probe-{tag}"):
            leftover.unlink()


def test_snakemake_source_cache_shows_no_other_run(service: LiveService,
                                                   victim: tuple[Path, str]) -> None:
    _, secret = victim
    half = len(secret) // 2
    out = stdout_of(local_run(service, cmd=(
        f"s='{secret[:half]}'\"{secret[half:]}\"; "
        f"timeout 60 grep -rlsF \"$s\" {SERVICE_HOME} | sed 's/^/FOUND /'; echo end")))
    assert "FOUND" not in out, out


def test_a_huge_stdout_is_not_loaded_into_the_service(service: LiveService) -> None:
    cmd = "head -c 70000000 /dev/zero | tr '\\0' x"
    r = local_run(service, cmd=cmd)
    assert r.status_code == 413, r.text[:300]
    assert set(r.json()) == {"error", "more", "type"} and r.json()["type"] == "too_large"
    # The same output as a file is fine: it is streamed.
    r = local_run(service, cmd=cmd, returned_type="stdout.txt")
    assert r.status_code == 200 and len(r.content) == 70_000_000
    assert requests.get(f"{service.url}/api/software/list/", timeout=30).status_code == 200
