"""The `ws admin` command line, and the users' client commands (`ws login`, `ws run`,
...) over service.client.

May import: anything but service.web. Never aiohttp (tests/unit/test_layout.py)."""
