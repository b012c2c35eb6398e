"""Every aiohttp application key, typed, in one place."""

from __future__ import annotations

from aiohttp import web

from service.config import Config
from service.store import Store

CONFIG_KEY = web.AppKey("config", Config)
STORE_KEY = web.AppKey("store", Store)
JWT_SECRET_KEY = web.AppKey("jwt_secret", str)
