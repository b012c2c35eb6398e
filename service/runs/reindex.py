"""The run index rebuilt from the runs' own files (`ws admin reindex`, and the
service's start when its index was lost; Ledger.reindex puts it in place): they
are the record of truth, the index (SQLite) only a copy of what they say.

Where the runs are is the placement's (placement.py):

- identity mode "service": each folder of runs_dir, with its request.json and
  state.json;
- identity mode "unix": each of the service's own folders of a run,
  state_dir/unix-runs/<folder name>, with its request.json, state.json and
  unix_user (the Unix user whose runs folder holds the run folder). The run
  folder, RUNS_DIR/<unix user>/<folder name>, is the user's: it is only looked
  at (lstat, never followed), to check it is a real folder of that user.

Every file is read as if hostile, wherever it is: opened without following a
link, regular files only, and bounded. A run is left out (and logged) when its
request.json cannot be read, names another run than its folder's, or, in unix
mode, names another owner than the ws user the folder's Unix user is mapped to;
a run whose state.json cannot be read is NOK (nobody can follow it)."""

from __future__ import annotations

import json
import logging
import os
import pwd
import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ws_slurm.records import read_bounded

from service.accounts import users
from service.accounts.unix_users import UNIX_NAME_RE
from service.core.store import RunIndexEntry, Store
from service.runs import folder as runfolder
from service.runs.folder import RunFolder
from service.runs.placement import (
    UNIX_USER_FILE,
    Placement,
    ServicePlacement,
    UnixPlacement,
)
from service.runs.record import RunRecord
from service.runs.state import Cr, RunState

log = logging.getLogger(__name__)
# Far above what the service writes (a request is bounded by the upload limits,
# and its files are not in it): these stop a file that never ends.
MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_STATE_BYTES = 16 * 1024 * 1024
MAX_USER_BYTES = 64

UidOf = Callable[[str], "int | None"]  # a Unix user's UID (None: no such user)


def system_uid(unix_user: str) -> int | None:
    try:
        return pwd.getpwnam(unix_user).pw_uid
    except KeyError:
        return None


def _json_object(path: Path, limit: int) -> dict[str, Any]:
    """ValueError unless the file is a readable JSON object."""
    data = read_bounded(str(path), limit)
    if data is None:
        raise ValueError(f"{path.name} is no regular file of at most {limit} bytes")
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError(f"{path.name} is not an object")
    return value


def _record(folder: RunFolder) -> RunRecord | None:
    try:
        return RunRecord.from_dict(_json_object(folder.request_file, MAX_RECORD_BYTES))
    except (ValueError, KeyError, TypeError):
        return None


def _cr(folder: RunFolder) -> Cr:
    try:
        return RunState.from_dict(_json_object(folder.state_file, MAX_STATE_BYTES)).cr
    except (ValueError, KeyError, TypeError):
        return Cr.NOK


def _named_folders(parent: Path) -> list[os.DirEntry[str]]:
    """The real folders (no links) of `parent` named as run folders are, in order."""
    try:
        entries = list(os.scandir(parent))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted((e for e in entries if runfolder.FOLDER_NAME_RE.fullmatch(e.name)
                   and e.is_dir(follow_symlinks=False)), key=lambda e: e.name)


def _top(placement: Placement) -> Path | None:
    """The folder that holds one folder per run (None: a placement of neither mode)."""
    if isinstance(placement, UnixPlacement):
        return placement.meta_dir
    return placement.runs_dir if isinstance(placement, ServicePlacement) else None


def has_run_folders(placement: Placement) -> bool:
    top = _top(placement)
    return top is not None and bool(_named_folders(top))


def _users_own(path: Path, uid: int | None) -> bool:
    """Whether the run folder is a real folder of the user, or gone (its run is
    then the service's record alone, as placement.find sees it)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return uid is not None and stat.S_ISDIR(info.st_mode) and info.st_uid == uid


def _unix_runs(placement: UnixPlacement, uid_of: UidOf
               ) -> Iterator[tuple[str, RunFolder]]:
    """(the Unix user, the run folder with its meta) of each run of unix mode."""
    for entry in _named_folders(placement.meta_dir):
        meta = Path(entry.path)
        raw = read_bounded(str(meta / UNIX_USER_FILE), MAX_USER_BYTES)
        user = raw.decode(errors="replace").strip() if raw else ""
        if not UNIX_NAME_RE.fullmatch(user):
            log.warning("reindex: %s names no Unix user: left out", meta)
            continue
        folder = RunFolder(placement.runs_dir / user / entry.name, meta=meta)
        if not _users_own(folder.path, uid_of(user)):
            log.warning("reindex: %s is not a real folder of %s (a link, a file, another "
                        "user's): left out", folder.path, user)
            continue
        yield user, folder


def _runs(placement: Placement, uid_of: UidOf) -> Iterator[tuple[str | None, RunFolder]]:
    if isinstance(placement, UnixPlacement):
        yield from _unix_runs(placement, uid_of)
        return
    top = _top(placement)
    for entry in _named_folders(top) if top else []:
        yield None, RunFolder(Path(entry.path))


def index_entries(store: Store, placement: Placement, uid_of: UidOf | None = None
                  ) -> list[RunIndexEntry]:
    """The index rebuilt from the placement's runs (the module's words), for the
    ledger to put in place of the one there is (`store` only tells it who is
    mapped to whom)."""
    entries: list[RunIndexEntry] = []
    for unix_user, folder in _runs(placement, uid_of or system_uid):
        where = folder.meta or folder.path
        record = _record(folder)
        if record is None:
            log.warning("reindex: %s has no readable request.json: left out", where)
            continue
        if runfolder.folder_name(record.key) != folder.path.name:
            log.warning("reindex: %s is not the folder its request.json names: left out",
                        where)
            continue
        if unix_user is not None:
            # Mapped one to one: the folder's user's ws user is the run's owner, or
            # (unmapped since) nobody's, the recorded owner's then.
            mapped = users.mapped_to(store, unix_user)
            if mapped is not None and mapped != record.owner:
                log.warning("reindex: %s names the owner %r, but its folder is %s's, "
                            "whose ws user is %r: left out", where, record.owner,
                            unix_user, mapped)
                continue
        entries.append(RunIndexEntry(record.number, record.key, record.name, record.owner,
                                     record.kind, record.created, _cr(folder)))
    return numbered_once(entries)


def numbered_once(entries: list[RunIndexEntry]) -> list[RunIndexEntry]:
    """Numbers are unique in the index: a number found twice (folders copied in from
    elsewhere) is given a new one after the highest, the oldest run keeping its own."""
    top = max((e.number for e in entries), default=0)
    seen: set[int] = set()
    out = []
    for entry in sorted(entries, key=lambda e: (e.number, e.created)):
        if entry.number in seen:
            top += 1
            entry = replace(entry, number=top)
        seen.add(entry.number)
        out.append(entry)
    return out
