"""What a run folder takes on disk, measured once the run has ended (a user's
quota of stored bytes sums it). Read as if hostile: links are never followed,
a file linked twice counts once, and folders the command locked (chmod 000)
are opened again, as retention does, so nothing can be hidden from the count."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service.runs import removal

BLOCK = 512  # st_blocks' unit: what is allocated counts, so a sparse file costs little


def bytes_used(folder: Path) -> int:
    """The bytes allocated to the folder's files and folders."""
    total, locked = _walk(folder)
    if locked:
        removal.give_back_rights(folder)
        total, _ = _walk(folder)
    return total


def _walk(folder: Path) -> tuple[int, bool]:
    seen: set[tuple[int, int]] = set()
    locked = False

    def refused(_: OSError) -> None:
        nonlocal locked
        locked = True

    total = 0
    for _, dirs, files, dir_fd in os.fwalk(folder, onerror=refused):
        for name in (*files, *dirs):
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if info.st_nlink > 1:
                if (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * BLOCK
    return total, locked


class Measurer:
    """Measures ended runs' folders one at a time, in a thread of its own: a walk
    of a large folder must never hold up a state write or a request."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ws-measure")
        self._pending: set[asyncio.Future[int]] = set()

    def later(self, folder: Path, then: Callable[[int], None]) -> None:
        """Measure `folder` soon, then call `then` with its bytes on the event loop.
        Without a running loop (a command), nothing: the service measures at start
        what was never measured."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        future = loop.run_in_executor(self._pool, bytes_used, folder)
        self._pending.add(future)

        def done(measured: asyncio.Future[int]) -> None:
            self._pending.discard(measured)
            if not measured.cancelled() and measured.exception() is None:
                then(measured.result())

        future.add_done_callback(done)

    async def measure(self, folder: Path) -> int:
        """The folder's bytes now, measured in the measuring thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, bytes_used, folder)

    async def idle(self) -> None:
        """Wait for the measurements under way (tests, benchmarks)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
