"""Foundations: config, domain errors, names, request parameters, atomic writes,
the SQLite store.

May import: nothing of ws. Never aiohttp (tests/unit/test_layout.py)."""
