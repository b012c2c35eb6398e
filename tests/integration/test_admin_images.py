"""`ws admin container add --type docker`: the SIF is built from the Docker image
archive by the real Apptainer, as the service account, as an admin would."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
import requests

from tests.live import WS_USER, LiveService

pytestmark = pytest.mark.cluster


def _member(archive: tarfile.TarFile, name: str, content: bytes | None = None) -> None:
    info = tarfile.TarInfo(name)
    if content is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(info)
    else:
        info.size, info.mode = len(content), 0o644
        archive.addfile(info, io.BytesIO(content))


def tiny_docker_archive(path: Path) -> None:
    """A Docker image archive (`docker save` layout) of one file: Apptainer builds
    a SIF of it in a moment, where sw_example's takes a minute."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        _member(archive, "tiny.txt", b"tiny\n")
    diff_id = hashlib.sha256(layer.getvalue()).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}}
                        ).encode()
    config_id = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": f"{config_id}.json", "RepoTags": ["tiny:latest"],
                            "Layers": [f"{diff_id}/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as archive:
        _member(archive, "manifest.json", manifest)
        _member(archive, f"{config_id}.json", config)
        _member(archive, diff_id)
        _member(archive, f"{diff_id}/layer.tar", layer.getvalue())
    subprocess.run(["chown", f"{WS_USER}:", str(path)], check=True)


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
    # The built image runs: a software in it, run through the API.
    assert service.admin("software", "add", name, "--container", name).returncode == 0
    assert service.admin("access", "grant", "alice", "--software", name, "--level",
                 "2").returncode == 0
    r = requests.post(f"{service.url}/api/software/run/{name}/",
                      json={"cmd": "python /add.py 4 5"}, headers=service.auth(), timeout=120)
    assert r.status_code == 200 and r.json()["info"]["stdout"] == "9.0", r.text
    # --rebuild builds it again, here from a one-file archive (a second build of
    # sw_example's would prove nothing more, and take a minute).
    tiny = service.home / "tiny.tar"
    tiny_docker_archive(tiny)
    before = sif.stat().st_mtime_ns
    rebuilt = service.admin("container", "update", name, "--archive", str(tiny),
                            "--image", str(sif), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sif.stat().st_mtime_ns != before
    assert sif.stat().st_size < 1_000_000  # the one-file image now (sw_example's: 40 MB)


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
