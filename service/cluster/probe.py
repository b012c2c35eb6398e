"""Is slurmctld there? A TCP connection to it answers in well under a
millisecond, so a POST can be refused when the cluster is down (503, no run kept)
without waiting for any Slurm command, and a burst of POSTs is not serialized
behind subprocesses. Where slurmctld listens is asked once, at start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from service.cluster import slurm
from service.core.errors import ClusterUnavailable

log = logging.getLogger(__name__)
_HOST = re.compile(r"^SlurmctldHost\[0\]\s*=\s*([^\s(]+)(?:\(([^)]+)\))?", re.M)
_PORT = re.compile(r"^SlurmctldPort\s*=\s*(\d+)", re.M)


def parse_controller(config_text: str) -> tuple[str, int] | None:
    """(address, port) from `scontrol show config`."""
    host, port = _HOST.search(config_text), _PORT.search(config_text)
    if host is None or port is None:
        return None
    return host.group(2) or host.group(1), int(port.group(1))


class ControllerProbe:
    def __init__(self) -> None:
        self.controller: tuple[str, int] | None = None

    async def start(self) -> None:
        result = await slurm.run(["scontrol", "show", "config"], timeout=10)
        self.controller = parse_controller(result.stdout) if result.returncode == 0 else None
        if self.controller is None:
            log.warning("slurmctld's address unknown (scontrol show config: %s); asked "
                        "again at the next cluster run", result.stderr.strip()[-200:])

    async def check(self) -> None:
        if self.controller is None:
            await self.start()  # Slurm was down when the service started
        if self.controller is None:
            raise ClusterUnavailable("the cluster is not available: its controller does not "
                                     "answer", ["scontrol show config failed"])
        host, port = self.controller
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        except (OSError, TimeoutError) as e:
            raise ClusterUnavailable("the cluster is not available: its controller does not "
                                     "answer", [f"slurmctld at {host}:{port}: {e}"]) from e
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
