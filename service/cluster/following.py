"""What the poller keeps of each live run it follows, and what Slurm's answers
mean for the watcher (watch.py): a run whose jobs are all PENDING has nothing
to look at; one whose job runs is looked at, often while its job is young."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.cluster import slurm
from service.cluster.watch import Watched
from service.runs.state import RunState


@dataclass
class Following:
    since: float  # when the run began (young runs are asked about more often)
    last_seen: float  # when Slurm last showed a job of the run
    folder_name: str  # its run folder's name: its end marks' (watch.py)
    status: Path  # its status/ folder
    followed_at: float  # monotonic, when the poller began to follow it
    completed_since: float | None = None  # all over, exit records awaited
    # Slurm's last answer had every job not over PENDING: nothing to look at.
    pending: bool = False
    running_since: float | None = None  # monotonic, when Slurm first showed it running


def noted(following: Following, state: RunState, infos: Mapping[int, slurm.JobInfo],
          now: float) -> bool:
    """Slurm's answer about the run's jobs noted; whether the watcher's plan changed."""
    going = [i.state for j in state.job_ids if (i := infos.get(j)) and not i.final]
    pending = (len(infos) == len(state.job_ids) and bool(going)
               and all(word == "PENDING" for word in going))
    changed = pending != following.pending
    following.pending = pending
    if following.running_since is None and any(w != "PENDING" for w in going):
        following.running_since = now
        changed = True
    return changed


def watch_plan(following: Mapping[str, Following]
               ) -> tuple[dict[str, str], dict[str, Watched]]:
    """What the watcher looks at: every run's end marks (by its folder's name), the
    status/ of the runs not known PENDING (their job runs, or Slurm has not said)."""
    return ({f.folder_name: k for k, f in following.items()},
            {k: Watched(f.status, f.followed_at if f.running_since is None
                        else f.running_since)
             for k, f in following.items() if not f.pending})
