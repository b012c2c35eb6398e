"""Finding a run's Slurm jobs by name: ws_slurm.named's reading, and how many runs
one question may name."""

from __future__ import annotations

from ws_slurm.named import NamedJob, jobs_of_run, jobs_of_runs, parse_named_jobs

# One squeue and one sacct per round whatever the number of runs asked about;
# more runs than this wait for the next round (their argv stays small).
MAX_RUNS_PER_QUERY = 100

__all__ = ["MAX_RUNS_PER_QUERY", "NamedJob", "jobs_of_run", "jobs_of_runs",
           "parse_named_jobs"]
