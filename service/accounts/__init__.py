"""Users, password hashing, tokens, the JWT secret, authentication.

May import: service.core. Never aiohttp (tests/unit/test_layout.py)."""
