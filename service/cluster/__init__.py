"""Slurm: command adapters, submission, job status (Slurm's commands or DRMAA), the
poller, reconciliation (unfollowed runs matched back to their jobs by name),
environment modules.

May import: service.runs and below. Never aiohttp (tests/unit/test_layout.py)."""
