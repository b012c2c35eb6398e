"""Jobs submitted, followed and cancelled through libdrmaa (slurm-drmaa) with the
`drmaa` binding (an optional dependency, imported at the first use), in one
DRMAA session, opened at the first call: libdrmaa allows one per process. The
binding finds libdrmaa through DRMAA_LIBRARY_PATH when it is first imported:
the library's path, if given, is put there before that.

The calls block (each is one request to slurmctld): async callers run them in
a thread."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ws_slurm.native import Template


class DrmaaError(Exception):
    """libdrmaa is missing, cannot start a session, or refused a job."""


# DRMAA's job states (the binding's JobState strings) as the Slurm state words
# the rest of ws reads. `failed` is also what slurm-drmaa answers for a job Slurm
# no longer knows (one it did not see run in this session): whoever reads it
# pairs it with the job's exit record. `undetermined` is no answer (left out).
SLURM_WORDS = {
    "queued_active": "PENDING",
    "system_on_hold": "PENDING",
    "user_on_hold": "PENDING",
    "user_system_on_hold": "PENDING",
    "running": "RUNNING",
    "system_suspended": "SUSPENDED",
    "user_suspended": "SUSPENDED",
    "user_system_suspended": "SUSPENDED",
    "done": "COMPLETED",
    "failed": "FAILED",
}


def import_drmaa(library: str | None) -> Any:
    """The `drmaa` module, loading libdrmaa from `library` (else from
    $DRMAA_LIBRARY_PATH); DrmaaError saying what is missing."""
    if library:
        os.environ["DRMAA_LIBRARY_PATH"] = library
    path = os.environ.get("DRMAA_LIBRARY_PATH", "")
    if not path or not os.path.isfile(path):
        raise DrmaaError(f"the DRMAA backend needs libdrmaa: DRMAA_LIBRARY_PATH={path!r} "
                            "is no file (give its path, or set the variable)")
    try:
        import drmaa
    except (ImportError, RuntimeError, OSError) as e:
        raise DrmaaError(f"cannot load libdrmaa from {path}: {e}") from e
    return drmaa


@contextlib.contextmanager
def only_environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """The process's environment is exactly `env` meanwhile (None: unchanged).
    slurm-drmaa gives each job the submitting process's whole environment (it has
    no --export): narrowed while it submits, the job gets what sbatch's --export
    would give it, and nothing of the service's own."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class DrmaaJobs:
    """One DRMAA session's jobs; DrmaaError when libdrmaa cannot be used."""

    def __init__(self, library: str | None) -> None:
        self.library = library
        self._drmaa: Any = None
        self._session: Any = None

    def session(self) -> Any:
        if self._session is None:
            self._drmaa = import_drmaa(self.library)
            session = self._drmaa.Session()
            try:
                session.initialize()
            except self._drmaa.errors.DrmaaException as e:
                raise DrmaaError(f"DRMAA session could not start: {e}") from e
            self._session = session
        return self._session

    def submit(self, template: Template) -> str:
        session = self.session()
        jt = session.createJobTemplate()
        try:
            jt.remoteCommand = template.remote_command
            jt.jobName = template.job_name
            jt.workingDirectory = template.working_directory
            jt.outputPath = template.output_path
            jt.joinFiles = True  # sbatch --output without --error: both streams there
            jt.nativeSpecification = template.native_specification
            with only_environment(template.job_environment):
                job_id = str(session.runJob(jt))
        except self._drmaa.errors.DrmaaException as e:
            raise DrmaaError(f"DRMAA did not take the job: {e}") from e
        finally:
            session.deleteJobTemplate(jt)
        if not job_id.isdigit():
            raise DrmaaError(f"DRMAA gave no Slurm job id: {job_id!r}")
        return job_id

    def states(self, ids: list[str]) -> dict[str, str]:
        """Slurm's words for these jobs (one jobStatus each); a job DRMAA cannot
        tell is left out."""
        session = self.session()
        states = {}
        for job_id in ids:
            word = SLURM_WORDS.get(str(session.jobStatus(job_id)))
            if word:
                states[job_id] = word
        return states

    def cancel(self, ids: list[str]) -> None:
        for job_id in ids:
            with contextlib.suppress(self._drmaa.errors.DrmaaException):
                self.terminate(job_id)

    def terminate(self, job_id: str) -> None:
        """Cancel one job (Slurm: CANCELLED); the library's exception if it cannot,
        also for a job already over ("already completing or completed")."""
        session = self.session()
        session.control(job_id, self._drmaa.JobControlAction.TERMINATE)

    def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.exit()
            self._session = None
