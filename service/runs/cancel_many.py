"""Which of the caller's runs one call cancels (POST run/cancel): all their live
cluster runs, or those of a software, or in a Slurm state. Pydantic models, so
that the OpenAPI description shows what is checked and answered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.core.errors import InvalidParameter
from service.core.store import RunIndexEntry
from service.runs.state import RunState


class CancelQuery(BaseModel):
    """Which of the caller's live cluster runs to cancel (no filter: all of them)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    software: Annotated[str | None, Field(description="only runs of this software",
                                          max_length=200)] = None
    state: Annotated[str | None, Field(
        description="only runs whose latest_state (Slurm's word) is this, e.g. PENDING",
        pattern=r"^[A-Z_]{1,32}$")] = None

    @classmethod
    def parse(cls, values: dict[str, Any]) -> CancelQuery:
        try:
            return cls.model_validate({k: v for k, v in values.items()
                                       if k in cls.model_fields and v not in ("", None)})
        except ValidationError as e:
            raise InvalidParameter("bad cancel parameters",
                                   [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                                    for err in e.errors()]) from None


class CancelledRun(BaseModel):
    key: str = Field(description="the run's key (a capability: keep it private)")
    name: str = Field(description="the software")
    number: int = Field(description="the run's number, as in its job name")
    job_id: int | None = Field(description="its first Slurm job id (none yet: being "
                               "submitted)")
    latest_state: str = Field(description="Slurm's state of its job when cancelled")


class CancelManyAnswer(BaseModel):
    cancelled: list[CancelledRun] = Field(
        description="runs whose Slurm jobs were cancelled: each ends NOK (latest_state "
                    "CANCELLED) within a poll round or two")
    not_in_slurm_yet: list[CancelledRun] = Field(
        description="runs still being submitted (no Slurm job yet): ask again in a moment")
    msg: str


def _summary(entry: RunIndexEntry, state: RunState) -> CancelledRun:
    return CancelledRun(key=entry.key, name=entry.software, number=entry.number,
                        job_id=state.job_id, latest_state=state.latest_state)


def choose(entries: Iterable[RunIndexEntry], live_state: Callable[[str], RunState | None],
           query: CancelQuery) -> tuple[dict[str, RunState], CancelManyAnswer]:
    """The runs to cancel ({key: state}) among the caller's live runs (`entries`),
    and the answer once they are; `live_state`: the ledger's live view."""
    chosen: dict[str, RunState] = {}
    cancelled, waiting = [], []
    for entry in entries:
        state = live_state(entry.key)
        if (entry.kind != "cluster" or state is None or state.final
                or (query.software is not None and entry.software != query.software)
                or (query.state is not None and state.latest_state != query.state)):
            continue
        if state.jobs:
            chosen[entry.key] = state
            cancelled.append(_summary(entry, state))
        else:
            waiting.append(_summary(entry, state))
    msg = (f"{len(cancelled)} runs cancelled: each ends NOK (latest_state CANCELLED) "
           "within a poll round or two")
    if waiting:
        msg += f"; {len(waiting)} not in Slurm yet: ask again in a moment"
    return chosen, CancelManyAnswer(cancelled=cancelled, not_in_slurm_yet=waiting, msg=msg)
