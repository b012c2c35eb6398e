"""The zip of a whole run folder (run.zip, GET /content/), read directly or, in
identity mode "unix" where the run closed some of it to the service, as its
user hands it over (handover.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
import zipfile
from pathlib import Path

from service.core.errors import NotFound
from service.runs.folder import KEY_RE, RunFolder
from service.runs.handover import Handover
from service.runs.record import load_record
from service.runs.safe_open import open_regular


def zip_top(folder: RunFolder) -> str:
    """The zip's top folder: the run's key, which the client knows, not the
    folder's name."""
    try:
        key = load_record(folder).key
    except NotFound:
        key = folder.path.name
    return key if KEY_RE.fullmatch(key) else folder.path.name


def _denied(error: OSError) -> None:
    if isinstance(error, PermissionError):
        raise error


def zip_folder(folder: RunFolder, dest: Path, denied: bool = False) -> None:
    """Zip the whole run folder (links are stored as the names they point to,
    never followed, so nothing from outside the folder gets in). `denied`:
    PermissionError at the first file or folder closed to the service, instead
    of leaving it out."""
    top = str(folder.path)
    key = zip_top(folder)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for root, dirs, files, dir_fd in os.fwalk(top, onerror=_denied if denied else None):
            dirs.sort()
            base = os.path.join(key, os.path.relpath(root, top)).removesuffix("/.")
            for name in sorted(files) + dirs:
                arcname = f"{base}/{name}"
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    info = zipfile.ZipInfo(arcname)
                    info.external_attr = 0o120777 << 16
                    with contextlib.suppress(OSError):
                        z.writestr(info, os.readlink(name, dir_fd=dir_fd))
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue  # folders are walked; FIFOs, sockets, devices skipped
                f = open_regular(name, dir_fd, denied)
                if f is None:
                    continue
                with f:
                    st = os.fstat(f.fileno())
                    when = max((1980, 1, 1, 0, 0, 0), time.localtime(st.st_mtime)[:6])
                    info = zipfile.ZipInfo(arcname, when)  # none before 1980 in a zip
                    info.external_attr = (st.st_mode & 0xFFFF) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.file_size = st.st_size
                    with z.open(info, "w") as out:
                        shutil.copyfileobj(f, out, 256 * 1024)


def make_zip(folder: RunFolder, dest: Path, handover: Handover | None = None) -> None:
    """The run folder's zip, made at `dest` (a new file): read directly, or, where
    the service may not read it all (unix mode), as handed over by its user."""
    if handover is None:
        zip_folder(folder, dest)
        return
    try:
        zip_folder(folder, dest, denied=True)
    except PermissionError:
        dest.unlink(missing_ok=True)
        handover.zip_to(folder.path, zip_top(folder), dest)
