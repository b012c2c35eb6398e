"""The layout keeps its direction: web/cli -> cluster/local -> runs ->
catalogue -> accounts -> core, and nothing below web imports aiohttp. client (the
users' HTTP client) stands apart: it imports nothing of service/; cli uses it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service"
BELOW = {
    "client": set(),  # the HTTP client: standard library only, usable anywhere
    "core": set(),
    "accounts": {"core"},
    "catalogue": {"accounts", "core"},
    "runs": {"catalogue", "accounts", "core"},
    "cluster": {"runs", "catalogue", "accounts", "core"},
    "local": {"runs", "catalogue", "accounts", "core"},
    "cli": {"client", "cluster", "local", "runs", "catalogue", "accounts", "core"},
    "tes": {"cluster", "runs", "catalogue", "accounts", "core"},
}
MAX_LINES = 300


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[Path]:
    return sorted(SERVICE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SERVICE)))
def test_imports_point_one_way(path: Path) -> None:
    package = path.relative_to(SERVICE).parts[0]
    if package not in BELOW:  # web/, __main__.py: the top
        return
    allowed = BELOW[package] | {package}
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "aiohttp":
            pytest.fail(f"{path.relative_to(SERVICE)} imports {name}: only service.web may")
        if parts[0] == "service" and len(parts) > 1 and parts[1] != "__main__":
            assert parts[1] in allowed, (
                f"{path.relative_to(SERVICE)} imports {name}; {package} may import only "
                f"{', '.join(sorted(allowed))}")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SERVICE)))
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_domain_loads_without_the_web_layer() -> None:
    code = ("import sys, service.runs.lifecycle, service.runs.ledger, "
            "service.cluster.poller, service.local.runner, service.cli.admin; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp' "
            "or m.startswith('service.web')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SERVICE)))
def test_the_service_speaks_slurm_through_ws_slurm_alone(path: Path) -> None:
    # The executor plugin is Snakemake's, loaded by Snakemake: importing it would
    # load Snakemake (and its at-fork hook) into the web process.
    assert not {n for n in _imports(path) if n.split(".")[0] == "snakemake_executor_plugin_ws"}


# ---- one owner of a run's state ------------------------------------------------------------
LEDGER = SERVICE / "runs" / "ledger.py"
INDEX_WRITES = {"add_run", "remove_run", "set_run_cr", "replace_runs"}
FILE_WRITES = {"write_json", "write_text", "write_bytes", "replace", "rename", "open"}


def _names_state_file(node: ast.AST) -> bool:
    """Whether an expression names a run's state.json (folder.state_file, or the
    file's name spelt out)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr == "state_file":
            return True
        if isinstance(sub, ast.Constant) and sub.value == "state.json":
            return True
    return False


def _state_writes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        # What is written: an argument (write_json(path, ...)) or the receiver
        # (path.write_text(...)).
        written = [*node.args, *([func.value] if isinstance(func, ast.Attribute) else [])]
        if name in INDEX_WRITES:
            found.append(f"line {node.lineno}: {name}()")
        elif name == "save_state" or (name in FILE_WRITES
                                      and any(_names_state_file(a) for a in written)):
            found.append(f"line {node.lineno}: {name}() of state.json")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SERVICE)))
def test_only_the_ledger_writes_a_runs_state(path: Path) -> None:
    """state.json and the run index change in service/runs/ledger.py only: one
    place where a change is written, indexed, shown and waited for."""
    if path == LEDGER:
        return
    assert _state_writes(path) == [], (
        f"{path.relative_to(SERVICE)} writes a run's state or index: go through "
        "service/runs/ledger.py")


def test_the_scan_finds_state_writes(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("atomic.write_json(folder.state_file, {})\n"
                      "atomic.write_json(path / 'state.json', {}, durable=False)\n"
                      "folder.state_file.write_text('{}')\n"
                      "save_state(folder, state)\n"
                      "store.set_run_cr(key, 'OK')\n"
                      "self.store.add_run(key, 'sw', 'alice', 'local')\n"
                      "store.remove_run(key)\n"
                      "atomic.read_json(folder.state_file)\n")
    assert len(_state_writes(sample)) == 7
    assert _state_writes(LEDGER)  # the ledger itself does write
