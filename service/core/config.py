"""Configuration: frozen dataclasses, read in one place (load_config).

The file is TOML (stdlib tomllib, so no extra dependency); every key is optional
and documented in etc/ws.example.toml. Relative paths are taken from the config
file's folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

# Defined apart for their size, part of the configuration all the same.
from service.core.identity import IdentityConfig
from service.core.policy_config import LevelPolicy as LevelPolicy
from service.core.policy_config import PolicyConfig as PolicyConfig
from service.core.tes_config import TesConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # service/core/config.py


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    # Public base URL used in the links the API returns ("url", "msg").
    # Empty: http://{host}:{port}
    base_url: str = ""

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


MIN_JWT_SECRET_BYTES = 32


@dataclass(frozen=True)
class AuthConfig:
    # Empty: a secret is generated once and kept in {state_dir}/jwt_secret (mode 0600).
    jwt_secret: str = ""
    jwt_lifetime_s: int = 3600
    # The GETs on a run's state/results/content take the key alone, as in the
    # user's document; True also asks for the owner's token (others get 404).
    require_owner_token: bool = False
    # Failed logins (each an Argon2 hash of 64 MiB): per client address (IPv6 by
    # /64) and per user name from that address, up to login_burst at once, then
    # login_per_minute (429 beyond); at most login_concurrent_hashes hashes at a
    # time for all callers.
    login_burst: int = 20
    login_per_minute: float = 20.0
    login_concurrent_hashes: int = 2

    def __post_init__(self) -> None:
        # HS256 keys shorter than its 256-bit hash can be guessed offline from
        # any one token (RFC 7518 3.2 asks for at least this much).
        if self.jwt_secret and len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ConfigError(f"auth.jwt_secret is {len(self.jwt_secret.encode())} bytes: "
                              f"it must be at least {MIN_JWT_SECRET_BYTES} bytes long "
                              "(or empty, for a generated one)")


BACKENDS = ("cli", "drmaa")


@dataclass(frozen=True)
class ClusterConfig:
    identity: str = "muse"
    service_name: str = "ws"
    profile_dir: Path = PROJECT_ROOT / "profiles" / "slurm"
    lmod_init: Path = Path("/etc/profile.d/lmod.sh")
    module_paths: tuple[str, ...] = ()
    # Modules every job loads before its command and the run's own module_list:
    # a site whose Apptainer (or SingularityCE) is itself a module names it here.
    job_modules: tuple[str, ...] = ()
    poll_min_s: float = 0.5
    poll_max_s: float = 10.0
    # A job that Slurm, asked and answering, no longer knows, and that left no exit
    # record, is declared lost after this long since Slurm last showed it.
    lost_after_s: float = 600.0
    # How long a job Slurm says COMPLETED may take to show its exit records (a
    # shared file system seen from the login node is late), as Snakemake's
    # latency-wait; then it is judged on what is there.
    exit_record_grace_s: float = 10.0
    # How often the store, the run folders and Slurm are compared (besides at
    # start): a live run nobody follows is matched back to its Slurm jobs by job
    # name, or ended NOK with the reason (service/cluster/reconcile.py).
    reconcile_interval_s: float = 300.0
    # Host folders (absolute) that runs may bind read-only with cmd_option
    # `--bind /host/path[:/target]`, e.g. shared reference data. Empty: none.
    allowed_binds: tuple[str, ...] = ()
    # How long the list of available environment modules (module -t avail) is
    # reused before the module tool is asked again.
    module_cache_s: float = 30.0
    # How jobs reach Slurm and are followed: "cli" (sbatch, squeue, sacct, scancel)
    # or "drmaa" (libdrmaa through the drmaa binding: service/cluster/drmaa_backend.py).
    backend: str = "cli"
    # libdrmaa for backend "drmaa" (e.g. /opt/slurm-drmaa/lib/libdrmaa.so.1).
    # Empty: the service's DRMAA_LIBRARY_PATH.
    drmaa_library: str = ""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"cluster.backend: {self.backend!r} is none of "
                              + ", ".join(f'"{b}"' for b in BACKENDS))
        for path in self.allowed_binds:
            parts = path.split("/")
            if not path.startswith("/") or path == "/" or any(
                    p in ("..", ".") for p in parts) or "//" in path:
                raise ConfigError(f"cluster.allowed_binds: {path!r} must be a plain "
                                  "absolute path other than /")


@dataclass(frozen=True)
class LocalRunConfig:
    max_concurrent: int = 2
    max_waiting: int = 8
    # One user's local runs running or waiting at once (429 beyond), so that one
    # user cannot hold every slot and the whole waiting line.
    max_per_user: int = 5
    time_limit_s: float = 300.0
    # Keep one Snakemake process warm and fork a child per run (see
    # service/local/warm_snakemake.py); false: each run starts Snakemake anew.
    warm_snakemake: bool = True


@dataclass(frozen=True)
class LimitsConfig:
    max_file_bytes: int = 100 * 1024 * 1024
    max_request_bytes: int = 200 * 1024 * 1024
    max_unzipped_bytes: int = 500 * 1024 * 1024
    max_zip_entries: int = 10_000
    # Folders the zips of a request may make, those their entries' paths imply
    # included (each costs an inode, like a file).
    max_upload_folders: int = 1000
    max_files: int = 100
    max_live_runs_per_user: int = 50
    # What one user's ended runs may keep on disk, in MB, measured once each run
    # has ended (507 for new runs beyond, until retention removes old ones). 0: no bound.
    max_stored_mb_per_user: int = 10240
    # What one cluster run's folder may grow to while its job runs, in MB, looked
    # at every disk_check_s (only runs whose job is RUNNING): beyond, the run is
    # cancelled, saying why. 0: no bound (a file-system quota still applies).
    max_run_mb: int = 10240
    disk_check_s: float = 30.0
    # Long stdouts and run folder zips built and sent at once (each holds memory
    # or disk until its client has it all); beyond, requests wait, then get 503.
    max_large_answers: int = 4
    # Files a multipart request may stream in before its token has been seen
    # (a token in the header, the URL or a jwt field before the files lifts
    # it), and how many such requests may be doing so at once (503 beyond).
    max_unauthenticated_upload_bytes: int = 8 * 1024 * 1024
    max_unauthenticated_uploads: int = 4
    # Final runs and downloads older than this are deleted by the service
    # (service/runs/retention.py); fractions of a day are allowed.
    retention_days: float = 30.0
    # How often the retention task looks for what to delete.
    retention_check_s: float = 3600.0


@dataclass(frozen=True)
class Config:
    state_dir: Path = PROJECT_ROOT / "var" / "state"
    runs_dir: Path = PROJECT_ROOT / "var" / "runs"
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    snakemake: Path = PROJECT_ROOT / ".venv" / "bin" / "snakemake"
    apptainer: str = ""  # empty: `apptainer`, else `singularity` (SingularityCE), on PATH
    server: ServerConfig = field(default_factory=ServerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    local: LocalRunConfig = field(default_factory=LocalRunConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    tes: TesConfig = field(default_factory=TesConfig)

    def __post_init__(self) -> None:
        own = {"state_dir": self.state_dir, "runs_dir": self.runs_dir,
               "downloads": self.downloads_dir}
        check_binds_apart(self.cluster.allowed_binds, own)
        for problem in self.tes.problems(own):
            raise ConfigError(problem)

    @property
    def database(self) -> Path:
        return self.state_dir / "ws.sqlite3"

    @property
    def downloads_dir(self) -> Path:
        return self.runs_dir.parent / "downloads"


class ConfigError(Exception):
    """The configuration file is unreadable or holds an unknown key or a bad value."""


def check_binds_apart(allowed_binds: tuple[str, ...], folders: Mapping[str, Path]) -> None:
    """A host path runs may bind must neither hold nor lie in the service's own
    folders (its database and secret, other users' runs, downloads)."""
    for root in allowed_binds:
        real_root = Path(os.path.realpath(root))
        for name, folder in folders.items():
            real = Path(os.path.realpath(folder))
            if real_root == real or real_root in real.parents or real in real_root.parents:
                raise ConfigError(f"cluster.allowed_binds: {root!r} overlaps {name} "
                                  f"({folder}): runs could read the service's own files")


def _build(defaults: Any, values: Mapping[str, Any], base: Path, where: str) -> Any:
    """`defaults` with the file's values in place of its own: a table that sets
    one key keeps the others (`[policy.visitor] max_cpus = 2` keeps the
    visitor's other limits)."""
    known = {f.name for f in fields(defaults)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown key {where}{key}")
        default = getattr(defaults, key)
        if is_dataclass(default):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}{key} must be a table")
            kwargs[key] = _build(default, value, base, f"{where}{key}.")
        elif isinstance(default, Path):
            kwargs[key] = (base / str(value)).resolve()
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}{key} must be a list of strings")
            kwargs[key] = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}{key} must be true or false")
            kwargs[key] = value
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}{key} must be a number")
            kwargs[key] = type(default)(value)
        else:
            kwargs[key] = str(value)
    return replace(defaults, **kwargs)


def load_config(path: Path | None, environ: Mapping[str, str]) -> Config:
    """Read the config file (argument, else $WS_CONFIG, else defaults)."""
    if path is None and environ.get("WS_CONFIG"):
        path = Path(environ["WS_CONFIG"])
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config {path}: {e}") from e
    config: Config = _build(Config(), data, path.resolve().parent, "")
    if config.cluster.backend == "drmaa" and not config.cluster.drmaa_library:
        # Resolved here, once: the forked Snakemake gets the path, not the variable.
        config = replace(config, cluster=replace(
            config.cluster, drmaa_library=environ.get("DRMAA_LIBRARY_PATH", "")))
    return config


def with_overrides(config: Config, **server: Any) -> Config:
    """Command-line overrides of the server section (ws serve --port ...)."""
    return replace(config, server=replace(config.server, **server))
