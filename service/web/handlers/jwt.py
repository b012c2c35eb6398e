"""jwt endpoints."""

from service.web.routing import Routes

routes = Routes()
