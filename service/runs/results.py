"""Reports and results of a run: stdout in JSON, stdout.txt, run.zip, download keys."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from service.core import atomic
from service.core.errors import NotFound, TooLarge, full_disk_is_storage_full
from service.runs.folder import KEY_RE, RunFolder
from service.runs.record import RunRecord, load_record
from service.runs.report_models import ClusterReport, Process, Resource
from service.runs.request import RunReport
from service.runs.state import NOK, RunState

# fullmatch and ASCII: nothing but the key itself (no trailing newline, no other digits).
DOWNLOAD_KEY_RE = re.compile(
    r"\d{8}_\d{6}_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.ASCII)
CONTENT_TYPES = {"stdout.txt": "text/plain; charset=utf-8", "run.zip": "application/zip"}
STDERR_TAIL = 2000
# What an answer holds of stdout in memory (yaml, xml, api); JSON streams it, up
# to MAX_STDOUT_JSON_BYTES (beyond, stdout.txt or run.zip serve it as a file).
MAX_STDOUT_HELD = 1024 * 1024
MAX_STDOUT_JSON_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class FileResult:
    path: Path
    filename: str
    content_type: str
    delete_after: bool = False


def cluster_report(record: RunRecord, state: RunState, identity: str) -> dict[str, Any]:
    report = ClusterReport(
        request=RunReport(**record.request.report(cluster=True)),
        rsrc=Resource(identity=identity),
        process=Process(jobname=record.jobname, job_id=state.job_id,
                        latest_cr=state.latest_cr, latest_state=state.latest_state,
                        cause=state.cause if state.cr == NOK else None),
        name=record.name, cr=state.cr)
    data = report.model_dump()
    data["request"] = record.request.report(cluster=True)  # its own omissions
    if data["process"]["cause"] is None:
        del data["process"]["cause"]
    return data


def local_report(record: RunRecord, state: RunState, folder: RunFolder) -> dict[str, Any]:
    report: dict[str, Any] = {"name": record.name,
                              "request": record.request.report(cluster=False),
                              "cr": state.cr.value}
    if state.cr == NOK:
        report["cause"] = state.cause
        report["stderr"] = stderr_tail(folder)
    return report


# The command runs as the service's own account and may leave anything in work/:
# a link named stdout.txt pointing at the service's database, a FIFO, a folder.
# What the service reads from a run folder is therefore opened without following
# a link in its last component (O_NOFOLLOW), and only regular files are read;
# folders are walked with os.fwalk and opened relative to their descriptors, so a
# folder swapped for a link mid-walk leads nowhere either.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _open_regular(path: Path | str, dir_fd: int | None = None) -> BinaryIO | None:
    """The file opened for reading if it is a regular file (not a link), else None."""
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_in_run(folder: RunFolder, *parts: str) -> BinaryIO | None:
    """A regular file of the run folder, opened one step at a time from the run
    folder down, none of them followed if a link: in identity mode "unix" the
    user owns the folder and may swap its work/ (or the run folder itself) for a
    link to another user's, which the service could read through the group ACL."""
    try:
        fd = os.open(folder.path, _DIR_FLAGS)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            step = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = step
        return _open_regular(parts[-1], fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def is_regular(path: Path) -> bool:
    f = _open_regular(path)
    if f is None:
        return False
    f.close()
    return True


def stderr_tail(folder: RunFolder) -> str:
    f = _open_regular(folder.work / "stderr.txt")
    if f is None:
        return ""
    with f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - STDERR_TAIL))
        return f.read().decode(errors="replace")


def open_stdout(folder: RunFolder) -> BinaryIO | None:
    """The command's stdout.txt opened for reading (a regular file, never a link)."""
    return _open_in_run(folder, "work", "stdout.txt")


def stdout_size(folder: RunFolder) -> int:
    f = open_stdout(folder)
    if f is None:
        return 0
    with f:
        return os.fstat(f.fileno()).st_size


def stdout_text(folder: RunFolder, limit: int = MAX_STDOUT_HELD) -> str:
    """The command's stdout, without the final newline: `print(9.0)` gives "9.0".
    TooLarge above `limit` bytes."""
    f = open_stdout(folder)
    if f is None:
        return ""
    with f:
        # A command can print gigabytes: the service must not load them into memory
        # to put them in a JSON answer. The file itself is served in chunks.
        if os.fstat(f.fileno()).st_size > limit:
            raise TooLarge(f"stdout is over {limit} bytes: too large for this format",
                           ["ask for format=json (streamed from disk), or for "
                            "returned_type stdout.txt or run.zip"])
        return f.read().decode(errors="replace").removesuffix("\n")


def zip_folder(folder: RunFolder, dest: Path) -> None:
    """Zip the whole run folder (links are stored as the names they point to,
    never followed, so nothing from outside the folder gets in). Its top folder is
    named by the run's key, which the client knows, not by the folder's name."""
    top = str(folder.path)
    try:
        key = load_record(folder).key
    except NotFound:
        key = folder.path.name
    if not KEY_RE.fullmatch(key):
        key = folder.path.name
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for root, dirs, files, dir_fd in os.fwalk(top):
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
                f = _open_regular(name, dir_fd)
                if f is None:
                    continue
                with f:
                    st = os.fstat(f.fileno())
                    info = zipfile.ZipInfo(arcname, time.localtime(st.st_mtime)[:6])
                    info.external_attr = (st.st_mode & 0xFFFF) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.file_size = st.st_size
                    with z.open(info, "w") as out:
                        shutil.copyfileobj(f, out, 256 * 1024)


def temp_zip(folder: RunFolder, runs_dir: Path) -> FileResult:
    tmp_dir = runs_dir / ".staging"
    tmp_dir.mkdir(exist_ok=True)
    dest = tmp_dir / f"{uuid.uuid4().hex}.zip"
    try:
        with full_disk_is_storage_full("the disk is full: the zip cannot be made",
                                       ["retry later; the administrator has been told"]):
            zip_folder(folder, dest)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return FileResult(dest, "run.zip", CONTENT_TYPES["run.zip"], delete_after=True)


def result_file(folder: RunFolder, returned_type: str, runs_dir: Path) -> FileResult:
    if returned_type == "run.zip":
        return temp_zip(folder, runs_dir)
    # Results are served once the run has ended, so nothing changes the file
    # between this check and the answer.
    f = open_stdout(folder)
    if f is None:
        raise NotFound("the run left no stdout.txt file",
                       ["the command may have removed or replaced it"])
    f.close()
    return FileResult(folder.stdout, "stdout.txt", CONTENT_TYPES["stdout.txt"])


def new_download_key() -> str:
    return f"{datetime.now(UTC):%Y%m%d_%H%M%S}_{uuid.uuid4()}"


def store_download(folder: RunFolder, returned_type: str, downloads_dir: Path) -> str:
    """Keep the result for GET /api/download/?key=KEY; the same run always answers
    with the same key. The result is written in a hidden folder renamed into
    place, so a full disk leaves nothing half-written (StorageFull, 507)."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        return str(atomic.read_json(folder.download_file)["key"])
    key = new_download_key()
    target = downloads_dir / key
    tmp = downloads_dir / f".{key}.tmp"
    try:
        with full_disk_is_storage_full(
                "the disk is full: the result cannot be kept for download",
                ["retry later, or ask for todownload=no"]):
            tmp.mkdir(parents=True)
            if returned_type == "run.zip":
                filename = "run.zip"
                zip_folder(folder, tmp / filename)
            else:
                filename = "stdout.txt"
                src = open_stdout(folder)
                if src is None:
                    raise NotFound("the run left no stdout.txt file",
                                   ["the command may have removed or replaced it"])
                with src, (tmp / filename).open("wb") as out:
                    shutil.copyfileobj(src, out, 256 * 1024)
            tmp.rename(target)
            atomic.write_json(folder.download_file, {"key": key, "filename": filename})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if target.exists() and not folder.download_file.exists():
            shutil.rmtree(target, ignore_errors=True)
        raise
    return key


def find_download(downloads_dir: Path, key: str) -> FileResult:
    if not DOWNLOAD_KEY_RE.fullmatch(key):
        raise NotFound("unknown download key")
    folder = downloads_dir / key
    files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    if len(files) != 1 or files[0].name not in CONTENT_TYPES:
        raise NotFound("unknown download key")
    return FileResult(files[0], files[0].name, CONTENT_TYPES[files[0].name])


def download_message(base_url: str, key: str) -> dict[str, str]:
    url = f"{base_url}/api/download/?key={key}"
    return {
        "msg": f"The response content can be downloaded at : {url} *** The resource to "
               f"download the response content is 'GET download' with 'key' option (key "
               f"value : {key}) *** Keep this key value in order to be able to download "
               f"the response content later on : key={key}",
        "url": url,
    }
