"""The hand-over of unix mode (service/runs/handover.py): a tar stream read as
hostile, bounded; nothing but plain names of regular files and folders."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from service.core.errors import TooLarge
from service.runs import handover as ho


def _tar(*members: tuple[str, bytes | None, bytes]) -> tarfile.TarFile:
    """A stream of (name, data, type) members, read back in stream mode."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            info.size = len(data or b"")
            tar.addfile(info, io.BytesIO(data) if data else None)
    raw.seek(0)
    return tarfile.open(fileobj=raw, mode="r|")


HOSTILE = [("/etc/x", b"abs", tarfile.REGTYPE), ("../up", b"up", tarfile.REGTYPE),
           ("work/../../up", b"up", tarfile.REGTYPE), ("work\\x", b"bs", tarfile.REGTYPE),
           ("work/link", None, tarfile.SYMTYPE), ("work/hard", None, tarfile.LNKTYPE),
           ("work/dev", None, tarfile.CHRTYPE), ("work/fifo", None, tarfile.FIFOTYPE),
           ("./work/dot", b"dot", tarfile.REGTYPE), ("work//x", b"x", tarfile.REGTYPE)]


@pytest.mark.parametrize("name", ["/a", "..", "a/../b", "a//b", "./a", "a/.", "", "a\\b",
                                  "a\0b", "x" * 5000])
def test_plain_name_refuses_what_could_lead_elsewhere(name: str) -> None:
    assert ho.plain_name(name) is None


def test_only_plain_regular_files_and_folders_are_read() -> None:
    tar = _tar(("work", None, tarfile.DIRTYPE), *HOSTILE,
               ("work/ok.txt", b"ok", tarfile.REGTYPE))
    assert [name for name, _ in ho.members(tar)] == ["work", "work/ok.txt"]


def test_the_bounds_cut_the_stream() -> None:
    with pytest.raises(ho.HandoverFailed, match="bytes"):
        list(ho.members(_tar(("a", b"x" * 10, tarfile.REGTYPE)), max_bytes=9))
    with pytest.raises(ho.HandoverFailed, match="entries"):
        list(ho.members(_tar(*[(f"f{i}", b"", tarfile.REGTYPE) for i in range(4)]),
                        max_entries=3))


def test_stdout_is_copied_out_bounded() -> None:
    out = io.BytesIO()
    tar = _tar(("work/stdout.txt", None, tarfile.SYMTYPE),
               ("work/stdout.txt", b"42\n", tarfile.REGTYPE))
    assert ho.copy_stdout(tar, out, 10) and out.getvalue() == b"42\n"
    assert not ho.copy_stdout(_tar(("work/stdout.txt", None, tarfile.SYMTYPE)),
                              io.BytesIO(), None)
    with pytest.raises(TooLarge):
        ho.copy_stdout(_tar(("work/stdout.txt", b"x" * 11, tarfile.REGTYPE)),
                       io.BytesIO(), 10)


def test_the_zip_holds_the_plain_files_below_the_key() -> None:
    out = io.BytesIO()
    tar = _tar(("work", None, tarfile.DIRTYPE), *HOSTILE,
               ("work/r.txt", b"45\n", tarfile.REGTYPE))
    ho.zip_stream(tar, out, "KEY")
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["KEY/work/r.txt"]
        assert z.read("KEY/work/r.txt") == b"45\n"
