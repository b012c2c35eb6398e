"""`ws admin ...`: the cluster admin's commands."""

from __future__ import annotations

import argparse

from service.config import Config


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("admin", help="manage users, softwares, containers and access")


def run(args: argparse.Namespace, config: Config) -> int:
    return 0
