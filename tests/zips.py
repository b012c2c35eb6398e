"""Zip files made in memory for the tests of input treatment."""

from __future__ import annotations

import io
import stat
import zipfile


def make_zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    """A deflated zip of `entries`; `symlink` adds an entry that is a symbolic link
    to a file outside any run folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/var/lib/ws/.bashrc")
    return buf.getvalue()
