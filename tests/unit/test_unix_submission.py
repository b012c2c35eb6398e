"""Identity mode "unix", how runs reach Slurm as their users: the run's own profile
carries the executor's settings (ws-as-user submits with one fixed command line),
the users' jobs leave their end marks in the folder every user may write to, and
Slurm is asked about the runs' users' jobs (squeue's --me would be the service
account's own: none)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml
from ws_slurm import sacct, squeue

from service.core.config import ClusterConfig, Config
from service.core.identity import IdentityConfig
from service.core.params import Params
from service.runs.lifecycle import submission_settings
from service.runs.parameters import parse_run_request
from service.runs.workflow import workflow_profile


def _config(mode: str, backend: str = "cli") -> Config:
    base = Config(state_dir=Path("/s"), runs_dir=Path("/r"))
    return replace(base, identity=IdentityConfig(mode=mode, runs_dir=Path("/srv/u")),
                   cluster=ClusterConfig(backend=backend, drmaa_library="/lib/libdrmaa.so.1"))


def test_a_unix_mode_run_s_profile_says_how_its_jobs_are_submitted() -> None:
    assert submission_settings(_config("service")) == {}
    assert submission_settings(_config("unix")) == {"ws-backend": "cli",
                                                    "ws-end-marks": "/srv/u/.ended"}
    settings = submission_settings(_config("unix", "drmaa"))
    assert settings == {"ws-backend": "drmaa", "ws-end-marks": "/srv/u/.ended",
                        "ws-drmaa-library": "/lib/libdrmaa.so.1"}
    request = parse_run_request(Params(values={"cmd": "true"}, files=[]), cluster=True)
    profile = yaml.safe_load(workflow_profile(request, 1, "1-ws-x", submission=settings))
    assert {k: profile[k] for k in settings} == settings
    # The service mode's profile is unchanged: its service passes these itself.
    plain = yaml.safe_load(workflow_profile(request, 1, "1-ws-x"))
    assert not set(settings) & set(plain)


def test_slurm_is_asked_about_the_runs_users_jobs() -> None:
    assert squeue.states_argv()[1] == "--me"
    assert squeue.states_argv(users=["wsbob", "wsalice", "wsbob"])[1] == \
        "--users=wsalice,wsbob"
    # By id, squeue names no account at all.
    assert not any(a.startswith(("--me", "--users")) for a in
                   squeue.states_argv([4], users=["wsalice"]))
    assert squeue.by_name_argv(["1-ws-a"], users=["wsalice"])[1] == "--users=wsalice"
    assert squeue.by_name_argv(["1-ws-a"])[1] == "--me"
    # sacct by name shows the caller's jobs only unless told whose.
    assert "--user=wsalice,wsbob" in sacct.by_name_argv(["1-ws-a"], 0.0,
                                                        users=["wsbob", "wsalice"])
    assert not [a for a in sacct.by_name_argv(["1-ws-a"], 0.0) if a.startswith("--user")]
