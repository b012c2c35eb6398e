"""The application factory: create_app(config) -> web.Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from service.config import Config
from service.keys import CONFIG_KEY, JWT_SECRET_KEY, STORE_KEY
from service.secrets_file import jwt_secret
from service.store import Store
from service.web.handlers import access, admin, catalogue, jwt
from service.web.middleware import error_middleware

HANDLER_MODULES = (jwt, catalogue, access, admin)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = Store(app[CONFIG_KEY].database)
    app[STORE_KEY] = store
    yield
    store.close()


def create_app(config: Config) -> web.Application:
    # Bodies other than multipart (streamed with their own limits) stay small.
    app = web.Application(middlewares=[error_middleware], client_max_size=2 * 1024 * 1024)
    app[CONFIG_KEY] = config
    app[JWT_SECRET_KEY] = jwt_secret(config)
    app.cleanup_ctx.append(_store_ctx)
    for module in HANDLER_MODULES:
        app.add_routes(module.routes.table)
    return app
