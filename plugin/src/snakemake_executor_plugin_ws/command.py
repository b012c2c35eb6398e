"""A job's command line as Snakemake's shell() would run it (snakemake/shell.py),
and the kinds of jobs that have none."""

import os
from typing import Any

from snakemake_interface_executor_plugins.jobs import JobExecutorInterface
from snakemake_interface_executor_plugins.settings import DeploymentMethod


def unsupported(job: JobExecutorInterface, workflow: Any) -> str | None:
    if job.is_group():
        return "group jobs"
    if not job.is_shell:
        return "rules without shell: (run:, script:, wrapper:, notebook:, cwl:)"
    if job.is_shadow:
        return "shadow: rules"
    if job.benchmark:
        return "benchmark: rules"
    if job.is_pipe or job.is_service:
        return "pipe() and service() outputs"
    if (DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
            and job.conda_env_spec):
        return "conda: environments"
    return None


def shell_command(job: JobExecutorInterface, workflow: Any) -> str:
    from snakemake.deployment import singularity
    from snakemake.shell import shell

    executable = job.resources.get("shell_exec") or shell.get_executable()
    cmd = " ".join((shell._get_process_prefix(executable), job.shellcmd,
                    shell._process_suffix)).strip()
    deployment = workflow.deployment_settings.deployment_method
    if DeploymentMethod.ENV_MODULES in deployment and job.env_modules:
        cmd = job.env_modules.shellcmd(cmd)
    if DeploymentMethod.APPTAINER in deployment and job.container_img_path:
        # Snakemake binds its runtime paths when they exist; its source cache lies
        # in a temporary folder of *this* process, gone when it exits (with
        # --immediate-submit before the job starts: apptainer then refuses the
        # bind). A shell command does not need it.
        tmp = os.path.abspath(str(workflow.snakemake_tmp_dir)) + os.sep
        binds = [p for p in workflow.runtime_paths
                 if not os.path.abspath(p).startswith(tmp)]
        cmd = singularity.shellcmd(
            job.container_img_path, cmd, bind=binds,
            args=workflow.deployment_settings.apptainer_args, envvars=None,
            shell_executable=executable, container_workdir=None,
            is_python_script=False)
    return cmd
