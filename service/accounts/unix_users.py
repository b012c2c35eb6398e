"""The Unix user a ws user is mapped to in identity mode "unix": who may be one.

The service account may act as the members of one group through one sudo rule
(scripts/ws-as-user, docs/admin.md); a mapping names which member a ws user's
runs execute as. A name is checked against the password database when it is
mapped: it must exist, be an ordinary person's account (UID >= 1000, a login
shell), belong to the group, and not be the service account itself."""

from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import Callable
from dataclasses import dataclass

from service.core.errors import AccessDenied, InvalidParameter

# A portable Unix user name (useradd's default NAME_REGEX, without the trailing
# `$` of machine accounts). It also keeps out what sudo reads otherwise: `#1000`
# is a UID to `sudo -u`, `%group` a group, `+netgroup` a netgroup.
UNIX_NAME_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Below this, system accounts (Debian's FIRST_UID; Open OnDemand's min_uid).
MIN_UID = 1000
# Shells that mean "no logins": such an account is a service's or a disabled one.
NO_LOGIN_SHELLS = frozenset({"nologin", "false", "true"})


@dataclass(frozen=True)
class UnixLookup:
    """The password and group databases (injected: tests fake them)."""

    getpwnam: Callable[[str], pwd.struct_passwd] = pwd.getpwnam
    getgrnam: Callable[[str], grp.struct_group] = grp.getgrnam
    service_uid: Callable[[], int] = os.geteuid


SYSTEM_LOOKUP = UnixLookup()


def check_unix_user(name: str, group: str, lookup: UnixLookup | None = None) -> str:
    """`name`, if a ws user may be mapped to it; InvalidParameter saying why not."""
    lookup = lookup or SYSTEM_LOOKUP
    if not isinstance(name, str) or not UNIX_NAME_RE.fullmatch(name):
        raise InvalidParameter(f"{str(name)[:40]!r} is no Unix user name",
                               ["lower-case letters, digits, '_' and '-', at most 32, "
                                "not starting with a digit or '-'"])
    try:
        account = lookup.getpwnam(name)
    except KeyError:
        raise InvalidParameter(f"there is no Unix user {name!r} on this machine") from None
    if account.pw_uid == lookup.service_uid():
        raise InvalidParameter(f"Unix user {name!r} is the service account")
    if account.pw_uid < MIN_UID:
        raise InvalidParameter(f"Unix user {name!r} has UID {account.pw_uid}",
                               [f"runs execute only as ordinary users (UID >= {MIN_UID})"])
    shell = os.path.basename(account.pw_shell or "")
    if not shell or shell in NO_LOGIN_SHELLS:
        raise InvalidParameter(f"Unix user {name!r} has no login shell "
                               f"({account.pw_shell or 'none'})",
                               ["a disabled or system account is no person's"])
    _check_member(account, group, lookup)
    return name


def _check_member(account: pwd.struct_passwd, group: str, lookup: UnixLookup) -> None:
    try:
        members = lookup.getgrnam(group)
    except KeyError:
        raise InvalidParameter(f"there is no Unix group {group!r} ([identity] group)",
                               ["the sudoers rule lets the service act as its members"]
                               ) from None
    if account.pw_gid != members.gr_gid and account.pw_name not in members.gr_mem:
        raise InvalidParameter(f"Unix user {account.pw_name!r} is not in the group "
                               f"{group!r}",
                               ["the service may act only as its members: "
                                f"usermod -aG {group} {account.pw_name}"])


def runs_as(unix_user: str | None, user: str) -> str:
    """In identity mode "unix", the Unix user `user`'s runs execute as; AccessDenied
    (403, with the reason) for a user mapped to none."""
    if unix_user is None:
        raise AccessDenied(f"{user} may not run: this service runs each user's runs as "
                           "their own Unix user, and none is mapped to them",
                           ["an administrator maps one: ws admin user unix "
                            f"{user} UNIXNAME"])
    return unix_user
