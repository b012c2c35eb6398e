"""The run folder: layout, creation from a staging folder, safe input treatment.

A run folder is the record of truth of a run:

    <runs_dir>/<key>/
        request.json      who asked what (RunRequest, owner, software, number)
        state.json        the latest known state (written atomically)
        Snakefile, rules/, schemas/, config.yaml, profiles/default/   the workflow
        job.sh            what Slurm (or the local runner) executes
        status/           exit records written by job.sh
        logs/             Snakemake's and Slurm's logs
        work/             the user's files, stdout.txt, stderr.txt: the only
                          folder the container sees
"""

from __future__ import annotations

import re
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from service.config import LimitsConfig
from service.errors import InvalidParameter, NotFound, TooLarge
from service.web.params import UploadedFile, check_file_name

KEY_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STAGING = ".staging"


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def request_file(self) -> Path:
        return self.path / "request.json"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

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
    def command_exit(self) -> Path:
        return self.work / ".command_exit"

    @property
    def snakemake_exit(self) -> Path:
        return self.status / "snakemake.exit"

    @property
    def download_file(self) -> Path:
        return self.path / "download.json"


def new_key() -> str:
    """uuid4 comes from os.urandom: unguessable, so the key works as a capability."""
    return str(uuid.uuid4())


def find(runs_dir: Path, key: str) -> RunFolder:
    """The run folder of `key`; anything that is not a well-formed key is unknown."""
    if not KEY_RE.match(key):
        raise NotFound("unknown run key")
    folder = RunFolder(runs_dir / key)
    if not folder.request_file.is_file():
        raise NotFound("unknown run key")
    return folder


def staging_dir(runs_dir: Path) -> Path:
    path = runs_dir / STAGING / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def publish(staging: Path, runs_dir: Path, key: str) -> RunFolder:
    """Move a fully written run folder into place in one rename."""
    target = runs_dir / key
    staging.rename(target)
    return RunFolder(target)


def check_files_order(order: tuple[str, ...], files: list[UploadedFile]) -> None:
    unlisted = sorted({f.name for f in files} - set(order))
    if unlisted:
        raise InvalidParameter("files_order must name every uploaded file",
                               [f"not in files_order: {n!r}" for n in unlisted])


def treat_inputs(work: Path, order: tuple[str, ...], files: list[UploadedFile],
                 limits: LimitsConfig) -> None:
    """Copy the uploads into `work` in the given order (a later copy overwrites),
    unzipping each zip file after copying it."""
    work.mkdir(parents=True, exist_ok=True)
    by_name: dict[str, list[UploadedFile]] = {}
    for f in files:
        by_name.setdefault(f.name, []).append(f)
    for name in order:
        for upload in by_name[name]:
            dest = work / name
            if dest.is_symlink() or dest.is_dir():
                raise InvalidParameter(f"{name!r} would replace a folder or link made by an "
                                       "earlier zip")
            shutil.copyfile(upload.path, dest)
            if zipfile.is_zipfile(dest):
                _unzip(dest, work, limits)


def _unzip(archive: Path, work: Path, limits: LimitsConfig) -> None:
    try:
        with zipfile.ZipFile(archive) as z:
            members = z.infolist()
            _check_members(archive.name, members, limits)
            for m in members:
                target = work.joinpath(*m.filename.rstrip("/").split("/"))
                if m.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_symlink() or target.is_dir():
                    raise InvalidParameter(f"zip {archive.name!r}: {m.filename!r} would "
                                           "replace a folder or link")
                with z.open(m) as src, target.open("wb") as out:
                    _copy_bounded(src, out, m.file_size, archive.name)
    except zipfile.BadZipFile as e:
        raise InvalidParameter(f"zip {archive.name!r} cannot be read", [str(e)]) from e


def _check_members(zip_name: str, members: list[zipfile.ZipInfo], limits: LimitsConfig) -> None:
    if len(members) > limits.max_zip_entries:
        raise TooLarge(f"zip {zip_name!r} has more than {limits.max_zip_entries} entries")
    total = 0
    for m in members:
        name = m.filename
        parts = name.rstrip("/").split("/")
        if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
            raise InvalidParameter(f"zip {zip_name!r}: entry {name!r} leaves its folder",
                                   ["absolute paths and '..' are refused"])
        for p in parts:
            check_file_name(p)
        if stat.S_ISLNK(m.external_attr >> 16):
            raise InvalidParameter(f"zip {zip_name!r}: entry {name!r} is a symbolic link")
        total += m.file_size
        if total > limits.max_unzipped_bytes:
            raise TooLarge(f"zip {zip_name!r} unpacks to more than "
                           f"{limits.max_unzipped_bytes} bytes")


def _copy_bounded(src: IO[bytes], out: IO[bytes], declared: int, zip_name: str) -> None:
    # Never trust the declared size of an entry: count what really comes out.
    written = 0
    while True:
        chunk = src.read(256 * 1024)
        if not chunk:
            return
        written += len(chunk)
        if written > declared:
            raise TooLarge(f"zip {zip_name!r} has an entry larger than it declares")
        out.write(chunk)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
