"""Slurm for ws, without Snakemake and with the standard library alone: one
builder and one parser per command (sbatch.py, squeue.py, sacct.py, scancel.py),
the one "squeue, then sacct for what squeue forgot" query (query.py), Slurm's
time and memory grammar (resources.py), the status/ records a run's jobs leave
(records.py), and slurm-drmaa's side (native.py, drmaa.py). Used by ws's
Snakemake executor and by the service alike."""
