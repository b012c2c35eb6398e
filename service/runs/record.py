"""request.json: what a run is (who, which software, which request, its number)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from service.core import atomic
from service.core.errors import NotFound
from service.runs.folder import RunFolder
from service.runs.request import REQUEST_VERSION, RunRequest


@dataclass(frozen=True)
class RunRecord:
    key: str
    name: str  # the software
    owner: str
    number: int
    kind: str  # "cluster" | "local"
    service: str  # the service's name in job names ("ws")
    request: RunRequest
    created: float = 0.0

    @property
    def jobname(self) -> str:
        return f"{self.number}-{self.service}-{self.name}"

    def to_dict(self) -> dict[str, Any]:
        data = {"version": REQUEST_VERSION, **asdict(self)}
        data["created"] = self.created or time.time()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Any version so far; ValueError for one this ws cannot read."""
        version = data.get("version", 1)
        if not isinstance(version, int) or not 1 <= version <= REQUEST_VERSION:
            raise ValueError(f"request.json version {version!r} is not one this ws reads")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["request"] = RunRequest.from_dict(data["request"])
        return cls(**fields)


def load_record(folder: RunFolder) -> RunRecord:
    """The run's record; NotFound (never a crash) for one that cannot be read:
    missing, damaged, or written by another version of ws."""
    try:
        data = atomic.read_json(folder.request_file)
        if not isinstance(data, dict):
            raise ValueError("request.json is not an object")
        return RunRecord.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise NotFound("unknown run key",
                       ["the run's record cannot be read by this version of ws"]) from e
