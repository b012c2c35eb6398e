"""The reports a run's state and results calls answer with, as pydantic models:
results.cluster_report builds its answer through them, and the OpenAPI
description shows their JSON Schema."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.runs.request import RunReport
from service.runs.state import Cr, LatestCr


class Resource(BaseModel):
    identity: str = Field(description="the cluster resource (muse)")


class Process(BaseModel):
    # extra: a later executor may add job ids; enum values: answers hold plain strings.
    model_config = ConfigDict(extra="allow", use_enum_values=True)

    jobname: str = Field(description="run number, service, software: 114-ws-sw_example")
    job_id: int | None = Field(description="the Slurm job id")
    latest_cr: LatestCr
    latest_state: str = Field(description="Slurm's state: PENDING, RUNNING, COMPLETED, "
                                          "FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, ...")
    cause: str | None = Field(default=None, description="NOK runs: why")


class ClusterReport(BaseModel):
    model_config = ConfigDict(use_enum_values=True)

    request: RunReport
    rsrc: Resource
    process: Process
    name: str = Field(description="the software")
    cr: Cr = Field(description="WAIT while running, then OK or NOK")


class LocalReport(BaseModel):
    name: str
    request: RunReport
    cr: Literal["OK", "NOK"]
    cause: str | None = None
    stderr: str | None = Field(default=None, description="NOK runs: the end of stderr")
