"""Which container runtime builds images: the configured one, else Apptainer,
else SingularityCE, whichever the site has on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.catalogue.images import ImageBuildFailed, container_runtime


def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))


def test_apptainer_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(tmp_path, monkeypatch, "apptainer", "singularity")
    assert container_runtime("") == "apptainer"


def test_singularityce_where_apptainer_is_missing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(tmp_path, monkeypatch, "singularity")
    assert container_runtime("") == "singularity"


def test_the_configured_runtime_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(tmp_path, monkeypatch)
    assert container_runtime("/opt/apptainer/bin/apptainer") == "/opt/apptainer/bin/apptainer"
    with pytest.raises(ImageBuildFailed):
        container_runtime("")
