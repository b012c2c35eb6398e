"""State calls that wait (?wait=SECONDS): the answer comes when the run's state
changes or the time is up. The ledger is the source: a waiting call sleeps on its
change event, never asks Slurm and never blocks the loop."""

from __future__ import annotations

import asyncio

from service.core.errors import InvalidParameter
from service.runs.ledger import Ledger
from service.runs.state import RunState

MAX_WAIT_S = 60.0


def wait_seconds(value: object) -> float:
    """The `wait` parameter: 0 (absent) to MAX_WAIT_S seconds."""
    if value in (None, ""):
        return 0.0
    try:
        seconds = float(str(value))
    except ValueError:
        raise InvalidParameter(f"bad wait {value!r}", ["a number of seconds"]) from None
    if not 0 <= seconds <= MAX_WAIT_S:  # also refuses nan
        raise InvalidParameter(f"bad wait {value!r}",
                               [f"from 0 to {MAX_WAIT_S:g} seconds"])
    return seconds


def _shown(state: RunState) -> tuple[object, ...]:
    return state.cr, state.latest_state, state.job_id


async def wait_for_change(ledger: Ledger, key: str, state: RunState,
                          seconds: float) -> RunState:
    """The run's state once it differs from `state` (or is final), at most `seconds` on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not state.final:
        changed = ledger.changed()  # taken before the read below: no change is missed
        current = ledger.state_of(key)
        if _shown(current) != _shown(state):
            return current
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            await asyncio.wait_for(changed.wait(), remaining)
        except TimeoutError:
            break
    return ledger.state_of(key)
