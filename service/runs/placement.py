"""Where a run's folder is, and how it is published and removed.

`ServicePlacement` (identity mode "service"): runs_dir/<folder name>, the
service's own, with its request.json and state.json inside.

`UnixPlacement` (identity mode "unix"): identity.runs_dir/<unix user>/<folder
name>, the mapped user's: made (from the folder the service built in its
staging area) and removed as the user by ws-as-user; the service reads it
through the group ACL and never writes in it. The service's own files of the
run (request.json, state.json, download.json, and which Unix user it is) live
in state_dir/unix-runs/<folder name>/ (RunFolder.meta): the ledger stays their
one writer, and a user cannot rewrite them."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from service.accounts.as_user import AsUser, AsUserFailed
from service.accounts.unix_users import UNIX_NAME_RE
from service.core import atomic
from service.core.errors import ClusterUnavailable, NotFound
from service.runs import folder as runfolder
from service.runs import removal
from service.runs.folder import RunFolder

log = logging.getLogger(__name__)
UNIX_USER_FILE = "unix_user"
WriteState = Callable[[Path], None]  # writes a run's state.json into a folder


class Placement(Protocol):
    def folder(self, key: str) -> RunFolder: ...

    def find(self, key: str) -> RunFolder:
        """The folder of an existing run; NotFound for anything else."""
        ...

    def path_of(self, key: str) -> Path:
        """Where the run's folder is once published (its job.sh names it)."""
        ...

    def publish(self, built: Path, key: str, first_state: WriteState) -> RunFolder:
        """The folder `built` (in the service's staging area), with its first
        state (written by the ledger's `first_state` in the folder it is given),
        in place for good (blocking)."""
        ...

    def remove(self, key: str) -> bool:
        """Remove the run's folder (blocking); whether it is gone."""
        ...


class ServicePlacement:
    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def folder(self, key: str) -> RunFolder:
        return RunFolder(runfolder.run_path(self.runs_dir, key))

    def find(self, key: str) -> RunFolder:
        return runfolder.find(self.runs_dir, key)

    def path_of(self, key: str) -> Path:
        return runfolder.run_path(self.runs_dir, key)

    def publish(self, built: Path, key: str, first_state: WriteState) -> RunFolder:
        # A burst of POSTs syncs in the thread pool, sharing the file system's
        # commits, instead of one after the other on the event loop.
        first_state(built)
        atomic.sync_tree(built)
        folder = runfolder.publish(built, self.runs_dir, key)
        atomic.sync_dir(self.runs_dir)
        return folder

    def remove(self, key: str) -> bool:
        return removal.remove(self.folder(key).path)


class UnixPlacement:
    def __init__(self, runs_dir: Path, meta_dir: Path,
                 unix_user_of: Callable[[str], str | None], as_user: AsUser) -> None:
        self.runs_dir = runs_dir  # identity.runs_dir: one folder per Unix user
        self.meta_dir = meta_dir  # state_dir/unix-runs
        self.unix_user_of = unix_user_of  # a run key's owner's mapped Unix user, now
        self.as_user = as_user
        self._users: dict[str, str] = {}  # key -> the Unix user its folder is of

    def _user(self, key: str) -> str | None:
        """The Unix user whose runs folder holds the run: as recorded when it was
        made (a later change of the mapping does not move it)."""
        if key in self._users:
            return self._users[key]
        try:
            user = (self.meta_dir / runfolder.folder_name(key) / UNIX_USER_FILE
                    ).read_text().strip()
        except OSError:
            return None
        if not UNIX_NAME_RE.fullmatch(user):
            return None
        self._users[key] = user
        return user

    def unix_user(self, key: str) -> str | None:
        """The Unix user whose run it is (None: none recorded)."""
        return self._user(key)

    def folder(self, key: str) -> RunFolder:
        name = runfolder.folder_name(key)
        meta = self.meta_dir / name
        user = self._user(key)
        # No recorded user: a path that is no folder (its state alone is readable).
        path = self.runs_dir / user / name if user else meta / "no-run-folder"
        return RunFolder(path, meta=meta)

    def find(self, key: str) -> RunFolder:
        if not runfolder.KEY_RE.fullmatch(key):
            raise NotFound("unknown run key")
        folder = self.folder(key)
        if not folder.request_file.is_file():
            raise NotFound("unknown run key")
        return folder

    def path_of(self, key: str) -> Path:
        user = self._user(key) or self.unix_user_of(key) or "no-unix-user"
        return self.runs_dir / user / runfolder.folder_name(key)

    def publish(self, built: Path, key: str, first_state: WriteState) -> RunFolder:
        user = self.unix_user_of(key)
        if user is None or not UNIX_NAME_RE.fullmatch(user):
            raise ClusterUnavailable("the run's owner is mapped to no Unix user")
        name = runfolder.folder_name(key)
        meta = self.meta_dir / name
        self.meta_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        meta.mkdir(mode=0o700)
        try:
            atomic.write_text(meta / UNIX_USER_FILE, user + "\n", durable=False)
            shutil.move(built / "request.json", meta / "request.json")
            first_state(meta)
            atomic.sync_tree(meta)
            atomic.sync_dir(self.meta_dir)
            self.as_user.create(user, name, built)
        except AsUserFailed as e:
            shutil.rmtree(meta, ignore_errors=True)
            log.warning("run folder not made as %s: %s", user, e)
            raise ClusterUnavailable(f"the run folder could not be made as the Unix user "
                                     f"{user}", [str(e)[-500:]]) from e
        except BaseException:
            shutil.rmtree(meta, ignore_errors=True)
            raise
        self._users[key] = user
        return RunFolder(self.runs_dir / user / name, meta=meta)

    def remove(self, key: str) -> bool:
        folder = self.folder(key)
        user = self._user(key)
        if user and os.path.lexists(folder.path):
            try:
                self.as_user.run(user, "remove", folder.path.name)
            except (AsUserFailed, OSError) as e:
                log.warning("run folder of %s not removed: %s", user, e)
                return False
        if os.path.lexists(folder.path):
            return False
        shutil.rmtree(self.meta_dir / runfolder.folder_name(key), ignore_errors=True)
        self._users.pop(key, None)
        return True
