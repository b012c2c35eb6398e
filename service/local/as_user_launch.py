"""Identity mode "unix": a local run executes as its Unix user.

`sudo -n -u USER ws-as-user run RUN_ID` (the one sudoers rule, docs/admin.md)
runs the run folder's job.sh as the user, as LocalRunner runs it cold in mode
"service": the warm Snakemake is the service's own process, so these runs
start Snakemake anew.

Bounds: the service passes nothing but the verb and the folder, so the run's
rlimits are set on sudo: `prlimit ... -- sudo ...` lowers soft and hard limits
before sudo, which gives its command the limits it was started with (measured
with the service account: tests/integration/test_ws_as_user.py), and the user
cannot raise a hard limit again. RLIMIT_NPROC then counts the user's processes,
not the service's.

Warm: after a user's local run starts, `ws-as-user warm RUN_ID` starts that
user's own warm Snakemake (service/local/warm_user.py, as the user), which their
later runs' `ws-as-user run` hands the run to: Snakemake's start-up (≈1.9 s) is
paid once per user while they keep running, not per run. It leaves after being
idle for its IDLE_S; at most `local.max_concurrent` users' are asked for at a time
(each holds a warmed Snakemake's memory, ≈ 150 MB).

Stopping: the service cannot signal the user's processes. It sends SIGTERM to
sudo (its own child), which relays it to ws-as-user, which kills the job's
whole process group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import replace

from service.accounts.as_user import MAX_SAID, AsUser, AsUserFailed
from service.core.config import Config
from service.local.limits import LocalLimits, prlimit_argv
from service.local.runner import LocalRunner, Started
from service.local.warm_user import IDLE_S
from service.runs.folder import RunFolder

log = logging.getLogger(__name__)
EXIT_REFUSED = 2  # ws-as-user's: it did nothing


# How often a user's warm Snakemake is asked for again while they run (one that
# answers already makes it a no-op, so this only bounds the sudo calls).
WARM_AGAIN_S = 60.0


class AsUserLaunch:
    def __init__(self, as_user: AsUser, max_warm: int = 0) -> None:
        self.as_user = as_user
        self.max_warm = max_warm  # 0: no warm Snakemake of the users'
        self._warmed: dict[str, float] = {}  # Unix user -> when last asked for
        self._warming: set[asyncio.Task[None]] = set()

    def _warm(self, user: str, run_id: str) -> None:
        now = time.monotonic()
        for name, when in list(self._warmed.items()):
            if now - when > IDLE_S:
                del self._warmed[name]
        last = self._warmed.get(user)
        if not self.max_warm or (last is not None and now - last < WARM_AGAIN_S) or (
                last is None and len(self._warmed) >= self.max_warm):
            return
        self._warmed[user] = now
        task = asyncio.create_task(self._ask_warm(user, run_id))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def _ask_warm(self, user: str, run_id: str) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.as_user.argv(user, "warm", run_id), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            said, _ = await proc.communicate()
        except (OSError, AsUserFailed) as e:
            log.warning("no warm Snakemake for %s: %s", user, e)
            return
        if proc.returncode != 0:
            log.warning("no warm Snakemake for %s: ws-as-user warm exited %s: %s", user,
                        proc.returncode, said[-MAX_SAID:].decode(errors="replace").strip())

    def argv(self, folder: RunFolder, limits: LocalLimits) -> list[str]:
        """The run's folder is RUNS_DIR/UNIXUSER/RUN_ID (placement.UnixPlacement):
        its path names whom to run it as. AsUserFailed for any other path."""
        user, run_id = folder.path.parent.name, folder.path.name
        return ["prlimit", *prlimit_argv(limits), "--",
                *self.as_user.argv(user, "run", run_id)]

    async def __call__(self, folder: RunFolder, limits: LocalLimits) -> Started:
        try:
            argv = self.argv(folder, limits)
        except AsUserFailed as e:
            log.warning("local run %s not started: %s", folder.path, e)
            return Started(_status(EXIT_REFUSED), lambda: None)
        # Its own session: nothing the service's terminal sends reaches it, and
        # sudo relays the service's signals (it ignores its own group's).
        proc = await asyncio.create_subprocess_exec(
            *argv, start_new_session=True, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self._warm(folder.path.parent.name, folder.path.name)
        return Started(_exited(proc, folder), lambda: _stop(proc))


async def _status(code: int) -> int:
    return code


async def _exited(proc: asyncio.subprocess.Process, folder: RunFolder) -> int:
    """Its exit status; what sudo or ws-as-user said (the job's own output goes to
    its logs, not here) is logged."""
    assert proc.stderr is not None
    said = b""
    while chunk := await proc.stderr.read(64 * 1024):
        said = (said + chunk)[-MAX_SAID:]
    code = await proc.wait()
    if said.strip():
        log.warning("local run %s as its user exited %d: %s", folder.path, code,
                    said.decode(errors="replace").strip())
    return code


def _stop(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        proc.send_signal(signal.SIGTERM)


def runner_for_mode(config: Config) -> LocalRunner:
    """The local runner of the identity mode: in "unix", each run as its user
    (nothing of that mode forks Snakemake in the service: the warm Snakemake is
    each user's own, when local.warm_snakemake)."""
    if not config.identity.unix:
        return LocalRunner(config.local)
    max_warm = config.local.max_concurrent if config.local.warm_snakemake else 0
    return LocalRunner(replace(config.local, warm_snakemake=False),
                       AsUserLaunch(AsUser(config.identity.program), max_warm))
