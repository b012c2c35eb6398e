"""The `ws admin` command line.

May import: anything but service.web. Never aiohttp (tests/unit/test_layout.py)."""
