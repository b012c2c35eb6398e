"""Where the command-line client keeps its service URL and token: one JSON file in
the user's config folder ($XDG_CONFIG_HOME/ws or ~/.config/ws), mode 0600, written
so that it is never readable by others, not even for a moment. The token is kept
with the URL it was obtained from, and is only ever sent there: WS_URL naming
another service (scheme, host and port) gets no token."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from service.client.http import origin

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Login:
    url: str
    username: str = ""
    token: str = ""


def login_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "ws" / "client.json"


def kept_login(env: Mapping[str, str]) -> Login:
    """The login file as kept: the token with the URL it was obtained from."""
    try:
        data = json.loads(login_file(env).read_text())
    except (OSError, ValueError):
        return Login(DEFAULT_URL)
    return Login(str(data.get("url") or DEFAULT_URL), str(data.get("username", "")),
                 str(data.get("token", "")))


def load_login(env: Mapping[str, str]) -> Login:
    """The service to call (WS_URL, else the kept URL) and the kept token if it
    was obtained from that same origin, else no token."""
    kept = kept_login(env)
    url = env.get("WS_URL") or kept.url
    if origin(url) != origin(kept.url):
        return Login(url)
    return Login(url, kept.username, kept.token)


def token_elsewhere(env: Mapping[str, str]) -> str | None:
    """What to tell a user whose kept token is for another service than WS_URL's."""
    kept, used = kept_login(env), load_login(env)
    if not kept.token or used.token:
        return None
    return (f"the kept token is for {kept.url}, not for WS_URL {used.url}; "
            f"log in there: ws login --url {used.url} USERNAME")


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
        save_login(env, Login(kept_login(env).url))
