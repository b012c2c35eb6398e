"""A run from parameters to results: parameter models, policy, run folder,
record and state, workflow generation, exit records, results, retention.

May import: service.catalogue, service.accounts, service.core.
Never aiohttp (tests/unit/test_layout.py)."""
