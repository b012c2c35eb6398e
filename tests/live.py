"""A live ws service for tests and benchmarks: its own folder under var/tests,
config, catalogue and users, started as a subprocess under the service account,
as in production."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
WS_USER = os.environ.get("WS_USER", "ws")
# libdrmaa as scripts/drmaa-up.sh installs it (cluster.backend = "drmaa").
DRMAA_LIBRARY = Path("/opt/slurm-drmaa/lib/libdrmaa.so.1")
WS = str(ROOT / ".venv" / "bin" / "ws")
STATE_ROOT = ROOT / "var" / "state" / "tests"
# The longest a state call may wait for a change (the API's ?wait= bound).
MAX_STATE_WAIT_S = 60.0
PASSWORD = "password-{}"
# name -> (level on the sw_example container or None, is_admin)
USERS: dict[str, tuple[int | None, bool]] = {
    "alice": (2, False), "vic": (1, False), "sue": (3, False), "adam": (4, True),
    "bob": (None, False),
}


def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, text=True, capture_output=True, check=False, **kw)


def build_images() -> dict[str, Path]:
    """The sw_example images (built once, then cached by the build script)."""
    result = run(["bash", str(ROOT / "containers" / "sw_example" / "build.sh")])
    if result.returncode != 0:
        raise RuntimeError("sw_example images cannot be built:\n" + result.stderr[-3000:])
    sif, docker_sif = result.stdout.split()
    return {"singularity": Path(sif), "docker": Path(docker_sif),
            "docker_tar": Path(docker_sif[: -len(".sif")] + ".tar")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class LiveService:
    home: Path
    config: Path
    url: str
    images: dict[str, Path]
    proc: subprocess.Popen[bytes] | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    # Identity mode "unix": the run folders of the tests' user (alice) are in her
    # Unix user's own folder, not the service's.
    runs_at: Path | None = None

    @property
    def runs_dir(self) -> Path:
        return self.runs_at or self.home / "runs"

    @property
    def state_dir(self) -> Path:
        # Under var/state, which the compute nodes do not see (scripts/cluster-up.sh),
        # as a real site shares runs and software with them, not the service's state.
        return STATE_ROOT / self.home.name

    def admin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(["runuser", "-u", WS_USER, "--", WS, "--config", str(self.config),
                     "admin", *args], input=stdin)

    def start(self) -> None:
        log = (self.home / "service.log").open("ab")
        self.proc = subprocess.Popen(
            ["runuser", "-u", WS_USER, "--", WS, "--config", str(self.config), "serve"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(f"{self.url}/api/software/list/", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("the service did not start:\n" + self.log()[-3000:])

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.proc = None

    def log(self) -> str:
        return (self.home / "service.log").read_text(errors="replace")

    def token(self, user: str = "alice") -> str:
        if user not in self._tokens:
            r = requests.post(f"{self.url}/api/jwt/obtain/",
                              data={"username": user, "password": PASSWORD.format(user)},
                              timeout=30)
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["jwt"]
        return self._tokens[user]

    def auth(self, user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}


# The state folder (database) in which `ws admin` first made each set of images'
# catalogue and users, before any service started on it: every later service
# starts from a copy of it, as seventeen `ws admin` processes per service cost
# more than the service's own start.
_CATALOGUES: dict[tuple[str, ...], Path] = {}


def _catalogue_key(images: dict[str, Path]) -> tuple[str, ...]:
    return tuple(sorted(str(path) for path in images.values()))


def _add_catalogue_and_users(service: LiveService) -> None:
    """The sw_example containers and softwares, and USERS with their levels, added
    as an admin does."""
    images = service.images
    steps = [
        ["container", "add", "sw_example", "--type", "singularity", "--image",
         str(images["singularity"])],
        ["software", "add", "sw_example", "--container", "sw_example", "--desc", "adds"],
        # The docker-type container: its SIF was built from the Docker image archive.
        ["container", "add", "sw_example_docker", "--type", "docker", "--archive",
         str(images["docker_tar"]), "--image", str(images["docker"])],
        ["software", "add", "sw_example_docker", "--container", "sw_example_docker"],
    ]
    for step in steps:
        result = service.admin(*step)
        assert result.returncode == 0, result.stderr
    for user, (level, is_admin) in USERS.items():
        result = service.admin("user", "add", user, *(["--admin"] if is_admin else []),
                               stdin=PASSWORD.format(user) + "\n")
        assert result.returncode == 0, result.stderr
        if level is not None:
            for container in ("sw_example", "sw_example_docker"):
                result = service.admin("access", "grant", user, "--container", container,
                                       "--level", str(level))
                assert result.returncode == 0, result.stderr


def make_service(images: dict[str, Path], **sections: dict[str, Any]) -> LiveService:
    """A service of its own: folder under var/tests, config, catalogue, users."""
    home = ROOT / "var" / "tests" / uuid.uuid4().hex[:12]
    home.mkdir(parents=True)
    port = _free_port()
    settings: dict[str, dict[str, Any]] = {
        "": {"state_dir": str(STATE_ROOT / home.name), "runs_dir": "runs"},
        "server": {"host": "127.0.0.1", "port": port},
        "cluster": {"poll_min_s": 0.3, "poll_max_s": 2.0,
                    "module_paths": [str(home / "modulefiles")]},
        "local": {"time_limit_s": 60.0},
        # One test session logs in far more often than a person does, all from
        # 127.0.0.1: the throttle's own test sets its limits (test_login_throttle).
        "auth": {"login_burst": 1000, "login_per_minute": 1000.0},
    }
    for name, values in sections.items():
        settings.setdefault(name, {}).update(values)
    lines = [f"{k} = {_toml(v)}" for k, v in settings.pop("").items()]
    for name, values in settings.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    config = home / "ws.toml"
    config.write_text("\n".join(lines) + "\n")
    (home / "modulefiles").mkdir()
    STATE_ROOT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["chown", "-R", f"{WS_USER}:", str(home.parent), str(STATE_ROOT)],
                   check=True)
    service = LiveService(home, config, f"http://127.0.0.1:{port}", images)
    template = _CATALOGUES.get(_catalogue_key(images))
    if template is None:
        _add_catalogue_and_users(service)
        template = STATE_ROOT / f"template-{home.name}"
        subprocess.run(["cp", "-a", str(service.state_dir), str(template)], check=True)
        _CATALOGUES[_catalogue_key(images)] = template
    else:
        subprocess.run(["cp", "-a", str(template), str(service.state_dir)], check=True)
    service.start()
    return service


# Identity mode "unix": identity.runs_dir's default, and the Unix user of the tests'
# ws user alice (scripts/unix-users-up.sh makes it).
UNIX_RUNS = Path("/srv/ws-runs")
UNIX_ALICE = "wsalice"


@contextlib.contextmanager
def unix_service(**sections: dict[str, Any]) -> Iterator[LiveService]:
    """A service of its own in identity mode "unix", alice mapped to wsalice."""
    svc = make_service(build_images(), identity={"mode": "unix"}, **sections)
    try:
        result = svc.admin("user", "unix", "alice", UNIX_ALICE)
        assert result.returncode == 0, result.stderr
        svc.runs_at = UNIX_RUNS / UNIX_ALICE
        yield svc
    finally:
        svc.stop()


def local_run(service: LiveService, files: list[tuple[str, bytes]] | None = None,
              user: str = "alice", **params: Any) -> requests.Response:
    """POST a local run of sw_example; files as (name, content) pairs."""
    url = f"{service.url}/api/software/run/sw_example/"
    if files is not None:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        return requests.post(url, data=data, files=[("file", f) for f in files],
                             headers=service.auth(user), timeout=120)
    return requests.post(url, json=params, headers=service.auth(user), timeout=120)


def cluster_run(service: LiveService, user: str = "alice", files: dict[str, bytes] | None = None,
           **params: Any) -> dict[str, Any]:
    """POST a cluster run of sw_example; its answer (msg, url, urls)."""
    url = f"{service.url}/api/software/muse/run/sw_example/"
    if files:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        r = requests.post(url, data=data, files=[("file", (n, c)) for n, c in files.items()],
                          headers=service.auth(user), timeout=60)
    else:
        r = requests.post(url, json=params, headers=service.auth(user), timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def wait_state(state_url: str, until: Callable[[dict[str, Any]], bool],
               timeout: float = 180.0, headers: dict[str, str] | None = None,
               longest: float = MAX_STATE_WAIT_S) -> dict[str, Any]:
    """A cluster run's state once `until` holds for it (or the last one seen after
    `timeout`). Each call waits on the service's side (?wait=) and is answered as
    soon as the run's state changes, so a test follows a run as its events come,
    not at a polling pace.

    A waiting call waits for a change from the state it finds when it comes: a
    change in the moment between two calls is only seen at the next change or
    after `longest` seconds. A final state is always answered at once, so only
    conditions on a state that can still change (RUNNING) need a shorter
    `longest`."""
    deadline = time.monotonic() + timeout
    wait = 0.0
    while True:
        body: dict[str, Any] = requests.get(state_url, params={"wait": f"{wait:.1f}"},
                                            headers=headers, timeout=wait + 30).json()
        remaining = deadline - time.monotonic()
        if until(body) or remaining <= 0:
            return body
        wait = min(longest, remaining)


def wait_final(state_url: str, timeout: float = 180.0,
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A cluster run's state once its cr is no longer WAIT."""
    return wait_state(state_url, lambda body: body["info"]["report"]["cr"] != "WAIT",
                      timeout, headers)


def wait_running(state_url: str, timeout: float = 120.0) -> dict[str, Any]:
    """A cluster run's state once Slurm runs its job (or it has ended)."""
    return wait_state(state_url, lambda body: body["info"]["report"]["process"][
        "latest_state"] == "RUNNING" or body["info"]["report"]["cr"] != "WAIT", timeout,
        longest=5.0)


def run_key(service: LiveService, answer: dict[str, Any]) -> str:
    """The run key in a cluster run's answer (its state URL ends with it)."""
    return str(answer["url"].rstrip("/").rsplit("/", 1)[1])


def key_in(folder: Path) -> str:
    """The key of the run whose folder this is (its name reveals no key)."""
    return str(json.loads((folder / "request.json").read_text())["key"])


def slurm_jobs_of(folder: Path, meta: Path | None = None, user: str = WS_USER) -> set[int]:
    """Every Slurm job of a run, asked by its job name (squeue and sacct, as the
    service's account, or `user`'s in identity mode "unix", the run's request in
    `meta` then) and kept when it ran in the run's folder: a job submitted twice
    shows twice."""
    record = json.loads(((meta or folder) / "request.json").read_text())
    name = f"{record['number']}-{record['service']}-{record['name']}"
    lines = run(["squeue", "-u", user, "--noheader", "--states=all", f"--name={name}",
                 "--format=%i|%Z"]).stdout.splitlines()
    lines += run(["sacct", "-u", user, "--noheader", "--parsable2", "--allocations",
                  "--starttime=now-6hours", f"--name={name}", "--format=JobIDRaw,WorkDir"]
                 ).stdout.splitlines()
    return {int(job) for job, _, workdir in (line.partition("|") for line in lines)
            if job.isdigit() and Path(workdir).name == folder.name}
