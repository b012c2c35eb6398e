"""Where a task's files may be: container paths (absolute, plain, none of the
system's folders) and file:// URLs (only under the caller's roots: links
resolved in identity mode "service", the path as written in mode "unix", where
the job resolves it as the user). Pure but for realpath and stat of the URLs'
paths in mode "service"."""

from __future__ import annotations

import os
import posixpath
import re
import stat
from urllib.parse import unquote, urlsplit

from service.core.errors import AccessDenied, InvalidParameter

# Container paths go into Apptainer's --bind (where ':' and ',' separate) and onto
# the host under the task's tree: letters, digits and a few safe signs only.
CONTAINER_PATH_RE = re.compile(r"/[A-Za-z0-9._+@=~/-]*", re.ASCII)
# The container's own system, Apptainer's, and the task's home: never bound over.
SYSTEM_PATHS = ("/proc", "/sys", "/etc", "/usr", "/dev", "/bin", "/sbin", "/lib",
                "/lib32", "/lib64", "/libx32", "/boot", "/run", "/var/run",
                "/.singularity.d", "/.exec", "/.run", "/.shell", "/.test",
                "/singularity", "/environment")
HOME = "/home/tes"  # the executors' $HOME, a folder of the task's own
RESERVED = (*SYSTEM_PATHS, HOME)
OTHER_SCHEMES_HINT = ("this ws has no object storage: give inputs as content or "
                      "file:// URLs under your roots (GET /ga4gh/tes/v1/service-info)")


def under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def container_path(what: str, value: str) -> str:
    """`value` as a plain absolute container path (a trailing / dropped); 400 for
    anything else, with the reason."""
    if not value.startswith("/"):
        raise InvalidParameter(f"{what} {value!r} is not an absolute path",
                               ["container paths must start with /"])
    text = value.rstrip("/") or "/"
    if not CONTAINER_PATH_RE.fullmatch(text):
        raise InvalidParameter(f"{what} {value!r} holds characters a container path may "
                               "not", ["allowed: letters, digits and . _ + @ = ~ / -"])
    if any(part in (".", "..") for part in text.split("/")) or "//" in text:
        raise InvalidParameter(f"{what} {value!r} is not a plain path",
                               ["no . or .. parts, no //"])
    if text == "/":
        raise InvalidParameter(f"{what} may not be /")
    for reserved in RESERVED:
        if under(text, reserved) or under(reserved, text):
            raise InvalidParameter(f"{what} {value!r} is a system path",
                                   [f"{reserved} and what holds it are the container's "
                                    "own: use a folder such as /data"])
    return text


def parent(path: str) -> str:
    folder = posixpath.dirname(path)
    if folder == "/":
        raise InvalidParameter(f"{path!r} is directly in /",
                               [f"put it in a folder, e.g. /data{path}"])
    return folder


def url_path(what: str, url: str) -> str:
    """The local path of a file:// URL (or a bare absolute path, which TES allows);
    400 for any other scheme or a remote host."""
    if "\x00" in url:
        raise InvalidParameter(f"{what} holds a NUL character")
    if url.startswith("/"):
        path = url
    else:
        parts = urlsplit(url)
        if parts.scheme != "file":
            scheme = parts.scheme or "no scheme"
            raise InvalidParameter(f"{what} {url!r}: {scheme} is not supported",
                                   [OTHER_SCHEMES_HINT])
        if parts.netloc not in ("", "localhost"):
            raise InvalidParameter(f"{what} {url!r} names a host", [
                "file:// URLs are this cluster's files: file:///path"])
        if parts.query or parts.fragment:
            raise InvalidParameter(f"{what} {url!r} has a query or fragment")
        path = unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise InvalidParameter(f"{what} {url!r} is not an absolute file path")
    return path


def real_roots(roots: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(os.path.realpath(r) for r in roots)


def inside_roots(what: str, path: str, roots: tuple[str, ...]) -> str:
    """`path` with every link resolved, if that is under one of `roots` (resolved
    too); 403 otherwise, before anything runs."""
    if not roots:
        raise AccessDenied(f"{what}: you have no file:// roots", [
            "an administrator gives them (tes.file_roots); use content inputs meanwhile"])
    real = os.path.realpath(path)
    if not any(under(real, root) for root in real_roots(roots)):
        raise AccessDenied(f"{what} {path!r} is outside your file:// roots",
                           [f"your roots: {', '.join(roots)}",
                            "links are followed before this check"])
    return real


def plain_inside_roots(what: str, path: str, roots: tuple[str, ...]) -> str:
    """Identity mode "unix": `path` as written (no . or .. parts, no //) if it is
    under one of `roots` as written; 403 otherwise. The service account looks at
    no file of the user's: the job, as the user, resolves links and checks again
    (runner.py), and reads and writes with the user's own permissions only."""
    if not roots:
        raise AccessDenied(f"{what}: you have no file:// roots", [
            "an administrator gives them (tes.file_roots); use content inputs meanwhile"])
    text = path.rstrip("/") or "/"
    if "//" in text or any(part in (".", "..") for part in text.split("/")):
        raise InvalidParameter(f"{what} {path!r} is not a plain path",
                               ["no . or .. parts, no //"])
    if not any(under(text, root.rstrip("/") or "/") for root in roots):
        raise AccessDenied(f"{what} {path!r} is outside your file:// roots",
                           [f"your roots: {', '.join(roots)}"])
    return text


def check_input_source(what: str, real: str, kind: str) -> None:
    """The input exists now, and is what its type says (400 otherwise)."""
    try:
        info = os.stat(real)
    except OSError:
        raise InvalidParameter(f"{what} does not exist (or cannot be read)") from None
    wanted = stat.S_ISDIR if kind == "DIRECTORY" else stat.S_ISREG
    if not wanted(info.st_mode):
        raise InvalidParameter(f"{what} is not a {'folder' if kind == 'DIRECTORY' else 'file'}",
                               ["type DIRECTORY for a folder, FILE (the default) for a file"])
