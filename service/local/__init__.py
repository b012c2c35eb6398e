"""Local runs: the bounded runner and the warm Snakemake process.

May import: service.runs and below. Never aiohttp (tests/unit/test_layout.py)."""
