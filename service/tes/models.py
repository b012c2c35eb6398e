"""The TES v1.1 documents as pydantic models: what a POST may hold (bounded, so
that a hostile task cannot make the service hold much), and what is answered.
Field names and meanings are the specification's (../shared/reference/ga4gh-tes)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Bounds of a task document (each refused with 400 beyond): far above what a
# workflow manager sends, far below what could hurt the service.
MAX_EXECUTORS = 32
MAX_FILES = 256  # inputs, outputs
MAX_VOLUMES = 64
MAX_ARGS = 4096
MAX_TAGS = 64
MAX_ENV = 256
Text = Annotated[str, StringConstraints(max_length=4096)]
Name = Annotated[str, StringConstraints(max_length=1024)]
Path = Annotated[str, StringConstraints(max_length=1024)]
Arg = Annotated[str, StringConstraints(max_length=64 * 1024)]


class TesState(StrEnum):
    UNKNOWN = "UNKNOWN"
    QUEUED = "QUEUED"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETE = "COMPLETE"
    EXECUTOR_ERROR = "EXECUTOR_ERROR"
    SYSTEM_ERROR = "SYSTEM_ERROR"
    CANCELED = "CANCELED"
    PREEMPTED = "PREEMPTED"
    CANCELING = "CANCELING"


FINAL_STATES = frozenset({TesState.COMPLETE, TesState.EXECUTOR_ERROR, TesState.SYSTEM_ERROR,
                          TesState.CANCELED, TesState.PREEMPTED})


class FileType(StrEnum):
    FILE = "FILE"
    DIRECTORY = "DIRECTORY"


class _Doc(BaseModel):
    # Read-only fields a client echoes back (id, state, logs...) are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)


class TesInput(_Doc):
    name: Name | None = None
    description: Text | None = None
    url: Annotated[str, StringConstraints(max_length=4096)] | None = None
    path: Path
    type: FileType = FileType.FILE
    # Bounded by tes.max_content_bytes when checked (413), not here (400).
    content: str | None = None
    streamable: bool | None = None


class TesOutput(_Doc):
    name: Name | None = None
    description: Text | None = None
    url: Annotated[str, StringConstraints(max_length=4096)]
    path: Path
    path_prefix: Path | None = None
    type: FileType = FileType.FILE


class TesResources(_Doc):
    cpu_cores: Annotated[int, Field(ge=1, le=4096)] | None = None
    preemptible: bool | None = None
    ram_gb: Annotated[float, Field(gt=0, le=1 << 20)] | None = None
    disk_gb: Annotated[float, Field(ge=0, le=1 << 30)] | None = None
    zones: Annotated[list[Name], Field(max_length=64)] | None = None
    backend_parameters: Annotated[dict[Name, Text], Field(max_length=64)] | None = None
    backend_parameters_strict: bool | None = None


class TesExecutor(_Doc):
    image: Name
    command: Annotated[list[Arg], Field(min_length=1, max_length=MAX_ARGS)]
    workdir: Path | None = None
    stdin: Path | None = None
    stdout: Path | None = None
    stderr: Path | None = None
    env: Annotated[dict[Name, Arg], Field(max_length=MAX_ENV)] | None = None
    ignore_error: bool | None = None


class TesTask(_Doc):
    """A task as POST /tasks takes it."""

    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=64 * 1024)] | None = None
    inputs: Annotated[list[TesInput], Field(max_length=MAX_FILES)] | None = None
    outputs: Annotated[list[TesOutput], Field(max_length=MAX_FILES)] | None = None
    resources: TesResources | None = None
    executors: Annotated[list[TesExecutor], Field(min_length=1, max_length=MAX_EXECUTORS)]
    volumes: Annotated[list[Path], Field(max_length=MAX_VOLUMES)] | None = None
    tags: Annotated[dict[Name, Text], Field(max_length=MAX_TAGS)] | None = None


# ---- answers ---------------------------------------------------------------------------

class TesExecutorLog(BaseModel):
    start_time: str | None = Field(default=None, description="RFC 3339")
    end_time: str | None = Field(default=None, description="RFC 3339")
    stdout: str | None = Field(default=None, description="the end of its stdout (FULL)")
    stderr: str | None = Field(default=None, description="the end of its stderr (FULL)")
    exit_code: int | None = Field(default=None,
                                  description="once the executor has ended")


class TesOutputFileLog(BaseModel):
    url: str
    path: str
    size_bytes: str = Field(description="an int64, as a string")


class TesTaskLog(BaseModel):
    logs: list[TesExecutorLog]
    metadata: dict[str, str] | None = None
    start_time: str | None = None
    end_time: str | None = None
    outputs: list[TesOutputFileLog]
    system_logs: list[str] | None = Field(default=None, description="FULL view only")


class TesTaskView(BaseModel):
    """A task as GET answers it: MINIMAL holds id and state only; BASIC all but
    executors' stdout/stderr, inputs' content and system_logs; FULL everything."""

    id: str
    state: TesState
    name: str | None = None
    description: str | None = None
    inputs: list[TesInput] | None = None
    outputs: list[TesOutput] | None = None
    resources: TesResources | None = None
    executors: list[TesExecutor] | None = None
    volumes: list[str] | None = None
    tags: dict[str, str] | None = None
    logs: list[TesTaskLog] | None = None
    creation_time: str | None = None


class TesListTasksResponse(BaseModel):
    tasks: list[TesTaskView]
    next_page_token: str | None = None


class TesCreateTaskResponse(BaseModel):
    id: str


class TesCancelTaskResponse(BaseModel):
    pass


class TesServiceType(BaseModel):
    group: str
    artifact: str
    version: str


class TesOrganization(BaseModel):
    name: str
    url: str


class TesServiceInfo(BaseModel):
    id: str
    name: str
    type: TesServiceType
    description: str
    organization: TesOrganization
    version: str
    documentationUrl: str | None = None
    storage: list[str]
    tesResources_backend_parameters: list[str]
