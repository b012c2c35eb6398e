"""A small Python client of the ws API (WsClient), for scripts, notebooks and the
`ws` command's client subcommands. Standard library only, and nothing else of
service/: it is the bottom of the layout and works on any machine with Python."""

from service.client.api import RunHandle, WsClient, WsClientError

__all__ = ["RunHandle", "WsClient", "WsClientError"]
