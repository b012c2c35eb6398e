"""Identity mode "unix": what a user's run made unreadable to the service, handed
over as the user (#20, "Files").

The run folder is the user's; the service reads it through a group ACL, which a
`chmod 600` of a file or `chmod 700` of a folder narrows (the mask). What it
cannot read, it asks for: `sudo -n -u USER ws-as-user export RUN_ID` writes the
run folder as a tar stream to its stdout, as the user (regular files and
folders only, walked without following a link, bounded). The service reads that
stream as hostile: only regular files and folders with plain relative names
(no absolute path, no `.` or `..` step, no backslash), within the same bounds
as the program's. Nothing is extracted: what an answer needs is one file, the
run's stdout.txt copied out of the stream, or a zip made from it, written in a
private folder of the service's (state_dir/exports/<uuid>, 0700) or where the
direct read writes its zip, and served from its descriptor once the folder is
removed. It costs a `sudo` and a read of the whole run folder as the user; the
direct read stays the fast path and is tried first."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service.accounts.as_user import MAX_SAID, AsUser, AsUserFailed
from service.core.config import Config
from service.core.errors import ClusterUnavailable, TooLarge

EXPORTS = "exports"  # in state_dir
# ws-as-user's own bounds of `export` (MAX_EXPORT_BYTES, MAX_EXPORT_ENTRIES):
# the stream is cut off beyond them whatever the program says.
MAX_BYTES = 64 * 1024**3
MAX_ENTRIES = 1_000_000
MAX_NAME_BYTES = 4096
STDOUT = "work/stdout.txt"
WAIT_S = 60.0  # for the program to end once its stream is closed
_NEW_FILE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # a zip cannot say earlier: a run may `touch -d 1970`


class HandoverFailed(Exception):
    """The stream broke a rule (bounds); or the program failed."""


def plain_name(name: str) -> str | None:
    """`name` if it is a plain relative path of the run folder, else None."""
    if not name or len(name.encode(errors="surrogateescape")) > MAX_NAME_BYTES:
        return None
    if name.startswith("/") or "\\" in name or "\0" in name:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return name


def members(tar: tarfile.TarFile, max_bytes: int = MAX_BYTES,
            max_entries: int = MAX_ENTRIES) -> Iterator[tuple[str, tarfile.TarInfo]]:
    """The stream's folders and regular files with plain names, in order; links,
    devices, FIFOs and odd names are skipped. HandoverFailed beyond the bounds."""
    entries = total = 0
    for member in tar:
        entries += 1
        if entries > max_entries:
            raise HandoverFailed(f"the run folder has more than {max_entries} entries")
        name = plain_name(member.name)
        if name is None or not (member.isreg() or member.isdir()):
            continue
        if member.isreg():
            total += member.size
            if total > max_bytes:
                raise HandoverFailed(f"the run folder holds more than {max_bytes} bytes")
        yield name, member


def copy_stdout(tar: tarfile.TarFile, out: BinaryIO, limit: int | None) -> bool:
    """The stream's work/stdout.txt (a regular file) copied to `out`; whether there
    was one. TooLarge above `limit` bytes (nothing copied)."""
    for name, member in members(tar):
        if name != STDOUT or not member.isreg():
            continue
        if limit is not None and member.size > limit:
            raise TooLarge(f"stdout is over {limit} bytes: too large for this format",
                           ["ask for returned_type stdout.txt or run.zip"])
        src = tar.extractfile(member)
        assert src is not None  # a regular file's
        shutil.copyfileobj(src, out, 256 * 1024)
        return True
    return False


def zip_stream(tar: tarfile.TarFile, out: BinaryIO, top: str) -> None:
    """The stream's folders and files as a zip on `out`, below the folder `top`."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, member in members(tar):
            if member.isdir():
                continue  # implied by the files' names, as in results.zip_folder
            when = max(_ZIP_EPOCH, time.localtime(member.mtime)[:6])
            info = zipfile.ZipInfo(f"{top}/{name}", when)
            info.external_attr = (stat.S_IFREG | (member.mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.file_size = member.size
            src = tar.extractfile(member)
            assert src is not None
            with z.open(info, "w") as dest:
                shutil.copyfileobj(src, dest, 256 * 1024)


def whose(path: Path) -> tuple[str, str]:
    """(the Unix user, the run folder's name) of a run folder of unix mode:
    identity.runs_dir/USER/RUN_ID (placement.UnixPlacement)."""
    return path.parent.name, path.name


@dataclass(frozen=True)
class Handover:
    as_user: AsUser
    exports_dir: Path  # state_dir/exports: the service's alone

    @contextmanager
    def _private(self) -> Iterator[Path]:
        """A new folder of the service's alone, removed afterwards."""
        self.exports_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.exports_dir / uuid.uuid4().hex
        path.mkdir(mode=0o700)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    @contextmanager
    def _export(self, run: Path, private: Path, whole: bool) -> Iterator[tarfile.TarFile]:
        """The tar stream of `ws-as-user export`, as the run's user. `whole`: the
        caller reads all of it, and the program must then have exited 0."""
        user, run_id = whose(run)
        broken = ""
        fd = os.open(private / "said", _NEW_FILE, 0o600)
        with os.fdopen(fd, "w+b") as said:
            # stderr to a file: a pipe left unread could stall the program.
            with subprocess.Popen(self.as_user.argv(user, "export", run_id),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=said) as proc:
                assert proc.stdout is not None
                try:
                    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                        yield tar
                except tarfile.TarError as e:
                    broken = f"; not a whole tar stream ({e})"
                finally:
                    proc.stdout.close()  # stops a program not read to the end
                    try:
                        code = proc.wait(WAIT_S)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        raise
            said.seek(0)
            words = said.read(MAX_SAID * 2).decode(errors="replace").strip()
        if broken or (whole and code != 0):
            raise HandoverFailed(f"ws-as-user export exited {code}: "
                                 f"{words[-MAX_SAID:]}{broken}")

    def stdout(self, run: Path, limit: int | None = None) -> BinaryIO | None:
        """The run's work/stdout.txt as handed over by its user, opened for reading
        (None: it left none, or a link). Blocking: call it in a thread."""
        with self._private() as private, _failures():
            fd = os.open(private / "stdout.txt", _NEW_FILE, 0o600)
            out = os.fdopen(fd, "w+b")
            try:
                with self._export(run, private, whole=False) as tar:
                    found = copy_stdout(tar, out, limit)
                if not found:
                    out.close()
                    return None
                out.seek(0)
                return out  # its folder goes: the descriptor stays
            except BaseException:
                out.close()
                raise

    def zip_to(self, run: Path, top: str, dest: Path) -> None:
        """The run folder as handed over by its user, zipped below `top` into the
        new file `dest` (a folder of the service's). Blocking."""
        with self._private() as private, _failures():
            fd = os.open(dest, _NEW_FILE, 0o600)
            with os.fdopen(fd, "w+b") as out, \
                    self._export(run, private, whole=True) as tar:
                zip_stream(tar, out, top)


@contextmanager
def _failures() -> Iterator[None]:
    try:
        yield
    except (HandoverFailed, AsUserFailed, subprocess.SubprocessError) as e:
        raise ClusterUnavailable("the run's files could not be handed over by its Unix "
                                 "user", [str(e)[-500:]]) from e


def handover_for(config: Config) -> Handover | None:
    """How the service reads what it cannot of a run folder: in mode "unix", as
    the user; in mode "service" every file is the service's own (None)."""
    if not config.identity.unix:
        return None
    return Handover(AsUser(config.identity.program), config.state_dir / EXPORTS)
