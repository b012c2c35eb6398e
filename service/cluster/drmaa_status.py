"""The poller's job status source through DRMAA: drmaa_backend.DrmaaControl under
the status source's older interface (states() as a dict, `answered` read
after), until the poller asks a ClusterBackend."""

from __future__ import annotations

from collections.abc import Iterable

from service.cluster import slurm
from service.cluster.drmaa_backend import DrmaaControl


class DrmaaStatus:
    def __init__(self, library: str) -> None:
        self.library = library
        self.control = DrmaaControl(library)
        self.answered = False

    @property
    def queries(self) -> int:
        return self.control.queries

    async def states(self, job_ids: set[int]) -> dict[int, slurm.JobInfo]:
        answer = await self.control.states(job_ids)
        self.answered = answer.answered
        return dict(answer.known)

    async def cancel(self, job_ids: Iterable[int]) -> None:
        await self.control.cancel(job_ids)

    def close(self) -> None:
        self.control.close()
