"""ws: run containerized software on a Slurm cluster over HTTP."""
