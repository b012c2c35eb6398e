"""Building the Singularity image (SIF) of a docker-type container, at install
time: runs always use a SIF, never Docker."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from service.core.errors import InvalidParameter, WsError


class ImageBuildFailed(WsError):
    """apptainer could not build the image."""


RUNTIMES = ("apptainer", "singularity")


def container_runtime(configured: str) -> str:
    """The runtime command: the configured one, else whichever of Apptainer and
    SingularityCE is on PATH (both take the same build and exec options)."""
    if configured:
        return configured
    found = next((name for name in RUNTIMES if shutil.which(name)), None)
    if found is None:
        raise ImageBuildFailed("neither apptainer nor singularity is on PATH",
                               ["install one, or set `apptainer` in the config"])
    return found


def build_argv(apptainer: str, archive: Path, image: Path) -> list[str]:
    # -s: the build log goes to the caller only on failure (captured below).
    return [apptainer, "-s", "build", "--force", str(image), f"docker-archive:{archive}"]


def build_sif(apptainer: str, archive: Path, image: Path, rebuild: bool = False) -> bool:
    """Build `image` from the `docker save` archive, unless it exists and `rebuild`
    is false. True if it was built."""
    apptainer = container_runtime(apptainer)
    image, archive = image.resolve(), archive.resolve()
    if image.exists() and not rebuild:
        return False
    if not archive.is_file():
        raise InvalidParameter(f"docker archive {str(archive)!r} is not an existing file")
    image.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(build_argv(apptainer, archive, image), capture_output=True,
                              text=True, check=False)
    except OSError as e:
        raise ImageBuildFailed(f"cannot run {apptainer!r}: {e}") from e
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-20:]
        raise ImageBuildFailed(f"apptainer build failed (exit {done.returncode})", tail)
    if not image.is_file():
        raise ImageBuildFailed(f"apptainer build left no image at {str(image)!r}")
    return True
