"""How a prepared run folder reaches Slurm: the one swappable piece.

Today: one `sbatch` of the run's job.sh, Snakemake running inside the
allocation. A later submitter (Snakemake kept warm on the login node with an
executor plugin of ws's own) only has to honour the same interface."""

from __future__ import annotations

import logging
from typing import Protocol

from service.cluster import slurm
from service.core.errors import ClusterUnavailable

log = logging.getLogger(__name__)


class Submitter(Protocol):
    async def submit(self, job: slurm.SbatchJob) -> int:
        """Submit and return the Slurm job id; ClusterUnavailable if Slurm refuses."""
        ...


class SbatchSubmitter:
    async def submit(self, job: slurm.SbatchJob) -> int:
        result = await slurm.run(slurm.sbatch_command(job))
        if result.returncode != 0:
            log.warning("sbatch failed (%s): %s", result.returncode, result.stderr.strip())
            raise ClusterUnavailable("the cluster did not accept the job",
                                     [result.stderr.strip()[-500:]])
        try:
            return slurm.parse_sbatch(result.stdout)
        except (ValueError, IndexError) as e:
            raise ClusterUnavailable("sbatch gave no job id", [result.stdout[-500:]]) from e
