"""JSON Web Tokens: HS256 only, with sub (the username), iat and exp required."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from service.core.errors import AuthenticationFailed

ALGORITHM = "HS256"
OBTAIN_HINT = "POST /api/jwt/obtain with username and password gives a token"


@dataclass(frozen=True)
class Token:
    jwt: str
    username: str
    expires: datetime
    issued: int = 0

    @property
    def expires_iso(self) -> str:
        return self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_token(secret: str, username: str, lifetime_s: int, now: float | None = None) -> Token:
    issued = int(time.time() if now is None else now)
    expires = issued + lifetime_s
    token = jwt.encode({"sub": username, "iat": issued, "exp": expires}, secret,
                       algorithm=ALGORITHM)
    return Token(token, username, datetime.fromtimestamp(expires, UTC), issued)


def decode_token(secret: str, token: str) -> Token:
    """The token's claims, if it is ours, unaltered and not expired. Listing the
    one algorithm is what refuses alg "none" and algorithm confusion."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "iat", "exp"]})
    except jwt.ExpiredSignatureError as e:
        raise AuthenticationFailed("the token has expired", [OBTAIN_HINT]) from e
    except jwt.InvalidTokenError as e:
        raise AuthenticationFailed("invalid token", [str(e)]) from e
    sub, exp, iat = claims["sub"], claims["exp"], claims["iat"]
    if not isinstance(sub, str) or not all(isinstance(v, int) for v in (exp, iat)):
        raise AuthenticationFailed("invalid token", ["bad sub, exp or iat claim"])
    return Token(token, sub, datetime.fromtimestamp(exp, UTC), iat)
