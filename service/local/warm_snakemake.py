"""Snakemake kept warm for local runs: `python -m service.local.warm_snakemake`.

Snakemake's start-up (imports, plugin discovery: ≈1.9 s of a 2.1 s run, see
CLUSTER-NOTES) is paid once here; each run is a forked child that runs the
run folder's workflow as `snakemake --snakefile Snakefile` would, and records
its exit status like job.sh does.

Protocol (JSON lines): the service writes {"id": N, "folder": PATH, "args": [...],
"rlimits": [[RESOURCE, SOFT, HARD], ...], "nice": N} on stdin (args: Snakemake's, after
`--snakefile Snakefile`; by default the run's jobs run here through ws's
executor; cluster runs ask for the Slurm profile and --immediate-submit, so
their child exits once the jobs are in Slurm; the child sets the rlimits and
its niceness first);
this process answers {"id": N, "pid": PID} once the child is forked and
{"pid": PID, "exit": CODE, "cpu_s": S, "maxrss_kb": KB} when it has ended.
It stays single-threaded, so forking is safe."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import traceback
from typing import Any, NoReturn

from service.runs.workflow import RUN_HERE

# Run once by the warm process itself: it goes through everything a real run
# does (parsing, schema validation, DAG, scheduling, local execution) but the
# container, so the imports and caches it fills are there for every child.
# The schema is a file, as in the real workflow: validate() with a dict schema
# raises SourceFileError in Snakemake 9.27, which stopped the warm-up at parsing.
WARM_UP_SNAKEFILE = """
from snakemake.utils import validate
config["n"] = 1
validate(config, "schema.yaml")
rule all:
    default_target: True
    input: "out.txt"
rule step:
    output: "out.txt"
    log: "err.txt"
    params: cmd=lambda wildcards: "true"
    shell: "bash -c {params.cmd:q} > {output} 2> {log}"
"""
WARM_UP_SCHEMA = ('$schema: "https://json-schema.org/draft/2020-12/schema"\n'
                  "type: object\nproperties:\n  n:\n    type: integer\n")


def warm_up() -> None:
    """Import what every run needs, let the plugin registries collect their
    plugins, and run a tiny workflow, so the children start with all of it in
    memory."""
    import snakemake.cli
    import snakemake.dag
    import snakemake.deployment.singularity
    import snakemake.jobs
    import snakemake.shell  # noqa: F401
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry
    from snakemake_interface_report_plugins.registry import ReportPluginRegistry
    from snakemake_interface_scheduler_plugins.registry import SchedulerPluginRegistry
    from snakemake_interface_storage_plugins.registry import StoragePluginRegistry

    for registry in (ExecutorPluginRegistry, StoragePluginRegistry, ReportPluginRegistry,
                     LoggerPluginRegistry, SchedulerPluginRegistry):
        registry()
    import snakemake.cli as cli
    from snakemake.deployment.singularity import Singularity
    from snakemake.exceptions import WorkflowError

    # Snakemake keeps one Singularity object per process. Its check() runs
    # `apptainer --version` but never sets `checked`, so it would run again in
    # every child: checked here once, and marked so.
    with contextlib.suppress(WorkflowError):
        singularity = Singularity()
        singularity.check()
        singularity.checked = True

    warmed = False
    saved = os.dup(1), os.dup(2)
    folder = tempfile.mkdtemp(prefix="ws-warm-up-")
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        with open(os.path.join(folder, "Snakefile"), "w") as f:
            f.write(WARM_UP_SNAKEFILE)
        with open(os.path.join(folder, "schema.yaml"), "w") as f:
            f.write(WARM_UP_SCHEMA)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with contextlib.suppress(SystemExit):
            cli.main(["--snakefile", os.path.join(folder, "Snakefile"), "--directory", folder,
                      "--cores", "1", "--quiet", *RUN_HERE, "all"])
        warmed = os.path.exists(os.path.join(folder, "out.txt"))
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
    if not warmed:  # say so: a silent failure here is what hid the SourceFileError
        print("warm-up workflow did not run to its end", file=sys.stderr)


def _record(name: str, value: int) -> None:
    tmp = f"status/.{name}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{value}\n")
    os.replace(tmp, f"status/{name}")


def run_child(folder: str | int, args: list[str], rlimits: list[list[int]] | None = None,
              nice: int = 0) -> NoReturn:
    """`folder`: its path, or its descriptor (a user's own warm process: warm_user)."""
    rc = 1
    try:
        os.setsid()  # its own group: a time-out kills it and the container at once
        if nice:
            os.nice(nice)
        for which, soft, hard in rlimits or ():  # inherited by the container and command
            resource.setrlimit(which, (soft, hard))
        if isinstance(folder, int):
            os.fchdir(folder)
            os.close(folder)
        else:
            os.chdir(folder)
        # Snakemake's temporary folder (its source cache among others) goes in the
        # run folder: a child ends with os._exit, which cleans no temporary folder.
        os.makedirs(".snakemake/tmp", exist_ok=True)
        tempfile.tempdir = os.path.abspath(".snakemake/tmp")
        log = os.open("logs/snakemake.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        import snakemake.cli

        try:
            snakemake.cli.main(["--snakefile", "Snakefile", *args])
            rc = 0
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        _record("snakemake.exit", rc)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(rc)


def _say(message: dict[str, Any]) -> None:
    try:
        os.write(1, (json.dumps(message) + "\n").encode())
    except BrokenPipeError:
        # The service is gone (killed, say): leave quietly, as when its end of
        # stdin closes; running children finish on their own.
        raise SystemExit(0) from None


def serve() -> None:
    # This process forks: keep native thread pools (OpenBLAS, through pandas,
    # which a Snakemake plugin imports) from starting threads before it does.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    warm_up()
    # Everything imported so far lives as long as this process: out of the
    # collector's sight, so that a child's full collection does not walk the
    # whole inherited heap, writing to (so copying) every page of it.
    gc.collect()
    gc.freeze()
    _say({"ready": True})
    pending = b""
    while True:
        try:
            readable, _, _ = select.select([0, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            os.read(wake_r, 4096)
            while True:
                try:
                    pid, status, usage = os.wait4(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                # What the child cost the login node (benchmarks read it in the log).
                _say({"pid": pid, "exit": os.waitstatus_to_exitcode(status),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                      "maxrss_kb": usage.ru_maxrss})
        if 0 in readable:
            data = os.read(0, 65536)
            if not data:
                return  # the service is gone; running children finish on their own
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wake_r)
                    os.close(wake_w)
                    run_child(request["folder"],
                              [str(a) for a in request.get("args", RUN_HERE)],
                              request.get("rlimits", []), int(request.get("nice", 0)))
                _say({"id": request["id"], "pid": pid})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--once"]:  # no warm process: one run, Snakemake started cold
        run_child(sys.argv[2], sys.argv[3:])
    serve()
