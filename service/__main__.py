"""`ws`: the command line (serve, admin, and the users' client: login, run, ...).
The only place that reads os.environ."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from service.cli import admin as admin_cli
from service.cli import client as client_cli
from service.core.config import Config, ConfigError, load_config, with_overrides
from service.core.instance_lock import AlreadyRunning, hold_instance_lock
from service.core.private import (
    become_owner_of,
    make_private,
    private_files_under,
    private_umask,
)
from service.web.accesslog import RedactingAccessLogger, RedactingFilter
from service.web.app import create_app

SWITCH_INTERVAL_S = 0.0005


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ws", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML config file (default: $WS_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    admin_cli.add_parser(sub)
    client_cli.add_parsers(sub)
    head, command = client_cli.split_command(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(head)
    if command is not None:
        args.cmd = command
    if args.command in client_cli.COMMANDS:
        # The users' client needs no service config: it talks to the service over HTTP.
        return client_cli.run(args, os.environ)
    try:
        config = load_config(args.config, os.environ)
    except ConfigError as e:
        print(f"ws: {e}", file=sys.stderr)
        return 2
    # What the service and its admin write is theirs alone (core/private.py).
    with private_umask():
        return _serve(args, config) if args.command == "serve" else _admin(args, config)


def _serve(args: argparse.Namespace, config: Config) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    config = with_overrides(config, **overrides)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # every logger ends in these
        handler.addFilter(RedactingFilter())
    # Run folders are built in the thread pool: while a thread holds the GIL,
    # every call by which the event loop lets it go (a query, a socket write)
    # waits up to the switch interval to get it back. 5 ms by default, which a
    # burst of POSTs paid at each such call.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        make_private((config.state_dir, config.runs_dir, config.downloads_dir))
        private_files_under(config.state_dir)
    except OSError as e:
        print(f"ws: cannot make the service's folders private: {e}", file=sys.stderr)
        return 2
    try:
        with hold_instance_lock(config.state_dir):
            web.run_app(create_app(config), host=config.server.host,
                        port=config.server.port, access_log_class=RedactingAccessLogger)
    except AlreadyRunning as e:
        print(f"ws: {e}", file=sys.stderr)
        return 1
    except ConfigError as e:  # e.g. a cluster.backend that cannot work here
        print(f"ws: {e}", file=sys.stderr)
        return 2
    return 0


def _admin(args: argparse.Namespace, config: Config) -> int:
    become_owner_of(config.state_dir)
    return admin_cli.run(args, config)


if __name__ == "__main__":
    sys.exit(main())
