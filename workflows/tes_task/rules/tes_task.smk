# The task's one step: ws's runner (python -m service.tes.runner) in the run
# folder, outside any container; it starts each executor's container itself, and
# records their times and exit statuses in tes/, which no container sees. Its own
# exit status is the task's: 0, the first failing executor's, or its own 96 (stage-in)
# or 97 (stage-out) failures.
rule tes_task:
    output:
        "work/stdout.txt",
    log:
        "work/stderr.txt",
    params:
        python=lambda wildcards: config["python"],
    resources:
        runtime=config["runtime_min"],
        mem_mb=config["mem_mb"],
        cpus_per_task=config["cpus"],
        # Further sbatch options of the task (validated by the service), for ws's executor.
        slurm_extra=config["slurm_extra"],
    shell:
        "{params.python:q} -I -m service.tes.runner > work/stdout.txt 2> work/stderr.txt"
