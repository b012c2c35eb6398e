"""The [tes] section of the configuration (service/core/config.py reads it, and
raises ConfigError for its problems): the GA4GH TES front door, service/tes/."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_CONTENT_BYTES = 128 * 1024  # TES asks servers to take at least this much


@dataclass(frozen=True)
class TesConfig:
    # Folders under which a user's tasks may read file:// inputs and write file://
    # outputs, "{user}" standing for the caller's name ("/srv/tes/{user}"), and in
    # identity mode "unix" "{unix_user}" for their Unix user's ("/home/{unix_user}").
    # Mode "service": checked with links resolved, at POST and again in the job.
    # Mode "unix": at POST as written, in the job (as the user) links resolved;
    # the job reads and writes with the user's own permissions. Empty: no file://.
    file_roots: tuple[str, ...] = ()
    # Executor images TES clients name, as registered softwares: "alpine=sw_example".
    # Any other image must be a software's own name.
    image_aliases: tuple[str, ...] = ()
    # Each input's `content`, in bytes (413 beyond).
    max_content_bytes: int = MIN_CONTENT_BYTES
    # How much of the end of each executor's stdout and stderr a FULL view shows.
    log_tail_bytes: int = 10 * 1024

    def problems(self, own: Mapping[str, Path]) -> list[str]:
        """What is wrong with the section; `own`: the service's folders, which no
        root (up to its {user}) may hold or lie in."""
        found = []
        for root in self.file_roots:
            plain = root.replace("{user}", "user").replace("{unix_user}", "user")
            if (not plain.startswith("/") or plain == "/" or "//" in plain
                    or any(p in ("..", ".") for p in plain.split("/"))
                    or any(c in root.replace("{user}", "").replace("{unix_user}", "")
                           for c in "{}")):
                found.append(f"tes.file_roots: {root!r} must be a plain absolute path "
                             "other than /, with {user} for the user's name ({unix_user}"
                             " for their Unix user's)")
                continue
            prefix = os.path.realpath(root.split("{")[0].rstrip("/") or "/")
            for name, folder in own.items():
                real = os.path.realpath(folder)
                if prefix == real or real.startswith(prefix.rstrip("/") + "/") \
                        or prefix.startswith(real + "/"):
                    found.append(f"tes.file_roots: {root!r} overlaps {name} ({folder}): "
                                 "tasks could reach the service's own files")
        for alias in self.image_aliases:
            name, eq, software = alias.partition("=")
            if not eq or not name.strip() or not software.strip():
                found.append(f"tes.image_aliases: {alias!r} is not image=software")
        if self.max_content_bytes < MIN_CONTENT_BYTES:
            found.append(f"tes.max_content_bytes must be at least {MIN_CONTENT_BYTES} "
                         "(TES asks for 128 KiB)")
        if self.log_tail_bytes < 0:
            found.append("tes.log_tail_bytes must be 0 or more")
        return found

    def aliases(self) -> dict[str, str]:
        return {name.strip(): software.strip() for name, _, software in
                (alias.partition("=") for alias in self.image_aliases)}

    def roots_of(self, user: str, unix_user: str | None = None) -> tuple[str, ...]:
        """The user's roots; one naming {unix_user} only when they have one (mode
        "unix"): none of it is theirs otherwise."""
        return tuple(root.replace("{user}", user).replace("{unix_user}", unix_user or "")
                     for root in self.file_roots
                     if unix_user is not None or "{unix_user}" not in root)
