"""The config file's [identity] table: whose Unix account runs execute as.

A frozen dataclass like every other table, read by service.core.config.load_config
(kept in a module of its own, as config.py is at its size limit)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ws_slurm.records import END_MARKS

IDENTITY_MODES = ("service", "unix")


@dataclass(frozen=True)
class IdentityConfig:
    # "service" (every run, the service account's: the default) or "unix" (each
    # ws user is mapped to a Unix user of their own, `ws admin user add NAME
    # --unix UNIXNAME`; a user without one may not run). docs/admin.md says what
    # a site sets up for "unix".
    mode: str = "service"
    # The Unix group whose members the service account may act as (the sudoers
    # rule's %group): a mapped Unix user must belong to it.
    group: str = "ws-users"
    # Where each mapped user's run folders are made, as them: runs_dir/UNIXNAME/
    # (the user's, group of the service, default ACL g:SERVICE:r-X). The same as
    # runs_dir in ws-as-user's own root-owned config.
    runs_dir: Path = Path("/srv/ws-runs")
    # The one program the service account may run as a mapped user (sudo -n -u).
    program: Path = Path("/usr/local/libexec/ws/ws-as-user")

    def __post_init__(self) -> None:
        if self.mode not in IDENTITY_MODES:
            from service.core.config import ConfigError  # config.py imports this module
            raise ConfigError(f"identity.mode: {self.mode!r} is none of "
                              + ", ".join(f'"{m}"' for m in IDENTITY_MODES))

    @property
    def unix(self) -> bool:
        return self.mode == "unix"

    @property
    def end_marks(self) -> Path:
        """Where the users' jobs leave their end marks (service/cluster/watch.py):
        runs_dir/.ended, the service account's, group `group`, mode 1730 (made by
        the admin: scripts/unix-users-up.sh): every user's job may add a mark,
        none may list or remove another's, the service lists and removes them."""
        return self.runs_dir / END_MARKS
