"""The run folder: layout, creation from a staging folder, safe input treatment.

A run folder is the record of truth of a run:

    <runs_dir>/<folder_name(key)>/
        request.json      who asked what (RunRequest, owner, software, number)
        state.json        the latest known state (written atomically)
        Snakefile, rules/, schemas/, config.yaml, profiles/default/   the workflow
        job.sh            runs the whole workflow where it is (local fallback)
        prologue.sh       module loads, sourced by each job script (when asked)
        status/           job scripts, jobs.json (Snakemake job -> Slurm id) and
                          exit records, written outside the container
        logs/             Snakemake's and Slurm's logs
        work/             the user's files, stdout.txt, stderr.txt: the only
                          folder the container sees
"""

from __future__ import annotations

import errno
import hashlib
import re
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ws_slurm.records import DISK_EXCEEDED_RECORD

from service.core.config import LimitsConfig
from service.core.errors import InvalidParameter, NotFound, StorageFull, TooLarge, WsError
from service.core.params import UploadedFile, check_file_name

# A zip entry's whole path, in bytes (each name is at most 255, as file systems
# allow): far below PATH_MAX once under a run folder, whatever runs_dir is.
MAX_ENTRY_PATH_BYTES = 1024
# What an upload can make the file system answer, as the one error shape says it.
_REFUSED_BY_FILE_SYSTEM = frozenset({errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ,
                                     errno.EEXIST, errno.EISDIR, errno.ENOTDIR,
                                     errno.ELOOP})
_TOO_LARGE_FOR_FILE_SYSTEM = frozenset({errno.EFBIG, errno.EMLINK})
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})

# fullmatch: `$` alone would also accept a key followed by a newline.
KEY_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# A run folder is named by a one-way hash of its key, never by the key: Slurm shows
# every cluster user a job's working folder and output paths (`squeue -o %Z`,
# `sacct -o WorkDir`, `scontrol show job`), and the key alone reads the run.
FOLDER_NAME_RE = re.compile(r"[0-9a-f]{40}")
STAGING = ".staging"


def folder_name(key: str) -> str:
    """The name of the folder of the run `key` (a key is 122 random bits: its hash
    cannot be turned back into it)."""
    return hashlib.sha256(b"ws run folder\0" + key.encode()).hexdigest()[:40]


def run_path(runs_dir: Path, key: str) -> Path:
    """Where the run `key` lives: the one place that turns a key into a path."""
    return runs_dir / folder_name(key)


@dataclass(frozen=True)
class RunFolder:
    path: Path
    # Where the service's own files of the run are (request.json, state.json,
    # download.json): the run folder itself, or (identity mode "unix", where the
    # run folder is the user's) a folder of the service's (placement.py).
    meta: Path | None = None

    @property
    def request_file(self) -> Path:
        return (self.meta or self.path) / "request.json"

    @property
    def state_file(self) -> Path:
        return (self.meta or self.path) / "state.json"

    @property
    def job_script(self) -> Path:
        return self.path / "job.sh"

    @property
    def status(self) -> Path:
        return self.path / "status"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def stdout(self) -> Path:
        return self.work / "stdout.txt"

    @property
    def snakemake_exit(self) -> Path:
        return self.status / "snakemake.exit"

    @property
    def download_file(self) -> Path:
        return (self.meta or self.path) / "download.json"

    @property
    def disk_exceeded(self) -> Path:  # the service's note: never in a user's folder
        return (self.meta or self.status) / DISK_EXCEEDED_RECORD


def new_key() -> str:
    """uuid4 comes from os.urandom: unguessable, so the key works as a capability."""
    return str(uuid.uuid4())


def find(runs_dir: Path, key: str) -> RunFolder:
    """The run folder of `key`; anything that is not a well-formed key is unknown."""
    if not KEY_RE.fullmatch(key):
        raise NotFound("unknown run key")
    folder = RunFolder(run_path(runs_dir, key))
    if not folder.request_file.is_file():
        raise NotFound("unknown run key")
    return folder


def staging_dir(runs_dir: Path) -> Path:
    path = runs_dir / STAGING / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def publish(staging: Path, runs_dir: Path, key: str) -> RunFolder:
    """Move a fully written run folder into place in one rename."""
    target = run_path(runs_dir, key)
    staging.rename(target)
    return RunFolder(target)


def check_files_order(order: tuple[str, ...], files: list[UploadedFile]) -> None:
    unlisted = sorted({f.name for f in files} - set(order))
    if unlisted:
        raise InvalidParameter("files_order must name every uploaded file",
                               [f"not in files_order: {n!r}" for n in unlisted])


# Names the workflow keeps for itself in work/: Snakemake's metadata (read by the
# Snakemake on the host), and the name of the old exit record. No upload plants them.
RESERVED = frozenset({".snakemake", ".command_exit"})


@dataclass
class _Budget:
    """What all the zips of one request may still unpack (bytes, entries), and
    the folders they make so far (a folder counts once, however many zips and
    entries imply it)."""

    bytes: int
    entries: int
    max_folders: int
    folders: set[str]


def treat_inputs(work: Path, order: tuple[str, ...], files: list[UploadedFile],
                 limits: LimitsConfig) -> None:
    """Copy the uploads into `work` in the given order (a later copy overwrites),
    unzipping each zip file after copying it. What the file system refuses of
    the uploads is the request's error (400, 413, 507), never the service's."""
    work.mkdir(parents=True, exist_ok=True)
    try:
        _treat_inputs(work, order, files, limits)
    except OSError as e:
        mapped = _upload_error(e)
        if mapped is None:
            raise  # not the upload's doing: the service's error, logged as such
        raise mapped from e


def _upload_error(error: OSError) -> WsError | None:
    more = [error.strerror] if error.strerror else []
    if error.errno in _FULL:
        return StorageFull("no room left for the uploaded files", more)
    if error.errno in _TOO_LARGE_FOR_FILE_SYSTEM:
        return TooLarge("the uploaded files are more than the file system takes", more)
    if error.errno in _REFUSED_BY_FILE_SYSTEM:
        return InvalidParameter("the uploaded files cannot be written as they are named",
                                more)
    return None


def _treat_inputs(work: Path, order: tuple[str, ...], files: list[UploadedFile],
                  limits: LimitsConfig) -> None:
    by_name: dict[str, list[UploadedFile]] = {}
    for f in files:
        by_name.setdefault(f.name, []).append(f)
    # The limits bound the whole request, not each zip: 100 zips of 500 MB each
    # would otherwise be fine.
    budget = _Budget(limits.max_unzipped_bytes, limits.max_zip_entries,
                     limits.max_upload_folders, set())
    for name in order:
        if name in RESERVED:
            raise InvalidParameter(f"{name!r} is a name the workflow keeps for itself",
                                   [f"reserved: {', '.join(sorted(RESERVED))}"])
        for upload in by_name[name]:
            dest = work / name
            if dest.is_symlink() or dest.is_dir():
                raise InvalidParameter(f"{name!r} would replace a folder or link made by an "
                                       "earlier zip")
            shutil.copyfile(upload.path, dest)
            if zipfile.is_zipfile(dest):
                _unzip(dest, work, budget)


def _unzip(archive: Path, work: Path, budget: _Budget) -> None:
    try:
        with zipfile.ZipFile(archive) as z:
            members = z.infolist()
            _check_members(archive.name, members, budget)
            for m in members:
                target = work.joinpath(*m.filename.rstrip("/").split("/"))
                try:
                    if m.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError) as e:
                    raise InvalidParameter(f"zip {archive.name!r}: {m.filename!r} needs a "
                                           "folder where a file is") from e
                if target.is_symlink() or target.is_dir():
                    raise InvalidParameter(f"zip {archive.name!r}: {m.filename!r} would "
                                           "replace a folder or link")
                with z.open(m) as src, target.open("wb") as out:
                    _copy_bounded(src, out, m.file_size, archive.name, budget)
    # What a damaged, encrypted or exotic zip raises while being read.
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            UnicodeDecodeError) as e:
        raise InvalidParameter(f"zip {archive.name!r} cannot be read", [str(e)]) from e


def _check_members(zip_name: str, members: list[zipfile.ZipInfo], budget: _Budget) -> None:
    budget.entries -= len(members)
    if budget.entries < 0:
        raise TooLarge(f"zip {zip_name!r}: the request's zips have more than the "
                       "allowed number of entries")
    total = 0
    for m in members:
        name = m.filename
        parts = name.rstrip("/").split("/")
        if len(name.encode()) > MAX_ENTRY_PATH_BYTES:
            raise InvalidParameter(f"zip {zip_name!r}: entry {name[:80]!r}... has a path "
                                   f"of {len(name.encode())} bytes",
                                   [f"at most {MAX_ENTRY_PATH_BYTES} bytes a path, 255 a name"])
        if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
            raise InvalidParameter(f"zip {zip_name!r}: entry {name!r} leaves its folder",
                                   ["absolute paths and '..' are refused"])
        for p in parts:
            check_file_name(p)
        _count_folders(zip_name, parts if m.is_dir() else parts[:-1], budget)
        if parts[0] in RESERVED:
            raise InvalidParameter(f"zip {zip_name!r}: entry {name!r} uses a name the "
                                   "workflow keeps for itself")
        if stat.S_ISLNK(m.external_attr >> 16):
            raise InvalidParameter(f"zip {zip_name!r}: entry {name!r} is a symbolic link")
        total += m.file_size
        if total > budget.bytes:
            raise TooLarge(f"zip {zip_name!r}: the request's zips unpack to more than "
                           "the allowed size")


def _count_folders(zip_name: str, folders: list[str], budget: _Budget) -> None:
    """Count the folders an entry makes: each of its parents, not only those the
    zip lists (a few entries with deep paths would make tens of thousands)."""
    for depth in range(1, len(folders) + 1):
        budget.folders.add("/".join(folders[:depth]))
        if len(budget.folders) > budget.max_folders:
            raise TooLarge(f"zip {zip_name!r}: the request's zips make more than "
                           f"{budget.max_folders} folders")


def _copy_bounded(src: IO[bytes], out: IO[bytes], declared: int, zip_name: str,
                  budget: _Budget) -> None:
    # Never trust the declared size of an entry: count what really comes out.
    written = 0
    while True:
        chunk = src.read(256 * 1024)
        if not chunk:
            return
        written += len(chunk)
        budget.bytes -= len(chunk)
        if written > declared or budget.bytes < 0:
            raise TooLarge(f"zip {zip_name!r} has an entry larger than it declares")
        out.write(chunk)

