"""The one way ws asks Slurm about jobs: squeue first, then sacct for those squeue
has forgotten (MinJobAge). Two commands at most per question, whatever the
number of jobs. sacct failing (slurmdbd down) is no error; on a cluster without
accounting sacct is asked once, said once, and never again: squeue (and the
jobs' exit records) then tell everything."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from ws_slurm import sacct, squeue
from ws_slurm.named import jobs_of_runs, parse_named_jobs
from ws_slurm.run import Runner, run
from ws_slurm.states import JobInfo, StatesAnswer, parse_states

log = logging.getLogger(__name__)


class SlurmQuery:
    def __init__(self, runner: Runner = run, whole_account: bool = True,
                 users: Callable[[], Sequence[str]] = tuple) -> None:
        """`whole_account`: one squeue for every job of the account (--me), so that
        a job it leaves out is one Slurm does not know; else squeue by job ids
        (an account with many jobs of its own), which fails as a whole when it
        no longer knows one of them. `users`: whose jobs "the account" is, asked
        anew at each query; none: the calling account's (a service that submits
        as its users, identity mode "unix", names them)."""
        self.runner = runner
        self.whole_account = whole_account
        self.users = users
        self.queries = 0  # commands run, for tests and benchmarks
        self.accounting = True  # False once sacct has said accounting is disabled

    async def states(self, job_ids: set[int]) -> StatesAnswer:
        """What squeue and sacct know of these jobs; answered: squeue answered for
        the whole account."""
        known: dict[int, JobInfo] = {}
        self.queries += 1
        result = await self.runner(squeue.states_argv(
            None if self.whole_account else job_ids, users=self.users()))
        answered = result.ok and self.whole_account
        if result.ok:
            known.update(parse_states(result.stdout))
        elif self.whole_account:
            log.warning("squeue failed: %s", result.stderr.strip())
        missing = job_ids - set(known)
        if missing and self.accounting:
            self.queries += 1
            result = await self.runner(sacct.states_argv(missing))
            if result.ok:
                known.update(parse_states(result.stdout))
            else:
                self._sacct_failed(result.stderr)
        return StatesAnswer({i: info for i, info in known.items() if i in job_ids},
                            answered)

    async def by_name(self, runs: Mapping[str, str], since: float
                      ) -> tuple[dict[str, tuple[int, ...]] | None, bool]:
        """({run folder name: its job ids}, complete) for runs given as {folder
        name: job name};
        None if squeue failed. complete: what is not found does not exist (squeue
        and sacct both answered, or the cluster keeps no accounting). sacct from
        `since` (epoch seconds), and only for the runs squeue found nothing of."""
        self.queries += 1
        users = self.users()
        result = await self.runner(squeue.by_name_argv(runs.values(), users=users))
        if not result.ok:
            log.warning("squeue failed: %s", result.stderr.strip())
            return None, False
        found = jobs_of_runs(parse_named_jobs(result.stdout), runs)
        missing = {k: n for k, n in runs.items() if not found[k]}
        if not missing or not self.accounting:
            return found, True
        self.queries += 1
        result = await self.runner(sacct.by_name_argv(missing.values(), since, users=users))
        if result.ok:
            found.update(jobs_of_runs(parse_named_jobs(result.stdout), missing))
            return found, True
        return found, not self._sacct_failed(result.stderr)

    def _sacct_failed(self, stderr: str) -> bool:
        """Whether sacct's failure is passing (True) or the cluster keeps no
        accounting (False: sacct is not asked again)."""
        if sacct.accounting_disabled(stderr):
            self.accounting = False
            log.warning("this cluster keeps no accounting (%s): job states come from "
                        "squeue and the run folders alone", stderr.strip())
            return False
        log.info("sacct unavailable: %s", stderr.strip())
        return True
