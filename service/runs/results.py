"""Reports and results of a run: stdout in JSON, stdout.txt, run.zip, download keys."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from service.core import atomic
from service.core.errors import NotFound, TooLarge, full_disk_is_storage_full
from service.runs.folder import RunFolder
from service.runs.handover import Handover
from service.runs.record import RunRecord
from service.runs.report_models import ClusterReport, Process, Resource
from service.runs.request import RunReport
from service.runs.run_zip import make_zip
from service.runs.safe_open import open_in_run, open_regular
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
    """A file to send, opened once (checked as it was opened, never looked up by
    its path again); a temporary one is already unlinked: its descriptor holds it."""
    file: BinaryIO
    filename: str
    content_type: str


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


def is_regular(path: Path) -> bool:
    f = open_regular(path)
    if f is None:
        return False
    f.close()
    return True


def stderr_tail(folder: RunFolder) -> str:
    f = open_in_run(folder, "work", "stderr.txt")
    if f is None:
        return ""
    with f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - STDERR_TAIL))
        return f.read().decode(errors="replace")


def open_stdout(folder: RunFolder, handover: Handover | None = None,
                limit: int | None = None) -> BinaryIO | None:
    """The command's stdout.txt opened for reading (a regular file, never a link).
    Where the service may not read it (unix mode: the run closed it), handed
    over by the run's user (`handover`; TooLarge above `limit` bytes)."""
    try:
        return open_in_run(folder, "work", "stdout.txt", denied=handover is not None)
    except PermissionError:
        assert handover is not None
        return handover.stdout(folder.path, limit)


def file_size(f: BinaryIO | None) -> int:
    return os.fstat(f.fileno()).st_size if f is not None else 0


def stdout_text(folder: RunFolder, limit: int = MAX_STDOUT_HELD) -> str:
    return read_stdout(open_stdout(folder), limit)


def read_stdout(f: BinaryIO | None, limit: int = MAX_STDOUT_HELD) -> str:
    """The command's stdout (from open_stdout: closed here), without the final
    newline: `print(9.0)` gives "9.0". TooLarge above `limit` bytes."""
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


def temp_zip(folder: RunFolder, runs_dir: Path,
             handover: Handover | None = None) -> FileResult:
    tmp_dir = runs_dir / ".staging"
    tmp_dir.mkdir(exist_ok=True)
    dest = tmp_dir / f"{uuid.uuid4().hex}.zip"
    try:
        with full_disk_is_storage_full("the disk is full: the zip cannot be made",
                                       ["retry later; the administrator has been told"]):
            make_zip(folder, dest, handover)
        zipped = dest.open("rb")
    finally:
        dest.unlink(missing_ok=True)  # an open descriptor holds it until sent
    return FileResult(zipped, "run.zip", CONTENT_TYPES["run.zip"])


def result_file(folder: RunFolder, returned_type: str, runs_dir: Path,
                handover: Handover | None = None) -> FileResult:
    if returned_type == "run.zip":
        return temp_zip(folder, runs_dir, handover)
    # Opened once, checked as it is opened: served from this descriptor.
    f = open_stdout(folder, handover)
    if f is None:
        raise NotFound("the run left no stdout.txt file",
                       ["the command may have removed or replaced it"])
    return FileResult(f, "stdout.txt", CONTENT_TYPES["stdout.txt"])


def new_download_key() -> str:
    return f"{datetime.now(UTC):%Y%m%d_%H%M%S}_{uuid.uuid4()}"


def store_download(folder: RunFolder, returned_type: str, downloads_dir: Path,
                   handover: Handover | None = None) -> str:
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
                make_zip(folder, tmp / filename, handover)
            else:
                filename = "stdout.txt"
                src = open_stdout(folder, handover)
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
    f = open_regular(files[0])  # the service's own folder: opened once all the same
    if f is None:
        raise NotFound("unknown download key")
    return FileResult(f, files[0].name, CONTENT_TYPES[files[0].name])


def download_message(base_url: str, key: str) -> dict[str, str]:
    url = f"{base_url}/api/download/?key={key}"
    return {
        "msg": f"The response content can be downloaded at : {url} *** The resource to "
               f"download the response content is 'GET download' with 'key' option (key "
               f"value : {key}) *** Keep this key value in order to be able to download "
               f"the response content later on : key={key}",
        "url": url,
    }
