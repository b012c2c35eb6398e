"""A task's run folder, built whole in its staging folder (as every run's is:
service/runs/lifecycle.py) before the ledger publishes it: the workflow of
workflows/tes_task, the task and its plan in tes/, the container tree with its
empty folders and content inputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from service.core import atomic
from service.core.config import Config
from service.runs import workflow
from service.runs.lifecycle import copy_private, write_job_settings
from service.runs.record import RunRecord
from service.tes import records as rec
from service.tes.checks import CheckedTask
from service.tes.plan import HOME_DIR, TREE, TaskPlan
from service.tes.safefs import open_write
from service.tes.views import StoredTask

TEMPLATE = "tes_task"


def _write_tree(path: Path, checked: CheckedTask, plan: TaskPlan) -> None:
    tree = path / TREE
    tree.mkdir(parents=True)
    (path / HOME_DIR).mkdir()
    for folder in plan.folders:
        (tree / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for container_path, content in checked.contents:
        with os.fdopen(open_write(str(tree), container_path), "wb") as f:
            f.write(content.encode())


def build_task_folder(path: Path, final: Path, config: Config, record: RunRecord,
                      stored: StoredTask, checked: CheckedTask, plan: TaskPlan,
                      resources: workflow.Resources) -> None:
    """Write the whole folder at `path`; job.sh names `final`, where it will be."""
    for sub in ("status", "logs", "work", rec.FOLDER):
        (path / sub).mkdir()
    _write_tree(path, checked, plan)
    template = config.workflows_dir / TEMPLATE
    for item in ("Snakefile", "rules"):
        copy_private(template / item, path / item)
    wf = workflow.workflow_config(record.request, "", resources)
    wf_config = {"python": sys.executable, **{k: wf[k] for k in
                                              ("runtime_min", "mem_mb", "cpus", "slurm_extra")}}
    atomic.write_text(path / "config.yaml", "# ws: configuration of this task (generated)\n"
                      + workflow.dump_yaml(wf_config), durable=False)
    write_job_settings(path, final, config, record, resources, f"task {record.jobname}")
    atomic.write_text(path / rec.FOLDER / rec.TASK, json.dumps(stored.to_dict()),
                      durable=False)
    atomic.write_text(path / rec.FOLDER / rec.PLAN, json.dumps(plan.to_dict()), durable=False)
    atomic.write_json(path / "request.json", record.to_dict(), durable=False)
