"""A catalogue of bad input, against the live service.

Every case asserts the status, the one error shape (exactly error, more, type;
more a list), that nothing was written (no run folder, no download, an empty
staging folder, no new file in the service's folder) and that the service still
answers afterwards. README.md's Security section lists the same cases."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from service.runs.folder import run_path
from tests.live import WS_USER, LiveService, key_in, make_service
from tests.zips import make_zip

pytestmark = pytest.mark.cluster

LOCAL = "/api/software/run/sw_example/"
MUSE = "/api/software/muse/run/sw_example/"
KEY = "58ae6cea-df31-4059-9466-b817c337985d"  # well formed, unknown
DL_KEY = f"20260101_000000_{KEY}"


def encrypted_zip() -> bytes:
    """A zip whose entry says it is encrypted (flag bit 0), as zipfile cannot write one."""
    data = bytearray(make_zip({"secret.txt": b"x" * 100}))
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    return bytes(data)


def corrupt_zip() -> bytes:
    """A readable directory, but compressed data that does not inflate."""
    data = bytearray(make_zip({"a.txt": bytes(range(256)) * 40}))
    start = data.index(b"PK\x03\x04") + 30 + len("a.txt")
    for i in range(start, start + 40):
        data[i] ^= 0x5A
    return bytes(data)


def multipart(filename_param: bytes, data: bytes = b"1 2",
              fields: dict[str, str] | None = None) -> tuple[str, bytes]:
    """A multipart body made by hand, so the file name reaches the service exactly
    as written (clients escape control characters and quotes)."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in (fields or {"cmd": "true"}).items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 f"{value}\r\n").encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; ".encode()
             + filename_param + b"\r\nContent-Type: application/octet-stream\r\n\r\n"
             + data + b"\r\n" + f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", body


@dataclass(frozen=True)
class Bad:
    id: str
    status: int
    type: str
    path: str = LOCAL
    method: str = "POST"
    json: Any = None
    form: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes]]] | None = None
    raw: tuple[str, bytes] | None = None
    user: str | None = "alice"
    token: str | None = None
    says: str = ""  # text the error or its `more` must contain
    limited: bool = False  # against the service with small upload limits
    extra: dict[str, str] = field(default_factory=dict)


def upload(*files: tuple[str, bytes], **form: Any) -> dict[str, Any]:
    return {"files": [("file", f) for f in files],
            "form": {"cmd": "true", **{k: v if isinstance(v, str) else json.dumps(v)
                                        for k, v in form.items()}}}


SMALL_LIMITS = {"max_file_bytes": 2000, "max_request_bytes": 5000, "max_files": 3,
                "max_unzipped_bytes": 10_000, "max_zip_entries": 5}
ZIP_6K = make_zip({"a": b"\0" * 6000})  # compresses to a few bytes; unpacks to 6000

CASES: list[Bad] = [
    # ---- uploads: file names ------------------------------------------------------
    Bad("filename-slash", 400, "bad_parameter", raw=multipart(b'filename="a/b.txt"')),
    Bad("filename-dotdot-path", 400, "bad_parameter", raw=multipart(b'filename="../x"')),
    Bad("filename-dotdot", 400, "bad_parameter", raw=multipart(b'filename=".."')),
    Bad("filename-empty", 400, "bad_parameter", raw=multipart(b'filename=""')),
    Bad("filename-backslash", 400, "bad_parameter",
        raw=multipart(b"filename*=utf-8''a%5Cb.txt")),
    Bad("filename-nul", 400, "bad_parameter", raw=multipart(b"filename*=utf-8''a%00b")),
    Bad("filename-escape", 400, "bad_parameter", raw=multipart(b"filename*=utf-8''a%1Bb")),
    Bad("filename-newline", 400, "bad_parameter", raw=multipart(b"filename*=utf-8''a%0Ab")),
    Bad("filename-rfc5987-traversal", 400, "bad_parameter",
        raw=multipart(b"filename*=utf-8''..%2F..%2Fetc%2Fpasswd")),
    Bad("filename-reserved", 400, "bad_parameter", says="reserved",
        **upload((".command_exit", b"0"))),
    Bad("file-under-other-field", 400, "bad_parameter",
        raw=(lambda ct_body: (ct_body[0], ct_body[1].replace(b'name="file"', b'name="x"')))(
            multipart(b'filename="a.txt"'))),
    # ---- uploads: zips -------------------------------------------------------------
    Bad("zip-dotdot", 400, "bad_parameter", **upload(("in.zip", make_zip({"../evil": b"x"})))),
    Bad("zip-absolute", 400, "bad_parameter", **upload(("in.zip", make_zip({"/abs": b"x"})))),
    Bad("zip-inner-dotdot", 400, "bad_parameter",
        **upload(("in.zip", make_zip({"ok": b"1", "a/../../evil": b"x"})))),
    Bad("zip-symlink", 400, "bad_parameter", says="symbolic link",
        **upload(("in.zip", make_zip({"ok": b"1"}, symlink="link")))),
    Bad("zip-backslash", 400, "bad_parameter",
        **upload(("in.zip", make_zip({"a\\..\\b": b"x"})))),
    Bad("zip-control-char", 400, "bad_parameter",
        **upload(("in.zip", make_zip({"bad\nname": b"x"})))),
    Bad("zip-reserved-snakemake", 400, "bad_parameter",
        **upload(("in.zip", make_zip({".snakemake/metadata/x": b"x"})))),
    Bad("zip-file-then-folder", 400, "bad_parameter",
        **upload(("in.zip", make_zip({"a": b"1", "a/b": b"2"})))),
    Bad("zip-encrypted", 400, "bad_parameter", **upload(("in.zip", encrypted_zip()))),
    Bad("zip-corrupt", 400, "bad_parameter", **upload(("in.zip", corrupt_zip()))),
    # ---- uploads: files_order ------------------------------------------------------
    Bad("files_order-not-json", 400, "bad_parameter",
        **upload(("a.txt", b"1"), files_order="[a.txt")),
    Bad("files_order-object", 400, "bad_parameter",
        **upload(("a.txt", b"1"), files_order={"a.txt": 1})),
    Bad("files_order-numbers", 400, "bad_parameter",
        **upload(("a.txt", b"1"), files_order=[1])),
    Bad("files_order-string", 400, "bad_parameter",
        **upload(("a.txt", b"1"), files_order="a.txt")),
    Bad("files_order-not-uploaded", 400, "bad_parameter", says="not uploaded",
        **upload(("a.txt", b"1"), files_order=["a.txt", "../../etc/passwd"])),
    Bad("files_order-misses-a-file", 400, "bad_parameter", says="b.txt",
        **upload(("a.txt", b"1"), ("b.txt", b"2"), files_order=["a.txt"])),
    Bad("files_order-without-files", 400, "bad_parameter",
        json={"cmd": "true", "files_order": ["a.txt"]}),
    # ---- uploads: sizes (service with SMALL_LIMITS) ---------------------------------
    Bad("file-too-large", 413, "too_large", limited=True, **upload(("a", b"x" * 2001))),
    Bad("request-too-large", 413, "too_large", limited=True,
        **upload(("a", b"x" * 1900), ("b", b"x" * 1900), ("c", b"x" * 1900))),
    Bad("too-many-files", 413, "too_large", limited=True,
        **upload(*[(f"f{i}", b"") for i in range(4)])),
    Bad("zip-bomb-size", 413, "too_large", limited=True,
        **upload(("bomb.zip", make_zip({"z": b"\0" * 20_000})))),
    Bad("zip-bomb-entries", 413, "too_large", limited=True,
        **upload(("many.zip", make_zip({f"e{i}": b"" for i in range(6)})))),
    Bad("zips-together-too-large", 413, "too_large", limited=True,
        **upload(("one.zip", ZIP_6K), ("two.zip", ZIP_6K))),
    # ---- cmd -------------------------------------------------------------------------
    Bad("cmd-nul", 400, "bad_parameter", json={"cmd": "echo a\x00b"}),
    Bad("cmd-list", 400, "bad_parameter", json={"cmd": ["echo", "a"]}),
    Bad("cmd-object", 400, "bad_parameter", json={"cmd": {"x": 1}}),
    # ---- cmd_option ------------------------------------------------------------------
    Bad("bind-root", 400, "bad_parameter", json={"cmd_option": "--bind /:/host"}),
    Bad("bind-parent", 400, "bad_parameter", json={"cmd_option": "--bind ../x:/x"}),
    Bad("bind-inner-parent", 400, "bad_parameter",
        json={"cmd_option": "--bind a/../../x:/x"}),
    Bad("bind-service-home", 400, "bad_parameter",
        json={"cmd_option": "--bind /var/lib/ws:/x"}),
    Bad("bind-equals-etc", 400, "bad_parameter", json={"cmd_option": "--bind=/etc:/etc"}),
    Bad("bind-short-B-host", 400, "bad_parameter", json={"cmd_option": "-B /tmp"}),
    Bad("bind-in-list", 400, "bad_parameter",
        json={"cmd_option": "--bind data:/data,/etc:/x"}),
    Bad("bind-relative-target", 400, "bad_parameter",
        json={"cmd_option": "--bind data:relative"}),
    Bad("bind-bad-mode", 400, "bad_parameter", json={"cmd_option": "--bind data:/x:rx"}),
    Bad("option-writable", 400, "bad_parameter", json={"cmd_option": "--writable"},
        says="allowed"),
    Bad("option-fakeroot", 400, "bad_parameter", json={"cmd_option": "--fakeroot"}),
    Bad("option-home", 400, "bad_parameter", json={"cmd_option": "--home /root"}),
    Bad("option-security", 400, "bad_parameter",
        json={"cmd_option": "--security=seccomp:unconfined"}),
    Bad("option-no-value", 400, "bad_parameter", json={"cmd_option": "-B"}),
    Bad("option-unclosed-quote", 400, "bad_parameter", json={"cmd_option": "--env 'A=1"}),
    Bad("option-env-newline", 400, "bad_parameter", json={"cmd_option": "--env 'A=1\nB=2'"}),
    Bad("option-pwd-control", 400, "bad_parameter", json={"cmd_option": "--pwd /a\x07"}),
    Bad("option-shell-meta", 400, "bad_parameter", json={"cmd_option": "--cleanenv; id"}),
    Bad("cmd_option-visitor", 403, "forbidden", user="vic",
        json={"cmd_option": "--cleanenv"}),
    # ---- sbatch_list -----------------------------------------------------------------
    *[Bad(f"sbatch-{opt.split('=')[0].strip('-')}", 400, "bad_parameter", path=MUSE,
          json={"cmd": "true", "sbatch_list": [opt]}, says="not allowed")
      for opt in ("--wrap=id", "--uid=0", "--chdir=/", "--output=/etc/x", "--error=/tmp/e",
                  "--export=ALL", "--dependency=afterok:1")],
    Bad("sbatch-newline", 400, "bad_parameter", path=MUSE,
        json={"cmd": "true", "sbatch_list": ["--time=5\n#SBATCH --wrap=id"]}),
    Bad("sbatch-mail-user-newline", 400, "bad_parameter", path=MUSE,
        json={"cmd": "true", "sbatch_list": ["--mail-user=a@b.org\n"]}),
    Bad("sbatch-partition-meta", 400, "bad_parameter", path=MUSE,
        json={"cmd": "true", "sbatch_list": ["--partition=a;b"]}),
    Bad("sbatch-unicode-digits", 400, "bad_parameter", path=MUSE,
        json={"cmd": "true", "sbatch_list": ["--cpus-per-task=\u00b2"]}),
    Bad("sbatch-not-json", 400, "bad_parameter", path=MUSE,
        form={"cmd": "true", "sbatch_list": "--time=5"}),
    Bad("sbatch-number", 400, "bad_parameter", path=MUSE,
        json={"cmd": "true", "sbatch_list": ["--time=5", 7]}),
    Bad("sbatch-time-over-level", 403, "forbidden", path=MUSE,
        json={"cmd": "true", "sbatch_list": ["--time=120"]}),
    Bad("sbatch-mem-over-level", 403, "forbidden", path=MUSE, user="sue",
        json={"cmd": "true", "sbatch_list": ["--mem=100G"]}),
    Bad("sbatch-visitor", 403, "forbidden", path=MUSE, user="vic",
        json={"cmd": "true", "sbatch_list": ["--time=1"]}),
    Bad("sbatch-on-local-run", 400, "bad_parameter",
        json={"cmd": "true", "sbatch_list": ["--time=1"]}),
    # ---- module_list -----------------------------------------------------------------
    *[Bad(f"module-pattern-{i}", 400, "bad_parameter", path=MUSE,
          json={"cmd": "true", "module_list": [name]})
      for i, name in enumerate(("../etc", "a b", "x;rm -rf /", "hello\n", "$(id)"))],
    Bad("module-unknown", 400, "bad_parameter", path=MUSE, says="nosuch/1.0",
        json={"cmd": "true", "module_list": ["nosuch/1.0"]}),
    Bad("module-not-a-list", 400, "bad_parameter", path=MUSE,
        json={"cmd": "true", "module_list": "hello"}),
    Bad("module-on-local-run", 400, "bad_parameter",
        json={"cmd": "true", "module_list": ["hello"]}),
    Bad("module-visitor", 403, "forbidden", path=MUSE, user="vic",
        json={"cmd": "true", "module_list": ["hello"]}),
    # ---- result choices ----------------------------------------------------------------
    Bad("returned_type-unknown", 400, "bad_parameter", says="stdout.txt",
        json={"cmd": "true", "returned_type": "exe"}),
    Bad("todownload-bad", 400, "bad_parameter", says="yes, no",
        json={"cmd": "true", "todownload": "maybe"}),
    Bad("todownload-with-stdout", 400, "bad_parameter", says="run.zip",
        json={"cmd": "true", "todownload": "yes", "returned_type": "stdout"}),
    Bad("format-unknown", 400, "bad_parameter", json={"cmd": "true", "format": "html"}),
    # ---- names and keys ------------------------------------------------------------------
    Bad("software-unknown", 404, "not_found", path="/api/software/run/nosuch/",
        json={"cmd": "true"}),
    Bad("software-traversal", 404, "not_found",
        path="/api/software/run/..%2F..%2Fstate/", json={"cmd": "true"}),
    Bad("muse-identity-unknown", 404, "not_found",
        path="/api/software/elsewhere/run/sw_example/", json={"cmd": "true"}),
    *[Bad(f"get-{what}-{i}", 404, "not_found", method="GET", user=None,
          path=f"/api/software/muse/{what}/sw_example/{key}/")
      for what in ("state", "run", "content")
      for i, key in enumerate((KEY, f"{KEY}%0A", "..%2F..%2Fstate", "..", KEY.upper()))],
    Bad("get-state-other-identity", 404, "not_found", method="GET", user=None,
        path=f"/api/software/elsewhere/state/sw_example/{KEY}/"),
    *[Bad(f"download-{i}", 404, "not_found", method="GET", user=None,
          path=f"/api/download/?key={key}")
      for i, key in enumerate(("", DL_KEY, f"{DL_KEY}%0A", "..%2F..%2Fstate%2Fjwt_secret",
                               f"..%2F{DL_KEY}", "%2Fetc%2Fpasswd"))],
    # ---- bodies and tokens ----------------------------------------------------------------
    Bad("json-malformed", 400, "bad_parameter",
        raw=("application/json", b'{"cmd": "true"')),
    Bad("json-not-object", 400, "bad_parameter", raw=("application/json", b'["true"]')),
    Bad("multipart-broken", 400, "bad_parameter",
        raw=("multipart/form-data; boundary=xyz", b"--xyz\r\nnonsense")),
    Bad("no-token", 401, "unauthorized", user=None, json={"cmd": "true"}),
    Bad("bad-token", 401, "unauthorized", user=None, token="abc.def.ghi",
        json={"cmd": "true"}),
    Bad("no-access", 403, "forbidden", user="bob", json={"cmd": "true"}),
    # A bad Bearer token is refused before the upload is taken in.
    Bad("bad-token-big-upload", 401, "unauthorized", user=None, token="abc.def.ghi",
        **upload(("big.bin", b"\0" * (20 * 1024 * 1024)))),
]


@pytest.fixture(scope="module")
def limited(images: dict[str, Path]) -> Iterator[LiveService]:
    live = make_service(images, limits=SMALL_LIMITS)
    yield live
    live.stop()


def snapshot(service: LiveService) -> dict[str, set[str]]:
    """What a rejected request must not change."""
    def names(folder: Path) -> set[str]:
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return {"runs": names(service.runs_dir) - {".staging", ".ended"},
            "downloads": names(service.home / "downloads"),
            "home": names(service.home)}


def send(service: LiveService, case: Bad) -> requests.Response:
    url = service.url + case.path
    headers = dict(service.auth(case.user)) if case.user else {}
    if case.token:
        headers["Authorization"] = f"Bearer {case.token}"
    if case.method == "GET":
        return requests.get(url, headers=headers, timeout=60)
    if case.raw is not None:
        headers["Content-Type"] = case.raw[0]
        return requests.post(url, data=case.raw[1], headers=headers, timeout=60)
    if case.files is not None:
        return requests.post(url, data=case.form, files=case.files, headers=headers,
                             timeout=60)
    if case.form is not None:
        return requests.post(url, data=case.form, headers=headers, timeout=60)
    return requests.post(url, json=case.json, headers=headers, timeout=60)


def assert_rejected(service: LiveService, case: Bad) -> dict[str, Any]:
    before = snapshot(service)
    r = send(service, case)
    assert r.status_code == case.status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"error", "more", "type"}, body
    assert body["type"] == case.type, body
    assert isinstance(body["error"], str) and isinstance(body["more"], list), body
    assert all(isinstance(m, str) for m in body["more"])
    if case.says:
        assert case.says in body["error"] + " " + " ".join(body["more"]), body
    assert snapshot(service) == before
    staging = service.runs_dir / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert requests.get(f"{service.url}/api/software/list/", timeout=30).status_code == 200
    return body


def test_the_catalogue_is_large_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Bad, request: pytest.FixtureRequest) -> None:
    live: LiveService = request.getfixturevalue("limited" if case.limited else "service")
    assert_rejected(live, case)


def test_module_known_to_the_module_tool_is_accepted(service: LiveService) -> None:
    """The other side of module-unknown: a module the tool lists passes the check."""
    modulefile = service.home / "modulefiles" / "badinput" / "1.0.lua"
    modulefile.parent.mkdir(parents=True, exist_ok=True)
    modulefile.write_text("-- nothing\n")
    # The list the module-unknown case read is looked up again once it is older than
    # its re-check interval (2 s): refused until then, accepted from then on.
    deadline = time.monotonic() + 30
    while True:
        r = requests.post(f"{service.url}{MUSE}", json={"cmd": "true",
                                                       "module_list": ["badinput/1.0"]},
                          headers=service.auth(), timeout=60)
        if r.status_code != 400 or "badinput" not in r.text or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text


def test_too_many_live_runs(service_factory: Any) -> None:
    live = service_factory(limits={"max_live_runs_per_user": 1})
    first = requests.post(f"{live.url}{MUSE}", json={"cmd": "sleep 60"},
                          headers=live.auth(), timeout=60)
    assert first.status_code == 200, first.text
    job_id = None
    try:
        state = requests.get(first.json()["url"], timeout=30).json()
        job_id = state["info"]["report"]["process"]["job_id"]
        for path in (MUSE, LOCAL):
            body = assert_rejected(live, Bad("quota", 429, "too_many_runs", path=path,
                                             json={"cmd": "true"}))
            assert "wait" in body["error"]
        # Another user has their own quota.
        other = requests.post(f"{live.url}{LOCAL}", json={"cmd": "echo ok"},
                              headers=live.auth("sue"), timeout=120)
        assert other.status_code == 200 and other.json()["info"]["stdout"] == "ok"
    finally:
        if job_id:
                subprocess.run(["scancel", str(job_id)], check=False)


def local_run(live: LiveService, **params: Any) -> requests.Response:
    return requests.post(f"{live.url}{LOCAL}", json=params, headers=live.auth(), timeout=120)


def test_retention_deletes_old_runs_and_downloads(service_factory: Any) -> None:
    live = service_factory(limits={"retention_days": 12 / 86400, "retention_check_s": 0.5})
    before = {p.name for p in live.runs_dir.iterdir()}
    r = local_run(live, cmd="echo kept", returned_type="stdout.txt", todownload="yes")
    assert r.status_code == 200, r.text
    download = r.json()["url"]
    (name,) = {p.name for p in live.runs_dir.iterdir()} - before - {".staging", ".ended"}
    key = key_in(live.runs_dir / name)
    content = f"{live.url}/api/software/muse/content/sw_example/{key}/"
    assert requests.get(download, timeout=30).text == "kept\n"
    assert requests.get(content, timeout=30).status_code == 200
    # A live run is never deleted, however old.
    running = requests.post(f"{live.url}{MUSE}", json={"cmd": "sleep 60"},
                            headers=live.auth("sue"), timeout=60)
    assert running.status_code == 200, running.text
    job_id = requests.get(running.json()["url"], timeout=30).json()[
        "info"]["report"]["process"]["job_id"]
    try:
        deadline = time.time() + 60
        while (run_path(live.runs_dir, key)).exists() and time.time() < deadline:
            time.sleep(0.5)
        assert not (run_path(live.runs_dir, key)).exists()
        # The download is stored when the run has ended, a little after the run
        # was created, and its key has whole seconds: wait for its own sweep.
        deadline = time.time() + 30
        while list((live.home / "downloads").iterdir()) and time.time() < deadline:
            time.sleep(0.5)
        for url in (download, content):
            r = requests.get(url, timeout=30)
            assert r.status_code == 404 and r.json()["type"] == "not_found"
        assert list((live.home / "downloads").iterdir()) == []
        state = requests.get(running.json()["url"], timeout=30)
        assert state.status_code == 200 and state.json()["info"]["report"]["cr"] == "WAIT"
    finally:
        import subprocess
        subprocess.run(["scancel", str(job_id)], check=False)


@pytest.fixture
def tiny_disks(service_factory: Any) -> Iterator[LiveService]:
    """A service whose runs and downloads folders are tiny tmpfs mounts (as root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    live = service_factory()
    ws = pwd.getpwnam(WS_USER)
    mounted: list[Path] = []
    try:
        for folder, size in ((live.runs_dir, "1m"), (live.home / "downloads", "64k")):
            subprocess.run(["mount", "-t", "tmpfs", "-o",
                            f"size={size},uid={ws.pw_uid},gid={ws.pw_gid},mode=0755",
                            "ws-test-tiny", str(folder)], check=True)
            mounted.append(folder)
        yield live
    finally:
        live.stop()
        for folder in reversed(mounted):
            subprocess.run(["umount", str(folder)], check=False)


def test_full_disk_is_507_and_keeps_nothing(tiny_disks: LiveService) -> None:
    live = tiny_disks
    # An upload bigger than the disk: 507 while streaming it, nothing kept.
    case = Bad("disk-full-upload", 507, "storage_full",
               **upload(("big.bin", b"\0" * 1_500_000)))
    assert_rejected(live, case)
    # A zip that unpacks to more than the disk: 507 while preparing the run.
    assert_rejected(live, Bad("disk-full-unzip", 507, "storage_full",
                              **upload(("big.zip", make_zip({"z": b"\0" * 1_500_000})))))
    assert {p.name for p in live.runs_dir.iterdir()} <= {".staging", ".ended"}
    # The disk has room for a small run; a download bigger than its disk is refused
    # and leaves no half-written download behind.
    r = local_run(live, cmd="head -c 200000 /dev/urandom > noise.bin; echo ok",
                  returned_type="run.zip", todownload="yes")
    assert r.status_code == 507, r.text
    body = r.json()
    assert set(body) == {"error", "more", "type"} and body["type"] == "storage_full"
    assert list((live.home / "downloads").iterdir()) == []
    assert local_run(live, cmd="echo fine").json()["info"]["stdout"] == "fine"
