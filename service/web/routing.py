"""Route registration where a trailing slash is accepted and optional."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Routes:
    """Like web.RouteTableDef, but each path also answers with a trailing slash."""

    def __init__(self) -> None:
        self.table = web.RouteTableDef()

    def _add(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.table.route(method, path)(handler)
            self.table.route(method, path + "/")(handler)
            return handler
        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self._add("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self._add("POST", path)
