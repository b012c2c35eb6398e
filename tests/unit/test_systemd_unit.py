"""etc/ws.service: runs `ws serve` as the service account, restarted on failure."""

from __future__ import annotations

import configparser
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "etc" / "ws.service"


def test_the_unit_runs_the_service_as_its_account_and_restarts_it() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT)
    service = unit["Service"]
    assert service["User"] == "ws" and service["Group"] == "ws"
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"].split()[0].endswith("/.venv/bin/ws")
    assert service["ExecStart"].split()[-1] == "serve"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_unit_keeps_what_the_service_writes_private() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNIT)
    assert unit["Service"]["UMask"] == "0077"
