"""Fakes shared by the unit tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from ws_slurm.run import Completed
from ws_slurm.states import JobInfo, StatesAnswer

from service.cluster.probe import ControllerProbe
from service.cluster.submit import SubmissionFailed
from service.core.errors import ClusterUnavailable
from service.runs.folder import RunFolder


class FakeClock:
    """A clock the test moves: nothing sleeps on the wall clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.elapsed = 0.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.elapsed += seconds


class FakeBackend:
    """The cluster at the process boundary: what `submit` does is the test's (by
    default, nothing reaches Slurm: SubmissionFailed), `known` is what Slurm
    answers of the jobs, `answered` whether it answered at all; cancellations
    are recorded."""

    def __init__(self, submit: Callable[[RunFolder], tuple[int, ...]] | None = None,
                 known: dict[int, JobInfo] | None = None, answered: bool = True) -> None:
        self._submit = submit
        self.known = known if known is not None else {}
        self.answered = answered
        self.cancelled: list[int] = []
        self.closed = False

    async def submit(self, folder: RunFolder) -> tuple[int, ...]:
        if self._submit is None:
            raise SubmissionFailed("no cluster in the unit tests")
        return self._submit(folder)

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        return StatesAnswer({j: i for j, i in self.known.items() if j in job_ids},
                            self.answered)

    async def cancel(self, job_ids: Iterable[int]) -> None:
        self.cancelled += sorted(job_ids)

    async def close(self) -> None:
        self.closed = True

    def refuse_unsupported(self, sbatch: Sequence[tuple[str, str]]) -> None:
        pass


class FakeProbe(ControllerProbe):
    """slurmctld up (or down) without asking `scontrol`."""

    def __init__(self, up: bool = True) -> None:
        super().__init__()
        self.up = up

    async def start(self) -> None:
        pass

    async def check(self) -> None:
        if not self.up:
            raise ClusterUnavailable("the cluster is not available: its controller does "
                                     "not answer")


class NoForker:
    """A workflow forker for tests that submit nothing."""

    async def fork_workflow(self, folder: Path, args: Sequence[str]
                            ) -> tuple[int, Awaitable[int]]:
        raise AssertionError("no submission here")


class Recorded:
    """Slurm's recorded answers, by command name; the commands asked, in order."""

    def __init__(self, **answers: Completed) -> None:
        self.answers = answers
        self.asked: list[list[str]] = []

    async def __call__(self, argv: Sequence[str], timeout: float = 30.0) -> Completed:
        self.asked.append(list(argv))
        return self.answers[argv[0]]
