"""Reports and results of a run: stdout in JSON, stdout.txt, run.zip, download keys."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service import atomic
from service.errors import NotFound
from service.runfolder import RunFolder
from service.runrecord import RunRecord
from service.runstate import NOK, RunState

DOWNLOAD_KEY_RE = re.compile(
    r"^\d{8}_\d{6}_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CONTENT_TYPES = {"stdout.txt": "text/plain; charset=utf-8", "run.zip": "application/zip"}
STDERR_TAIL = 2000


@dataclass(frozen=True)
class FileResult:
    path: Path
    filename: str
    content_type: str
    delete_after: bool = False


def cluster_report(record: RunRecord, state: RunState, identity: str) -> dict[str, Any]:
    process: dict[str, Any] = {"jobname": record.jobname, "job_id": state.job_id,
                               "latest_cr": state.latest_cr, "latest_state": state.latest_state}
    if state.cr == NOK:
        process["cause"] = state.cause
    return {"request": record.request.report(cluster=True), "rsrc": {"identity": identity},
            "process": process, "name": record.name, "cr": state.cr}


def local_report(record: RunRecord, state: RunState, folder: RunFolder) -> dict[str, Any]:
    report: dict[str, Any] = {"name": record.name,
                              "request": record.request.report(cluster=False), "cr": state.cr}
    if state.cr == NOK:
        report["cause"] = state.cause
        report["stderr"] = stderr_tail(folder)
    return report


def stderr_tail(folder: RunFolder) -> str:
    try:
        with (folder.work / "stderr.txt").open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - STDERR_TAIL))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def stdout_text(folder: RunFolder) -> str:
    """The command's stdout, without the final newline: `print(9.0)` gives "9.0"."""
    try:
        return folder.stdout.read_text(errors="replace").removesuffix("\n")
    except FileNotFoundError:
        return ""


def zip_folder(folder: RunFolder, dest: Path) -> None:
    """Zip the whole run folder (links are stored as the names they point to,
    never followed, so nothing from outside the folder gets in)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for root, dirs, files in os.walk(folder.path):
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if Path(root, d).is_symlink()]:
                path = Path(root, name)
                arcname = str(path.relative_to(folder.path.parent))
                if path.is_symlink():
                    info = zipfile.ZipInfo(arcname)
                    info.external_attr = 0o120777 << 16
                    z.writestr(info, os.readlink(path))
                elif path.is_file():
                    z.write(path, arcname)


def temp_zip(folder: RunFolder, runs_dir: Path) -> FileResult:
    tmp_dir = runs_dir / ".staging"
    tmp_dir.mkdir(exist_ok=True)
    dest = tmp_dir / f"{uuid.uuid4().hex}.zip"
    zip_folder(folder, dest)
    return FileResult(dest, "run.zip", CONTENT_TYPES["run.zip"], delete_after=True)


def result_file(folder: RunFolder, returned_type: str, runs_dir: Path) -> FileResult:
    if returned_type == "run.zip":
        return temp_zip(folder, runs_dir)
    return FileResult(folder.stdout, "stdout.txt", CONTENT_TYPES["stdout.txt"])


def new_download_key() -> str:
    return f"{datetime.now(UTC):%Y%m%d_%H%M%S}_{uuid.uuid4()}"


def store_download(folder: RunFolder, returned_type: str, downloads_dir: Path) -> str:
    """Keep the result for GET /api/download/?key=KEY; the same run always answers
    with the same key."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        return str(atomic.read_json(folder.download_file)["key"])
    key = new_download_key()
    target = downloads_dir / key
    tmp = downloads_dir / f".{key}.tmp"
    tmp.mkdir(parents=True)
    result = result_file(folder, returned_type, downloads_dir.parent)
    if result.delete_after:
        shutil.move(result.path, tmp / result.filename)
    else:
        shutil.copyfile(result.path, tmp / result.filename)
    tmp.rename(target)
    atomic.write_json(folder.download_file, {"key": key, "filename": result.filename})
    return key


def find_download(downloads_dir: Path, key: str) -> FileResult:
    if not DOWNLOAD_KEY_RE.match(key):
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
