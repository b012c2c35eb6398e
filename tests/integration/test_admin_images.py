"""`ws admin container add --type docker`: the SIF is built from the Docker image
archive by the real Apptainer, as the service account, as an admin would."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from tests.live import WS_USER, LiveService

pytestmark = pytest.mark.cluster


def test_docker_archive_to_sif_then_a_run(service: LiveService,
                                          images: dict[str, Path]) -> None:
    name = f"d{uuid.uuid4().hex[:8]}"
    sif = service.home / f"{name}.sif"
    built = service.admin("container", "add", name, "--type", "docker", "--archive",
                  str(images["docker_tar"]), "--image", str(sif))
    assert built.returncode == 0, built.stderr
    assert "built" in built.stdout
    assert sif.read_bytes()[:2] == b"#!"  # a SIF starts with its launcher line
    listed = service.admin("container", "list").stdout
    assert f"{name}\tdocker\t{sif}" in listed
    # An existing image is kept unless --rebuild.
    kept = service.admin("container", "update", name, "--archive",
                 str(images["docker_tar"]), "--image", str(sif))
    assert kept.returncode == 0 and "kept existing" in kept.stdout
    before = sif.stat().st_mtime_ns
    rebuilt = service.admin("container", "update", name, "--archive",
                    str(images["docker_tar"]), "--image", str(sif), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sif.stat().st_mtime_ns != before
    # The built image runs: a software in it, run through the API.
    assert service.admin("software", "add", name, "--container", name).returncode == 0
    assert service.admin("access", "grant", "alice", "--software", name, "--level",
                 "2").returncode == 0
    r = requests.post(f"{service.url}/api/software/run/{name}/",
                      json={"cmd": "python /add.py 4 5"}, headers=service.auth(), timeout=120)
    assert r.status_code == 200 and r.json()["info"]["stdout"] == "9.0", r.text


def test_bad_archive_is_a_clear_error(service: LiveService) -> None:
    bad = service.home / "not-an-image.tar"
    bad.write_bytes(b"not a tar")
    subprocess.run(["chown", f"{WS_USER}:", str(bad)], check=True)
    sif = service.home / "never.sif"
    failed = service.admin("container", "add", "broken", "--type", "docker", "--archive",
                   str(bad), "--image", str(sif))
    assert failed.returncode == 2
    assert failed.stderr.startswith("ws: ") and "apptainer build failed" in failed.stderr
    assert not sif.exists()
    missing = service.admin("container", "add", "broken", "--type", "docker", "--archive",
                    str(service.home / "missing.tar"), "--image", str(sif))
    assert missing.returncode == 2 and "not an existing file" in missing.stderr
    assert "broken" not in service.admin("container", "list").stdout
