"""Password hashing (argon2id). Slow on purpose: handlers call these through
run_in_executor."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from service.core.errors import InvalidParameter

# Pinned rather than the library default, so DUMMY_HASH keeps costing what a real
# hash costs even if argon2-cffi changes its defaults.
HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# Unknown users are checked against this hash (of a random, forgotten secret) so a
# login takes the same time whether the user exists or not.
DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$ePy5ODnfIpDgIuLtHy4CXQ$"
              "DTjYprZfaUWA/ShP8P3AHC28yx3Kloem24mMvUk/0KA")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def check_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidParameter(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
