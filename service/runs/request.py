"""A run's validated request (RunRequest): what the job script and workflow are
built from, and what request.json keeps. service.runs.parameters makes one from
the client's parameters; from_dict reads it back from a run folder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.runs.singularity_options import Bind

# request.json's layout; 1 had no version field. Readers take every version so far.
REQUEST_VERSION = 2


class RunReport(BaseModel):
    """The request as every report of a run echoes it back."""

    model_config = ConfigDict(frozen=True)

    cmd: str = Field(description="the command run in the container")
    cmd_option: str = Field(description="the Singularity options, as given")
    ordered_filename_list: list[str] = Field(description="the uploaded files, in order")
    returned_type: str = Field(description="stdout, stdout.txt or run.zip")
    todownload: bool = Field(description="whether the results are kept for download")
    sbatch_list: list[str] | None = Field(
        default=None, description="cluster runs: the sbatch options, as --option=value")
    module_list: list[str] | None = Field(
        default=None, description="cluster runs: the environment modules loaded")


@dataclass(frozen=True)
class RunRequest:
    cmd: str
    cmd_option: str
    singularity_options: tuple[str, ...]  # validated, without binds
    binds: tuple[Bind, ...]
    ordered_filename_list: tuple[str, ...]
    returned_type: str
    todownload: bool
    format: str
    sbatch: tuple[tuple[str, str], ...]  # validated (option, value) pairs
    module_list: tuple[str, ...]

    @property
    def sbatch_list(self) -> list[str]:
        return [f"--{k}={v}" for k, v in self.sbatch]

    def report(self, cluster: bool) -> dict[str, Any]:
        """The request as the API echoes it back in every report."""
        return RunReport(
            cmd=self.cmd, cmd_option=self.cmd_option,
            ordered_filename_list=list(self.ordered_filename_list),
            returned_type=self.returned_type, todownload=self.todownload,
            sbatch_list=self.sbatch_list if cluster else None,
            module_list=list(self.module_list) if cluster else None,
        ).model_dump(exclude_none=True)

    def sbatch_value(self, option: str) -> str | None:
        return dict(self.sbatch).get(option)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRequest:
        """Rebuild from request.json in a run folder (any version so far: fields
        added later have their defaults)."""
        return cls(
            cmd=data["cmd"], cmd_option=data.get("cmd_option", ""),
            singularity_options=tuple(data.get("singularity_options", ())),
            binds=tuple(Bind(**b) for b in data.get("binds", ())),
            ordered_filename_list=tuple(data.get("ordered_filename_list", ())),
            returned_type=data.get("returned_type", "stdout"),
            todownload=bool(data.get("todownload", False)),
            format=data.get("format", "json"),
            sbatch=tuple((k, v) for k, v in data.get("sbatch", ())),
            module_list=tuple(data.get("module_list", ())),
        )
