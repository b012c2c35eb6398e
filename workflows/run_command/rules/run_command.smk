# The one step of a run: the user's command, in the software's container, in
# the run's work/ folder (the container's home: see profiles/default).
# The command text reaches bash only inside the container, quoted by `:q`.
# Its exit status is the container's: ws's executor (plugin/) records it in
# status/, outside the container's reach, so nothing the command leaves in work/
# decides anything.
rule run_command:
    output:
        "work/stdout.txt",
    log:
        "work/stderr.txt",
    container:
        config["image"]
    params:
        # A function, so that braces in the command are not taken for wildcards.
        cmd=lambda wildcards: config["cmd"],
    resources:
        runtime=config["runtime_min"],
        mem_mb=config["mem_mb"],
        cpus_per_task=config["cpus"],
        # Further sbatch options of the run (validated by the service), for ws's executor.
        slurm_extra=config["slurm_extra"],
    shell:
        # $HOME is the run's work/ folder in the container (--home, profiles/default).
        'cd "$HOME" && bash -c {params.cmd:q} > stdout.txt 2> stderr.txt'
