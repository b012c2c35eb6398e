"""The job's side of a task: `python -m service.tes.runner` in the run folder, the
one command of the task's one Slurm job (its rule in workflows/tes_task).

Stage-in (file:// inputs, checked again under the owner's roots), then each
executor in its container in turn (an argv list: no shell anywhere), its times
and exit status recorded in tes/, then stage-out, even after an executor's
error. Exit status: 0 when every executor exited 0 or had ignore_error, else the
first failing executor's; EXIT_STAGE_IN / EXIT_STAGE_OUT for the runner's own
failures. Everything it writes outside work/ is its own; everything under
work/root the executors may have changed, and is read without following links."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from service.tes import records as rec
from service.tes import safefs
from service.tes.paths import under
from service.tes.plan import (
    EXIT_STAGE_IN,
    EXIT_STAGE_OUT,
    HOME_DIR,
    TREE,
    FileOutput,
    TaskPlan,
    apptainer_argv,
    apptainer_env,
)


class Runner:
    def __init__(self, run_dir: Path, plan: TaskPlan) -> None:
        self.run_dir = run_dir
        self.plan = plan
        self.tes = run_dir / rec.FOLDER
        self.tree = str(run_dir / TREE)
        self.child: subprocess.Popen[bytes] | None = None

    # ---- records -----------------------------------------------------------------------
    def record(self, name: str, value: object) -> None:
        tmp = self.tes / f".{name}.tmp"
        tmp.write_text(f"{value}\n")
        os.replace(tmp, self.tes / name)

    def log(self, line: str) -> None:
        with open(self.tes / rec.SYSTEM_LOG, "a") as f:
            f.write(line[:2000] + "\n")

    # ---- the task ----------------------------------------------------------------------
    def run(self) -> int:
        self.record(rec.STARTED, time.time())
        try:
            self.stage_in()
        except (OSError, safefs.Refused) as e:
            self.log(f"stage-in failed: {e}")
            self.record(rec.ENDED, time.time())
            return EXIT_STAGE_IN
        failed = 0
        for index, executor in enumerate(self.plan.executors):
            code = self.execute(index)
            if code != 0 and not executor.ignore_error:
                failed = code
                break
        staged = self.stage_out(after_error=failed != 0)
        self.record(rec.ENDED, time.time())
        if failed:
            return failed
        return 0 if staged else EXIT_STAGE_OUT

    def _real_root(self, path: str) -> str:
        """The owner's root holding `path` (links resolved now: a root may have
        moved since POST); Refused if none does."""
        real = os.path.realpath(path)
        for root in self.plan.roots:
            root_real = os.path.realpath(root)
            if under(real, root_real):
                return root_real
        raise safefs.Refused(f"{path!r} is no longer under your file:// roots")

    def stage_in(self) -> None:
        (self.run_dir / HOME_DIR).mkdir(exist_ok=True)
        for item in self.plan.inputs:
            root = self._real_root(item.source)
            rel = os.path.relpath(os.path.realpath(item.source), root)
            rel = "" if rel == "." else rel
            if item.type == "DIRECTORY":
                for name in safefs.files_under(root, rel):
                    safefs.copy_file(root, f"{rel}/{name}", self.tree, f"{item.path}/{name}")
            else:
                safefs.copy_file(root, rel, self.tree, item.path)

    def execute(self, index: int) -> int:
        executor = self.plan.executors[index]
        out_path = self.tes / rec.exec_name(index, "stdout")
        err_path = self.tes / rec.exec_name(index, "stderr")
        stdin: int | None = None
        try:
            if executor.stdin:
                stdin = safefs.open_read(self.tree, executor.stdin)
        except safefs.Refused as e:
            self.log(f"executor {index}: stdin: {e}")
            self.record(rec.exec_name(index, "start"), time.time())
            self.record(rec.exec_name(index, "exit"), 1)
            self.record(rec.exec_name(index, "end"), time.time())
            return 1
        argv = apptainer_argv(self.plan, executor, str(self.run_dir))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               **apptainer_env(executor)}
        self.record(rec.exec_name(index, "start"), time.time())
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                self.child = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL,
                                              stdout=out, stderr=err, env=env,
                                              cwd=self.run_dir)
                code = self.child.wait()
            except OSError as e:
                err.write(f"ws: the container could not start: {e}\n".encode())
                code = 127
            finally:
                if stdin is not None:
                    os.close(stdin)
                self.child = None
        code = code if code >= 0 else 128 - code  # killed by a signal: as bash says
        self.record(rec.exec_name(index, "exit"), code)
        self.record(rec.exec_name(index, "end"), time.time())
        # The executor is over (its PID namespace with it): nothing races these copies.
        for path, local in ((executor.stdout, out_path), (executor.stderr, err_path)):
            if path:
                try:
                    safefs.copy_file(str(self.tes), local.name, self.tree, path)
                except (OSError, safefs.Refused) as e:
                    self.log(f"executor {index}: {path}: {e}")
        return code

    def stage_out(self, after_error: bool) -> bool:
        written: list[dict[str, str]] = []
        ok = True
        for out in self.plan.outputs:
            try:
                written += (self._matches(out) if out.type == "GLOB" else
                            self._output(out.path, out.dest, out.url, out.type))
            except (OSError, safefs.Refused) as e:
                ok = False
                self.log(f"output {out.path}: {e}"
                         + (" (after an executor's error)" if after_error else ""))
        tmp = self.tes / f".{rec.OUTPUTS}.tmp"
        tmp.write_text(json.dumps(written))
        os.replace(tmp, self.tes / rec.OUTPUTS)
        return ok

    def _output(self, path: str, dest: str, url: str, kind: str) -> list[dict[str, str]]:
        root = self._real_root(os.path.dirname(dest) if kind == "FILE" else dest)
        rel = os.path.relpath(os.path.join(os.path.realpath(os.path.dirname(dest)),
                                           os.path.basename(dest)), root)
        if kind == "FILE":
            size = safefs.copy_file(self.tree, path, root, rel)
            return [{"url": url, "path": path, "size_bytes": str(size)}]
        found = []
        for name in safefs.files_under(self.tree, path):
            size = safefs.copy_file(self.tree, f"{path}/{name}", root,
                                    name if rel == "." else f"{rel}/{name}")
            found.append({"url": f"{url.rstrip('/')}/{name}", "path": f"{path}/{name}",
                          "size_bytes": str(size)})
        return found

    def _matches(self, out: FileOutput) -> list[dict[str, str]]:
        """A wildcard output: each file matching it, at url/<its path less prefix>."""
        root = self._real_root(out.dest)
        base = os.path.relpath(os.path.realpath(out.dest), root)
        found = []
        for name in safefs.files_under(self.tree, out.folder):
            path = f"{out.folder}/{name}"
            if not matches(out.path, path):
                continue
            rel = path[len(out.prefix):].lstrip("/")
            size = safefs.copy_file(self.tree, path, root,
                                    rel if base == "." else f"{base}/{rel}")
            found.append({"url": f"{out.url.rstrip('/')}/{rel}", "path": path,
                          "size_bytes": str(size)})
        return found

    def stop(self, signum: int, _: FrameType | None) -> None:
        """Slurm's cancellation or time limit: the container goes first."""
        if self.child is not None:
            self.child.terminate()
        self.log(f"stopped by signal {signum}")
        raise SystemExit(128 + signum)


def matches(pattern: str, path: str) -> bool:
    """POSIX pattern matching of a path: wildcards never match a /."""
    wanted, parts = pattern.split("/"), path.split("/")
    return len(wanted) == len(parts) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=True))


def main() -> int:
    run_dir = Path.cwd()
    plan = TaskPlan.from_dict(json.loads((run_dir / rec.FOLDER / rec.PLAN).read_text()))
    runner = Runner(run_dir, plan)
    signal.signal(signal.SIGTERM, runner.stop)
    code = runner.run()
    shutil.rmtree(run_dir / HOME_DIR, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
