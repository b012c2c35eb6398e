"""The generated workflow and job script: every user string quoted or validated."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.core.params import Params, UploadedFile
from service.runs import workflow
from service.runs.parameters import parse_run_request

ROOT = Path(__file__).resolve().parents[2]
NASTY = "echo a; echo b && echo $(id) `id` \"q\" 'q' {x} {{y}}\nwhoami"


def request(files: list[str] | None = None, **values: Any):  # type: ignore[no-untyped-def]
    uploads = [UploadedFile(n, Path("/x"), 0) for n in files or []]
    return parse_run_request(Params(values=values, files=uploads), cluster=True)


def settings() -> workflow.JobSettings:
    return workflow.JobSettings(snakemake=Path("/opt/ws venv/bin/snakemake"),
                                lmod_init=Path("/etc/profile.d/lmod.sh"),
                                module_paths=("/mods dir",))


def test_job_script_quotes_paths() -> None:
    text = workflow.job_script(Path("/runs/k k"), settings(), "run 1-ws-x")
    assert "cd '/runs/k k' || exit 90" in text
    assert ("'/opt/ws venv/bin/snakemake' --snakefile Snakefile --executor ws --ws-run-here"
            in text)
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


def test_prologue_quotes_modules() -> None:
    req = request(cmd=NASTY, module_list=["hello/1.0", "gcc"])
    text = workflow.prologue_script(req, settings())
    assert "module use '/mods dir'" in text
    assert "module load hello/1.0 gcc" in text
    assert "return 92" in text
    assert NASTY not in text and "whoami" not in text  # the command is not in the script
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


def test_site_job_modules_load_before_the_runs_own(tmp_path: Path) -> None:
    """issue 14: where Apptainer is itself a module, every job loads the site's
    job_modules first, then the run's module_list; each failure says which."""
    site = workflow.JobSettings(snakemake=Path("/x"), lmod_init=tmp_path / "lmod.sh",
                                module_paths=(), job_modules=("apptainer/1.3",))
    req = request(cmd="x", module_list=["hello/1.0"])
    text = workflow.prologue_script(req, site)
    assert text.index("module load apptainer/1.3") < text.index("module load hello/1.0")
    assert workflow.needs_prologue(request(cmd="x"), site)
    assert not workflow.needs_prologue(request(cmd="x"), settings())
    profile = yaml.safe_load(workflow.workflow_profile(request(cmd="x"), 1, "1-ws-x",
                                                       prologue=True))
    assert profile["ws-prologue"] == workflow.PROLOGUE
    # Run it with a module tool that knows apptainer/1.3 only.
    (tmp_path / "lmod.sh").write_text(
        'module() { [ "$1" = load ] || return 0; shift; for m in "$@"; do\n'
        '  [ "$m" = apptainer/1.3 ] || { echo "no $m" >&2; return 1; }; echo "+$m"; done; }\n')
    for sub in ("logs", "status"):
        (tmp_path / sub).mkdir()
    (tmp_path / "site.sh").write_text(workflow.prologue_script(request(cmd="x"), site))
    (tmp_path / "both.sh").write_text(text)
    done = subprocess.run(["bash", "-c", "source site.sh"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "logs" / "modules.log").read_text() == "+apptainer/1.3\n"
    done = subprocess.run(["bash", "-c", "source both.sh"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 92
    assert "module load failed (module_list)" in done.stderr
    assert (tmp_path / "status" / "modules.exit").read_text() == "1\n"


@pytest.mark.parametrize("value", ["$HOME", "${HOME}", "a$", "$(id)", "~", "$$", "$HOME:${PATH}"])
def test_user_values_survive_snakemakes_profile_reading(value: str) -> None:
    """issue 10: Snakemake runs os.path.expandvars (and expanduser) over profile
    values: `--env X=$HOME` reached the container with the service's $HOME."""
    req = request(cmd="x", cmd_option=f"--env X={value}")
    profile = yaml.safe_load(workflow.workflow_profile(req, 1, "1-ws-x"))
    read = os.path.expanduser(os.path.expandvars(str(profile["apptainer-args"])))
    words = subprocess.run(["bash", "-c", f"printf '%s\\n' {read}"], cwd="/",
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert words[words.index("--env") + 1] == f"X={value}"


def test_each_bind_is_checked_again_where_it_was_allowed() -> None:
    req = parse_run_request(Params(values={
        "cmd": "x", "cmd_option": "--bind in:/in --bind /data/ref/hg38:/ref"}), cluster=True,
        allowed_binds=("/srv", "/data/ref"))
    profile = yaml.safe_load(workflow.workflow_profile(req, 1, "1-ws-x",
                                                       allowed_binds=("/srv", "/data/ref")))
    assert profile["ws-bind-check"] == "work/in:work,/data/ref/hg38:/data/ref"
    assert "ws-bind-check" not in yaml.safe_load(
        workflow.workflow_profile(request(cmd="x"), 1, "1-ws-x"))


def test_command_goes_to_config_unchanged() -> None:
    req = request(cmd=NASTY)
    config = workflow.workflow_config(req, "/img.sif", workflow.Resources(10, 1000, 1))
    assert yaml.safe_load(yaml.safe_dump(config))["cmd"] == NASTY


def test_rule_quotes_the_command() -> None:
    rule = (ROOT / "workflows" / "run_command" / "rules" / "run_command.smk").read_text()
    assert "bash -c {params.cmd:q}" in rule
    assert "lambda wildcards: config[\"cmd\"]" in rule


def test_uploaded_script_as_command() -> None:
    req = request(files=["usrcmd.sh", "stdin.txt"], cmd="usrcmd.sh")
    assert workflow.effective_command(req) == "./usrcmd.sh"
    assert workflow.script_to_run(req) == "usrcmd.sh"
    assert workflow.effective_command(request(cmd="python /add.py")) == "python /add.py"


def test_workflow_profile_isolates_and_binds_inside_the_run() -> None:
    req = request(cmd="x", cmd_option="--bind 'my data':/data:ro --cleanenv --env 'A=$(id)'")
    profile = yaml.safe_load(workflow.workflow_profile(req, 2, "1-ws-x"))
    # Snakemake runs these options in a shell started in the run folder.
    words = subprocess.run(["bash", "-c", f"printf '%s\\n' {profile['apptainer-args']}"],
                           cwd="/", capture_output=True, text=True, check=True).stdout
    assert words.splitlines() == ["--containall", "--no-mount", "bind-paths,hostfs,cwd",
                                  "--home", "//work", "--cleanenv", "--env",
                                  "A=$(id)", "--bind", "//work/my data:/data:ro"]
    assert profile["software-deployment-method"] == "apptainer"
    # Snakemake binds its source cache into containers: never the shared one.
    assert "source-cache" not in profile["shared-fs-usage"]


def test_no_network_when_the_policy_says_so() -> None:
    req = request(cmd="x")
    assert "--net --network none" not in workflow.apptainer_args(req)
    profile = yaml.safe_load(workflow.workflow_profile(req, 1, "1-ws-x", network=False))
    assert profile["apptainer-args"].startswith(
        "--containall --no-mount bind-paths,hostfs,cwd --net --network none --home ")


def test_allowed_host_binds_stay_absolute() -> None:
    req = parse_run_request(Params(values={"cmd_option": "--bind /srv/ref:/ref"}),
                            cluster=True, allowed_binds=("/srv/ref",))
    assert "--bind /srv/ref:/ref:ro" in workflow.apptainer_args(req)


def test_resources_from_profile_and_sbatch_list() -> None:
    defaults = workflow.profile_defaults(ROOT / "profiles" / "slurm")
    assert defaults == workflow.Resources(10, 1000, 1)
    req = request(sbatch_list='["--time=1:00:00", "--mem=2G", "--cpus-per-task=2"]')
    assert workflow.resources_for(req, defaults) == workflow.Resources(60, 2048, 2)


def test_jobs_get_only_the_named_environment() -> None:
    profile = yaml.safe_load(workflow.workflow_profile(request(cmd="x"), 1, "1-ws-x"))
    assert profile["ws-export"] == ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                    "/sbin:/bin,LANG=C.UTF-8")


def test_profile_defaults_follow_a_changed_profile(tmp_path: Path) -> None:
    # Read once and kept (every POST asks), but never stale: a changed file is read again.
    (tmp_path / "config.yaml").write_text("default-resources:\n  - runtime=10\n")
    assert workflow.profile_defaults(tmp_path).runtime_min == 10
    (tmp_path / "config.yaml").write_text("default-resources:\n  - runtime=120\n")
    assert workflow.profile_defaults(tmp_path).runtime_min == 120


@pytest.mark.parametrize("cmd", ["python /add.py 4 5", NASTY, "echo 'a: b' # c", "x\ny",
                                 "é \u2028 \x85", "- [x]", "yes", "0x10", "~", "a" * 200])
def test_fast_yaml_writes_what_safe_dump_writes(cmd: str) -> None:
    # libyaml's emitter writes the run's config: same text as PyYAML's own.
    config = workflow.workflow_config(request(cmd=cmd), "/img.sif",
                                      workflow.Resources(10, 1000, 1))
    assert workflow.dump_yaml(config) == yaml.safe_dump(config, sort_keys=False)
    assert yaml.safe_load(workflow.dump_yaml(config)) == config
