"""The one privileged step of identity mode "unix": the program ws-as-user run as
a mapped Unix user through the sudoers rule (docs/admin.md), never anything else.

`sudo -n -u UNIXNAME PROGRAM VERB RUN_ID`: -n, a refused rule fails at once
instead of waiting for a password; no environment is passed (the rule has no
SETENV, the program replaces what it gets). `create` streams the run folder the
service built to the program's stdin as a tar, which it unpacks as the user."""

from __future__ import annotations

import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from service.accounts.unix_users import UNIX_NAME_RE

# A run folder's name (service/runs/folder.py's FOLDER_NAME_RE, which accounts/
# may not import: a unit test keeps them equal).
RUN_ID_RE = re.compile(r"[0-9a-f]{40}")

# What the program said, kept for the logs and the error's details.
MAX_SAID = 2000


class AsUserFailed(Exception):
    """ws-as-user refused or failed; the message has its exit status and words."""


@dataclass(frozen=True)
class AsUser:
    program: Path

    def argv(self, unix_user: str, verb: str, run_id: str) -> list[str]:
        # Checked here too: the rule's pattern and the program refuse anything
        # else, but nothing odd should ever reach sudo's command line.
        if not UNIX_NAME_RE.fullmatch(unix_user) or not RUN_ID_RE.fullmatch(run_id):
            raise AsUserFailed(f"not a Unix user and run folder: {unix_user[:40]!r} "
                               f"{run_id[:80]!r}")
        return ["sudo", "-n", "-u", unix_user, str(self.program), verb, run_id]

    def run(self, unix_user: str, verb: str, run_id: str, timeout: float = 600.0) -> str:
        """Run VERB as the user (blocking: call it in a thread); what it said on
        stderr. AsUserFailed if it did not exit 0."""
        result = subprocess.run(self.argv(unix_user, verb, run_id), capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                                check=False)
        return _checked(verb, result.returncode, result.stderr)

    def create(self, unix_user: str, run_id: str, built: Path) -> None:
        """Make the run folder RUN_ID, as the user, from the folder `built` (the
        service's): streamed as a tar of its regular files and folders (blocking)."""
        with subprocess.Popen(self.argv(unix_user, "create", run_id), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
            assert proc.stdin is not None and proc.stderr is not None
            try:
                with tarfile.open(fileobj=proc.stdin, mode="w|") as tar:
                    for child in sorted(built.iterdir()):
                        tar.add(child, arcname=child.name)
            except BrokenPipeError:
                pass  # it refused and stopped reading: its exit status says why
            finally:
                proc.stdin.close()
            said = proc.stderr.read().decode(errors="replace")
            code = proc.wait()
        _checked("create", code, said)


def _checked(verb: str, code: int, said: str) -> str:
    if code != 0:
        raise AsUserFailed(f"ws-as-user {verb} exited {code}: {said.strip()[-MAX_SAID:]}")
    return said
