"""The caller's own runs, paged and filtered (RunListQuery -> RunPage): pydantic
models, so that the OpenAPI description shows exactly what is checked and sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.core.errors import InvalidParameter
from service.core.store import RunIndexEntry, Store
from service.runs.state import Cr, RunState

MAX_PER_PAGE = 100


class RunListQuery(BaseModel):
    """Which of the caller's runs to list."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    state: Annotated[Literal["WAIT", "OK", "NOK"] | None,
                     Field(description="only runs whose cr is this")] = None
    software: Annotated[str | None, Field(description="only runs of this software",
                                          max_length=200)] = None
    page: Annotated[int, Field(ge=1, le=1_000_000, description="page number, from 1")] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE,
                                   description="runs per page")] = 20

    @classmethod
    def parse(cls, values: dict[str, Any]) -> RunListQuery:
        try:
            return cls.model_validate({k: v for k, v in values.items()
                                       if k in cls.model_fields and v not in ("", None)})
        except ValidationError as e:
            raise InvalidParameter("bad run list parameters",
                                   [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                                    for err in e.errors()]) from None


class RunSummary(BaseModel):
    model_config = ConfigDict(use_enum_values=True)  # answers hold plain strings

    key: str = Field(description="the run's key (a capability: keep it private)")
    name: str = Field(description="the software")
    number: int = Field(description="the run's number, as in its job name")
    kind: Literal["cluster", "local"]
    created: str = Field(description="when the run was asked for (ISO 8601, UTC)")
    cr: Cr
    latest_state: str = Field(description="Slurm's latest state of its job")
    job_id: int | None = Field(description="the Slurm job id (cluster runs)")
    cause: str = Field(description="why a NOK run ended so ('' otherwise)")


class RunPage(BaseModel):
    runs: list[RunSummary]
    page: int
    per_page: int
    total: int = Field(description="how many runs match, over all pages")


def _summary(entry: RunIndexEntry, state_of: Callable[[str], RunState]) -> RunSummary:
    try:
        state = state_of(entry.key)
    except (OSError, ValueError, TypeError):
        state = RunState(cr=Cr(entry.cr), latest_state="UNKNOWN")
    return RunSummary(
        key=entry.key, name=entry.software, number=entry.number,
        kind=entry.kind,  # type: ignore[arg-type]
        created=datetime.fromtimestamp(entry.created, UTC).isoformat(timespec="seconds"),
        cr=state.cr, latest_state=state.latest_state, job_id=state.job_id,
        cause=state.cause)


def list_runs(store: Store, owner: str, query: RunListQuery,
              state_of: Callable[[str], RunState]) -> RunPage:
    """`state_of`: the ledger's (its live view, fresher than state.json, else state.json)."""
    entries, total = store.runs_of(owner, query.state, query.software,
                                   limit=query.per_page,
                                   offset=(query.page - 1) * query.per_page)
    return RunPage(runs=[_summary(e, state_of) for e in entries],
                   page=query.page, per_page=query.per_page, total=total)
