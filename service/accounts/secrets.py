"""The JWT signing secret: from configuration, else generated once and kept
with mode 0600 in the state folder."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from service.core.config import Config


def jwt_secret(config: Config) -> str:
    if config.auth.jwt_secret:
        return config.auth.jwt_secret
    path: Path = config.state_dir / "jwt_secret"
    config.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    with contextlib.suppress(FileExistsError):
        os.link(tmp, path)  # first writer wins, so two starting services agree
    tmp.unlink()
    return path.read_text().strip()
