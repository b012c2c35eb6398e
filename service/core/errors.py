"""Domain errors. Core modules raise these, never web.HTTP*; one middleware
(service.web.middleware) maps them to the one JSON error shape."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class WsError(Exception):
    """Base of every error a client may see. `more` lists details."""

    def __init__(self, message: str, more: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.more = list(more or [])


class InvalidParameter(WsError):
    """A parameter is missing, malformed or outside what is allowed."""


class AuthenticationFailed(WsError):
    """No token, a bad token, or wrong credentials."""


class AccessDenied(WsError):
    """Authenticated, but not allowed to do this."""


class NotFound(WsError):
    """Unknown software, container, user, run key or download key."""


class NotReady(WsError):
    """The run has not ended well (yet): results cannot be served."""


class RunFailed(WsError):
    """A local run ended badly; `report` says how."""

    def __init__(self, message: str, report: dict[str, object], more: list[str] | None = None):
        super().__init__(message, more)
        self.report = report


class TooLarge(WsError):
    """An upload or the request is over a configured limit."""


class TooManyRuns(WsError):
    """The user has too many live runs."""


class TooManyAttempts(WsError):
    """Too many login attempts for a user name or from an address (429)."""

    def __init__(self, message: str, more: list[str], retry_after_s: int) -> None:
        super().__init__(message, more)
        self.retry_after_s = retry_after_s


class Busy(WsError):
    """Local runs are all busy and the waiting queue is full."""

    retry_after_s = 5


class ClusterUnavailable(WsError):
    """Slurm could not take the job."""


class StorageFull(WsError):
    """The disk is full; nothing was kept."""


class StorageQuotaExceeded(WsError):
    """The user's ended runs already keep what each user may keep on disk (507)."""


class Conflict(WsError):
    """The thing to create exists already (admin operations)."""


@contextmanager
def full_disk_is_storage_full(message: str, more: list[str]) -> Iterator[None]:
    """Inside, a full disk or quota (ENOSPC, EDQUOT) becomes StorageFull (507);
    any other OSError stays what it is."""
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise StorageFull(message, more + ([e.strerror] if e.strerror else [])) from e
