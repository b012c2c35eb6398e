"""The pieces identity mode "unix" puts in place of the service mode's: where run
folders are (each mapped user's own, placement.UnixPlacement) and how their jobs
reach Slurm (as the user, as_user_backend.AsUserBackend). In mode "service",
the service's own, unchanged."""

from __future__ import annotations

from pathlib import Path

from service.accounts.as_user import AsUser
from service.accounts.users import get_user
from service.cluster.as_user_backend import AsUserBackend
from service.cluster.backend import ClusterBackend
from service.cluster.watch import marks_dir
from service.core.config import Config
from service.core.store import Store
from service.runs.ledger import Ledger
from service.runs.placement import Placement, ServicePlacement, UnixPlacement

META_FOLDER = "unix-runs"  # in state_dir: the service's own files of each run


def placement_for(config: Config, store: Store) -> Placement:
    if not config.identity.unix:
        return ServicePlacement(config.runs_dir)

    def unix_user_of(key: str) -> str | None:
        entry = store.get_run(key)
        account = get_user(store, entry.owner) if entry else None
        return account.unix_user if account else None

    return UnixPlacement(config.identity.runs_dir, config.state_dir / META_FOLDER,
                         unix_user_of, AsUser(config.identity.program))


def backend_for_mode(config: Config, backend: ClusterBackend) -> ClusterBackend:
    if not config.identity.unix:
        return backend
    return AsUserBackend(backend, AsUser(config.identity.program))


def end_marks_for(config: Config) -> Path:
    """The folder the runs' jobs leave their end marks in: the service's own, or,
    in mode "unix", the one every mapped user's jobs may write to."""
    return config.identity.end_marks if config.identity.unix else marks_dir(config.runs_dir)


def users_of_live_runs(ledger: Ledger) -> tuple[str, ...]:
    """The Unix users whose cluster runs are live: whose jobs Slurm is asked about
    (squeue's --me would show the service account's own, none in this mode)."""
    placement = ledger.placement
    if not isinstance(placement, UnixPlacement):
        return ()
    return tuple(sorted({user for key in ledger.live("cluster")
                         if (user := placement.unix_user(key))}))
