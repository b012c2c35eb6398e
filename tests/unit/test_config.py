"""The configuration file: the documented example is the defaults, tables
override key by key, and mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_documents_every_default() -> None:
    assert load_config(ROOT / "etc" / "ws.example.toml", {}) == Config()


def test_a_table_keeps_the_keys_it_does_not_set(tmp_path: Path) -> None:
    path = tmp_path / "ws.toml"
    path.write_text('runs_dir = "runs"\n[policy.visitor]\nmax_cpus = 2\n')
    config = load_config(path, {})
    assert config.runs_dir == tmp_path / "runs"
    assert config.policy.visitor.max_cpus == 2
    assert config.policy.visitor.cmd_option is False  # the visitor's own default
    assert config.policy.visitor.max_time_min == 10


def test_config_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "ws.toml"
    path.write_text("[server]\nport = 8123\n")
    assert load_config(None, {"WS_CONFIG": str(path)}).server.port == 8123


@pytest.mark.parametrize("text,says", [
    ("nope = 1\n", "unknown key nope"),
    ("[server]\nport = 'x'\n", "server.port must be a number"),
    ("[auth]\nrequire_owner_token = 1\n", "must be true or false"),
    ("[cluster]\nmodule_paths = 'x'\n", "must be a list of strings"),
    ("[cluster]\nallowed_binds = ['/']\n", "allowed_binds"),
    ("server = 1\n", "server must be a table"),
    ("[server\n", "cannot read config"),
    ("[auth]\njwt_secret = 'short but not 32 bytes long'\n",
     "jwt_secret is 27 bytes: it must be at least 32 bytes"),
])
def test_mistakes_are_named(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "ws.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says):
        load_config(path, {})


@pytest.mark.parametrize("bind", ["{home}/state", "{home}", "{home}/runs/x", "{home}/downloads"])
def test_allowed_binds_may_not_overlap_the_service_folders(tmp_path: Path, bind: str) -> None:
    config = tmp_path / "ws.toml"
    config.write_text(f'state_dir = "state"\nruns_dir = "runs"\n[cluster]\n'
                      f'allowed_binds = ["{bind.format(home=tmp_path)}"]\n')
    with pytest.raises(ConfigError, match="overlaps"):
        load_config(config, {})


def test_allowed_binds_beside_the_service_folders(tmp_path: Path) -> None:
    config = tmp_path / "ws.toml"
    config.write_text(f'state_dir = "state"\nruns_dir = "runs"\n[cluster]\n'
                      f'allowed_binds = ["{tmp_path}/reference", "{tmp_path}/run"]\n')
    assert load_config(config, {}).cluster.allowed_binds[0].endswith("reference")


def test_the_cluster_backend_is_cli_or_drmaa(tmp_path: Path) -> None:
    path = tmp_path / "ws.toml"
    path.write_text('[cluster]\nbackend = "pbs"\n')
    with pytest.raises(ConfigError, match="is none of \"cli\", \"drmaa\""):
        load_config(path, {})
    path.write_text('[cluster]\nbackend = "drmaa"\n')
    lib = "/opt/slurm-drmaa/lib/libdrmaa.so.1"
    # libdrmaa from the service's environment unless the file names it.
    assert load_config(path, {"DRMAA_LIBRARY_PATH": lib}).cluster.drmaa_library == lib
    path.write_text(f'[cluster]\nbackend = "drmaa"\ndrmaa_library = "{lib}"\n')
    assert load_config(path, {"DRMAA_LIBRARY_PATH": "/x"}).cluster.drmaa_library == lib


def test_a_long_enough_jwt_secret_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "ws.toml"
    path.write_text("[auth]\njwt_secret = '" + "s" * 32 + "'\n")
    assert load_config(path, {}).auth.jwt_secret == "s" * 32
    assert load_config(None, {}).auth.jwt_secret == ""  # generated at start
