"""WsClient: the ws API as Python methods.

    from service.client import WsClient
    ws = WsClient("http://127.0.0.1:8000")
    ws.login("alice", "secret")
    run = ws.run("sw_example", "python /add.py 4 5")
    ws.wait(run)            # the final state report
    ws.stdout(run)          # "9.0"
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from service.client.http import Answer, WsClientError, call, multipart

__all__ = ["RunHandle", "WsClient", "WsClientError"]
WAIT_STEP_S = 30  # each state call waits up to this long on the service


@dataclass(frozen=True)
class RunHandle:
    """A run: its software and key (the key reads the run: keep it private)."""

    name: str
    key: str


def _seg(value: str) -> str:
    return quote(value, safe="")


class WsClient:
    def __init__(self, url: str, token: str | None = None, identity: str = "muse",
                 timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.identity = identity
        self.timeout = timeout

    # ---- plumbing ---------------------------------------------------------------------
    def _call(self, method: str, path: str, query: dict[str, Any] | None = None,
              body: bytes | None = None, content_type: str | None = None,
              auth: bool = True, timeout: float | None = None) -> Answer:
        url = f"{self.url}/api/{path}/"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        return call(method, url, self.token if auth else None, body, content_type,
                    timeout or self.timeout)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._call(method, path, **kw).json()

    def _post_json(self, path: str, data: dict[str, Any], auth: bool = True) -> Any:
        return self._json("POST", path, body=json.dumps(data).encode(),
                          content_type="application/json", auth=auth)

    # ---- tokens and catalogue ---------------------------------------------------------
    def login(self, username: str, password: str) -> str:
        """Obtain a token (kept on this client) and return it."""
        answer = self._post_json("jwt/obtain", {"username": username, "password": password},
                                 auth=False)
        self.token = str(answer["jwt"])
        return self.token

    def verify(self) -> dict[str, Any]:
        result: dict[str, Any] = self._post_json("jwt/verify", {"jwt": self.token or ""},
                                                 auth=False)
        return result

    def softwares(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._json("GET", "software/list", auth=False)
        return result

    # ---- runs -------------------------------------------------------------------------
    def start(self, software: str, cmd: str, files: Sequence[Path | str] = (),
              cmd_option: str = "", sbatch: Sequence[str] = (), modules: Sequence[str] = (),
              returned_type: str = "stdout", todownload: bool = False,
              local: bool = False) -> Answer:
        """POST a run; the raw answer (a local run's answer is its result)."""
        fields = {"cmd": cmd, "cmd_option": cmd_option, "returned_type": returned_type,
                  "todownload": "yes" if todownload else "no"}
        if not local:
            fields["sbatch_list"] = json.dumps(list(sbatch))
            fields["module_list"] = json.dumps(list(modules))
        paths = [Path(f) for f in files]
        if paths:
            fields["files_order"] = json.dumps([p.name for p in paths])
        body, ctype = multipart(fields, paths)
        where = "software/run" if local else f"software/{self.identity}/run"
        return self._call("POST", f"{where}/{_seg(software)}", body=body, content_type=ctype)

    def run(self, software: str, cmd: str, **kw: Any) -> RunHandle:
        """Start a cluster run; its handle."""
        answer = self.start(software, cmd, **kw).json()
        key = str(answer["url"]).rstrip("/").rsplit("/", 1)[-1]
        return RunHandle(software, key)

    def _run_path(self, what: str, run: RunHandle) -> str:
        return f"software/{self.identity}/{what}/{_seg(run.name)}/{_seg(run.key)}"

    def state(self, run: RunHandle, wait: float = 0) -> dict[str, Any]:
        """The state report; with `wait`, the service answers once it changes (<= wait s)."""
        result: dict[str, Any] = self._json(
            "GET", self._run_path("state", run), query={"wait": wait or None},
            timeout=self.timeout + wait)
        return result

    def wait(self, run: RunHandle, timeout: float | None = None,
             on_state: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Follow the run until its cr is OK or NOK (or `timeout` s); the last state.
        `on_state` sees every state report on the way (for progress lines)."""
        start = time.monotonic()
        wait = 0.0
        while True:
            body = self.state(run, wait=wait)
            if on_state:
                on_state(body)
            if body["info"]["report"]["cr"] != "WAIT":
                return body
            left = None if timeout is None else timeout - (time.monotonic() - start)
            if left is not None and left <= 0:
                return body
            wait = WAIT_STEP_S if left is None else max(0.1, min(WAIT_STEP_S, left))

    def results(self, run: RunHandle) -> Answer:
        """The results as the run was asked for: JSON (stdout, download) or a file."""
        return self._call("GET", self._run_path("run", run))

    def stdout(self, run: RunHandle) -> str:
        return str(self.results(run).json()["info"]["stdout"])

    def content(self, run: RunHandle) -> bytes:
        """The whole run folder as a zip, at any time."""
        return self._call("GET", self._run_path("content", run)).body

    def cancel(self, run: RunHandle) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._run_path("cancel", run))
        return result

    def cancel_many(self, software: str | None = None, state: str | None = None
                    ) -> dict[str, Any]:
        """Cancel all the caller's live cluster runs, or those of a software and/or in
        a Slurm state (e.g. PENDING), in one call: {"cancelled", "not_in_slurm_yet",
        "msg"}. Each cancelled run then ends NOK (latest_state CANCELLED)."""
        result: dict[str, Any] = self._post_json(
            "run/cancel", {k: v for k, v in (("software", software), ("state", state)) if v})
        return result

    def runs(self, state: str | None = None, software: str | None = None, page: int = 1,
             per_page: int = 20) -> dict[str, Any]:
        """The caller's runs, newest first: {"runs", "page", "per_page", "total"}."""
        result: dict[str, Any] = self._json(
            "GET", "run/list", query={"state": state, "software": software, "page": page,
                                      "per_page": per_page})
        return result

    def download(self, url: str) -> Answer:
        """A `todownload=yes` result, from the URL its answer gave."""
        if not url.startswith(self.url + "/api/download"):
            raise WsClientError(0, f"not a download URL of {self.url}: {url}")
        return call("GET", url, None, timeout=self.timeout)
