"""ws's Snakemake executor: each job of a workflow becomes one Slurm batch job
running the job's own shell command, wrapped in its container exactly as
Snakemake's shell() would run it locally. No Snakemake starts inside the job.

    snakemake --executor ws --jobs 10                       # waits, like any executor
    snakemake --executor ws --immediate-submit --notemp T   # whole DAG in Slurm, then exits

A job's upstream jobs become `--dependency=afterok:...`. Waiting, it follows all
its jobs with one squeue per round (sacct for those squeue has forgotten) and the
exit records the job scripts leave (ws_slurm.records). Only `shell:` rules are run;
run:, script:, wrapper:, notebook:, shadow:, benchmark:, conda:, group jobs and
pipes are refused at submission with a clear message.

`--ws-run-here` runs the same job scripts on this machine instead of Slurm
(ws's local runs): one job wrapper, one kind of exit record.

`--ws-backend drmaa` submits, follows and cancels the same jobs through DRMAA
(libdrmaa, `--ws-drmaa-library` or $DRMAA_LIBRARY_PATH; ws_slurm.drmaa), the
sbatch options turned into slurm-drmaa's native specification (ws_slurm.native).
Each way is one backend object (backends.py); waiting or --immediate-submit, one
mode object (modes.py)."""

# No `from __future__ import annotations`: Snakemake builds the CLI options from
# the ExecutorSettings field types, which must be real types.

import os
import shlex
import subprocess
import traceback
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from itertools import chain
from typing import Optional

from snakemake_interface_common.exceptions import WorkflowError
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo
from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor
from snakemake_interface_executor_plugins.jobs import JobExecutorInterface
from snakemake_interface_executor_plugins.settings import (
    CommonSettings,
    ExecutorSettingsBase,
)
from ws_slurm import records
from ws_slurm.drmaa import DrmaaError
from ws_slurm.sbatch import Submission

from snakemake_executor_plugin_ws import jobscript
from snakemake_executor_plugin_ws.backends import JobBackend, backend_for
from snakemake_executor_plugin_ws.command import shell_command, unsupported
from snakemake_executor_plugin_ws.fork import renew_lock_pool_after_fork
from snakemake_executor_plugin_ws.modes import Immediate, Waiting, mode_for
from snakemake_executor_plugin_ws.outcomes import FAILURE, RUNNING, SUCCESS, outcome


@dataclass
class ExecutorSettings(ExecutorSettingsBase):
    status_dir: str = field(
        default=".snakemake/ws",
        metadata={"help": "Folder (relative to the working directory) for each job's "
                  "script, output and exit record, and jobs.json (Snakemake job -> "
                  "Slurm job). Keep it out of the containers' reach."})
    job_name: Optional[str] = field(
        default=None, metadata={"help": "Slurm job name of every job (default: rule.jobid)"})
    partition: Optional[str] = field(
        default=None, metadata={"help": "Slurm partition (default: Slurm's default)"})
    prologue: Optional[str] = field(
        default=None, metadata={"help": "A bash file each job script sources before the "
                                "command (module loads, ...); failing, the job fails"})
    status_interval: float = field(
        default=0.25, metadata={"help": "Seconds between two status rounds when waiting"})
    run_here: bool = field(
        default=False, metadata={"help": "Run the job scripts on this machine, not on Slurm"})
    export: Optional[str] = field(
        default=None, metadata={"help": "sbatch --export of every job, e.g. "
                                "PATH=/usr/bin:/bin,LANG=C.UTF-8 (default: Slurm's, the "
                                "submitting process's whole environment)"})
    backend: str = field(
        default="cli", metadata={"help": "How jobs reach Slurm: cli (sbatch, squeue, "
                                 "sacct, scancel) or drmaa (libdrmaa, the drmaa binding)"})
    bind_check: Optional[str] = field(
        default=None, metadata={"help": "source:folder,...: each bind source, links "
                                "resolved, must still be inside its folder when the job "
                                "starts, else the job exits 94 before its container"})
    drmaa_library: Optional[str] = field(
        default=None, metadata={"help": "libdrmaa for the drmaa backend (default: "
                                "$DRMAA_LIBRARY_PATH)"})
    end_marks: Optional[str] = field(
        default=None, metadata={"help": "A folder (absolute) where each job script, as "
                                "its last step, makes an empty file named <working "
                                "directory's name>.<Slurm job id>: one folder to list for "
                                "whoever follows many workflows (default: none)"})


common_settings = CommonSettings(
    non_local_exec=True,
    implies_no_shared_fs=False,
    job_deploy_sources=False,
    # Nothing of Snakemake's own command line goes to the job: there is none.
    pass_default_storage_provider_args=False,
    pass_default_resources_args=False,
    pass_envvar_declarations_to_cmd=False,
    auto_deploy_default_storage_provider=False,
    init_seconds_before_status_checks=0,
)

renew_lock_pool_after_fork()


class Executor(RemoteExecutor):
    # Until __post_init__ runs: RemoteExecutor starts its status thread before it,
    # so the first rounds (and a shutdown) may come first, and must find these.
    mode: "Waiting | Immediate" = Waiting()
    backend: Optional[JobBackend] = None

    def __post_init__(self) -> None:
        self.settings: ExecutorSettings = self.workflow.executor_settings
        self.producer: dict[str, str] = {}  # output file -> Slurm id of its job
        self.jobs: dict[int, records.JobEntry] = {}
        self.next_seconds_between_status_checks = self.settings.status_interval
        if self.settings.run_here:
            self.next_seconds_between_status_checks = 0.01
        self.backend = backend_for(self.settings.backend, self.settings.run_here,
                                   self.settings.drmaa_library, self.logger)
        self.mode = mode_for(bool(self.workflow.remote_execution_settings.immediate_submit))

    # ---- submission ----------------------------------------------------------------
    def run_job(self, job: JobExecutorInterface) -> None:
        job_info = SubmittedJobInfo(job)
        reason = unsupported(job, self.workflow)
        if reason:
            self.report_job_error(job_info, msg=f"executor ws: {reason} are not supported "
                                  f"(rule {job.rule.name}): use a shell: rule\n")
            return
        assert self.backend is not None
        try:
            script, exit_record = self._prepare(job)
            job_id = self.backend.submit(self._submission(job, script))
        except (OSError, ValueError, WorkflowError, DrmaaError,
                subprocess.SubprocessError) as e:
            # Also recorded for whoever follows the run (ws reports it as the cause).
            records.write_record(self.settings.status_dir, records.SUBMISSION_ERROR,
                                 f"rule {job.name}: {e}"[:2000])
            self.report_job_error(job_info, msg=f"submission failed: {e}\n")
            return
        job_info.external_jobid = job_id
        job_info.aux = {"exit": exit_record}
        self.producer.update((str(f), job_id) for f in job.output)
        self.jobs[job.jobid] = records.JobEntry(job.jobid, job.name, int(job_id), exit_record)
        records.write_jobs(self.settings.status_dir, self.jobs.values())
        through = " through DRMAA" if self.settings.backend == "drmaa" else ""
        self.logger.info(f"Submitted job {job.jobid}{through} as Slurm job {job_id}.")
        # With --immediate-submit this counts as the job's end for the scheduler.
        self.report_job_submission(job_info)

    def _prepare(self, job: JobExecutorInterface) -> "tuple[str, str]":
        # What Job.prepare() does in Snakemake for a job (not run for remote
        # jobs): old outputs away, folders made.
        self.workflow.async_run(job.remove_existing_output())
        for f in chain(job.output, job.log):
            f.prepare()
        status_dir = self.settings.status_dir
        os.makedirs(status_dir, exist_ok=True)
        script = jobscript.JobScript(
            rule=job.name, jobid=job.jobid, workdir=os.getcwd(),
            command=shell_command(job, self.workflow), status_dir=status_dir,
            threads=job.threads, inputs=tuple(str(f) for f in job.input),
            latency_wait_s=int(self.workflow.execution_settings.latency_wait or 0),
            prologue=self.settings.prologue,
            # A job run here (a local run, job.sh) has no Slurm id for a mark to name.
            end_marks=None if self.settings.run_here else self.settings.end_marks,
            bind_checks=jobscript.parse_bind_checks(self.settings.bind_check))
        exit_record = jobscript.exit_record(script)
        if os.path.lexists(exit_record):
            os.remove(exit_record)
        path = os.path.join(status_dir, f"{job.name}.{job.jobid}.sh")
        with open(path, "w") as f:
            f.write(jobscript.render(script))
        os.chmod(path, 0o700)
        return path, exit_record

    def _submission(self, job: JobExecutorInterface, script: str) -> Submission:
        res = job.resources
        return Submission(
            script=os.path.abspath(script),
            job_name=self.settings.job_name or f"{job.name}.{job.jobid}",
            chdir=os.getcwd(),
            output=os.path.abspath(os.path.join(self.settings.status_dir,
                                                records.output_name(job.name, job.jobid))),
            cpus=int(res.get("cpus_per_task") or job.threads),
            runtime_min=int(res["runtime"]) if res.get("runtime") is not None else None,
            mem_mb=int(res["mem_mb"]) if res.get("mem_mb") is not None else None,
            partition=res.get("slurm_partition") or self.settings.partition,
            dependencies=self.mode.dependencies((str(f) for f in job.input), self.producer),
            export=self.settings.export,
            extra=tuple(shlex.split(str(res.get("slurm_extra") or ""))))

    # ---- status --------------------------------------------------------------------
    async def check_active_jobs(
        self, active_jobs: list[SubmittedJobInfo]
    ) -> AsyncGenerator[SubmittedJobInfo, None]:
        if not active_jobs or not self.mode.follows or self.backend is None:
            return
        ids = [j.external_jobid for j in active_jobs]
        if self.backend.asks_the_cluster:
            async with self.status_rate_limiter:
                states = await self.backend.states(ids)
        else:
            # A local run's job is followed every 10 ms: its end is the run's answer.
            states = await self.backend.states(ids)
        for job_info in active_jobs:
            state = states.get(job_info.external_jobid)
            try:
                verdict, cause = outcome(state, records.read_exit(job_info.aux["exit"]))
                if verdict == SUCCESS:
                    self.report_job_success(job_info)
                elif verdict == FAILURE:
                    self.report_job_error(job_info, msg=cause + "\n")
            except Exception as e:
                # An exception here ends Snakemake's status thread, and Snakemake
                # then waits for ever for its running jobs: fail the job instead,
                # with the traceback in the log.
                traceback.print_exc()
                self.report_job_error(job_info, msg=f"executor ws: {e!r}\n")
                continue
            if verdict == RUNNING:
                yield job_info

    async def sleep(self) -> None:
        # Responsive to shutdown(): it joins the status thread, which would first
        # finish its whole sleep (10 s by default) -- all of --immediate-submit's exit.
        import asyncio
        import time

        end = time.monotonic() + self.next_seconds_between_status_checks
        while self.wait and time.monotonic() < end:
            await asyncio.sleep(min(0.01, max(0.0, end - time.monotonic())))

    def cancel_jobs(self, active_jobs: list[SubmittedJobInfo]) -> None:
        ids = [j.external_jobid for j in active_jobs if j.external_jobid]
        if ids and self.backend is not None:
            self.backend.cancel(ids)

    def shutdown(self) -> None:
        super().shutdown()
        if self.backend is not None:
            self.backend.close()
