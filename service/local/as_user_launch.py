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

Stopping: the service cannot signal the user's processes. It sends SIGTERM to
sudo (its own child), which relays it to ws-as-user, which kills the job's
whole process group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import replace

from service.accounts.as_user import MAX_SAID, AsUser, AsUserFailed
from service.core.config import Config
from service.local.limits import LocalLimits, prlimit_argv
from service.local.runner import LocalRunner, Started
from service.runs.folder import RunFolder

log = logging.getLogger(__name__)
EXIT_REFUSED = 2  # ws-as-user's: it did nothing


class AsUserLaunch:
    def __init__(self, as_user: AsUser) -> None:
        self.as_user = as_user

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
    """The local runner of the identity mode: in "unix", each run as its user, cold
    (nothing of that mode forks Snakemake in the service: no warm Snakemake)."""
    if not config.identity.unix:
        return LocalRunner(config.local)
    return LocalRunner(replace(config.local, warm_snakemake=False),
                       AsUserLaunch(AsUser(config.identity.program)))
