"""Softwares, containers, access relations and image builds.

May import: service.accounts, service.core. Never aiohttp (tests/unit/test_layout.py)."""
