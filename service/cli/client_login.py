"""Where the command-line client keeps its service URL and token: one JSON file in
the user's config folder ($XDG_CONFIG_HOME/ws or ~/.config/ws), mode 0600, written
so that it is never readable by others, not even for a moment."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Login:
    url: str
    username: str = ""
    token: str = ""


def login_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "ws" / "client.json"


def load_login(env: Mapping[str, str]) -> Login:
    path = login_file(env)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return Login(env.get("WS_URL", DEFAULT_URL))
    return Login(env.get("WS_URL") or str(data.get("url") or DEFAULT_URL),
                 str(data.get("username", "")), str(data.get("token", "")))


def save_login(env: Mapping[str, str], login: Login) -> Path:
    path = login_file(env)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(login), out)
    os.chmod(tmp, 0o600)  # whatever the umask
    os.replace(tmp, path)
    return path


def forget_login(env: Mapping[str, str]) -> None:
    """Drop the token; the service's URL stays for the next login."""
    if login_file(env).exists():
        save_login(env, Login(load_login(env).url))
