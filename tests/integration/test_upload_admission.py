"""A multipart body from someone without a valid token, against the live
service: the token is checked as soon as its field has been read, what is
taken in before any token is bounded (bytes, and such requests at once), and
a refused upload leaves nothing behind."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
import requests

from tests.live import LiveService

pytestmark = pytest.mark.cluster
LOCAL = "/api/software/run/sw_example/"
MiB = 1024 * 1024


def staged_files(service: LiveService) -> list[str]:
    # os.walk, not rglob: the service removes a request's staging folder while
    # this looks (a folder gone between its listing and its visit is no error).
    return [os.path.join(root, name)
            for root, dirs, files in os.walk(service.runs_dir / ".staging")
            for name in (*dirs, *files)]


def runs(service: LiveService) -> set[str]:
    return {p.name for p in service.runs_dir.iterdir()} - {".staging", ".ended"}


def part(boundary: str, name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").encode() + \
        value + b"\r\n"


def file_opening(boundary: str, filename: str) -> bytes:
    """The start of a file part, its content to follow."""
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\n\r\n").encode()


def post_form(service: LiveService, boundary: str, parts: bytes,
              timeout: float = 120) -> requests.Response:
    """POST these parts, closed, as one multipart body (in their order)."""
    return requests.post(f"{service.url}{LOCAL}", data=parts + f"--{boundary}--\r\n".encode(),
                         timeout=timeout, headers={
                             "Content-Type": f"multipart/form-data; boundary={boundary}"})


def post_small_file_before_token(service: LiveService) -> requests.Response:
    """curl -F file=@x -F jwt=..., as in the user's document."""
    boundary = uuid.uuid4().hex
    return post_form(service, boundary, part(boundary, "file", b"1 2", "stdin.txt")
                     + part(boundary, "cmd", b"python /add.py")
                     + part(boundary, "jwt", service.token().encode()))


@contextmanager
def upload(service: LiveService, head: bytes, announced: int) -> Iterator[socket.socket]:
    """A POST whose Content-Length announces `announced` bytes of which only
    `head` is sent: what the service does next, it does before the rest."""
    url = urlparse(service.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    boundary = head[2:head.index(b"\r\n")].decode()
    sock.sendall((f"POST {LOCAL} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"Content-Length: {announced}\r\n\r\n").encode() + head)
    try:
        yield sock
    finally:
        sock.close()


def answer(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def wait_for_no_staging(service: LiveService) -> None:
    deadline = time.time() + 10
    while staged_files(service) and time.time() < deadline:
        time.sleep(0.1)
    assert staged_files(service) == []


def test_a_bad_token_field_ends_the_request_before_the_files(service: LiveService) -> None:
    before = runs(service)
    boundary = uuid.uuid4().hex
    head = part(boundary, "cmd", b"true") + part(boundary, "jwt", b"not-a-token") + \
        file_opening(boundary, "big.bin") + b"x" * MiB
    # 150 MB announced, 1 MB sent: the answer comes without the rest.
    with upload(service, head, 150 * MiB) as sock:
        status, raw = answer(sock)
    assert status == 401, raw
    wait_for_no_staging(service)
    assert runs(service) == before


def test_files_before_any_token_are_bounded(service: LiveService) -> None:
    before = runs(service)
    boundary = uuid.uuid4().hex
    # 9 MiB of files before the (valid) token field: over the 8 MiB allowed.
    r = post_form(service, boundary, part(boundary, "cmd", b"true")
                  + part(boundary, "file", b"x" * (9 * MiB), "a.bin")
                  + part(boundary, "jwt", service.token().encode()), timeout=60)
    assert r.status_code == 401, r.text
    assert "a token is required before more than 8388608 bytes" in r.json()["error"]
    assert "send the token first" in r.json()["more"][0]
    wait_for_no_staging(service)
    assert runs(service) == before
    # The same files after the token field, or with the token in the header, are fine.
    r = post_form(service, boundary, part(boundary, "cmd", b"wc -c < a.bin")
                  + part(boundary, "jwt", service.token().encode())
                  + part(boundary, "file", b"x" * (9 * MiB), "a.bin"))
    assert r.status_code == 200, r.text
    assert r.json()["info"]["stdout"].strip() == str(9 * MiB)
    # A small file before the token (curl -F file=@x -F jwt=..., as in the
    # user's document) is taken in as before.
    r = post_small_file_before_token(service)
    assert r.status_code == 200, r.text


def test_uploads_without_a_token_at_once_are_bounded(service: LiveService) -> None:
    before = runs(service)
    socks = []
    try:
        for _ in range(4):  # max_unauthenticated_uploads: each holds a slot
            boundary = uuid.uuid4().hex
            head = part(boundary, "cmd", b"true") + file_opening(boundary, "f.bin") + \
                b"x" * 200_000
            ctx = upload(service, head, 5 * MiB)
            socks.append((ctx, ctx.__enter__()))
        time.sleep(1)
        assert len(staged_files(service)) > 0
        boundary = uuid.uuid4().hex
        head = part(boundary, "cmd", b"true") + file_opening(boundary, "f.bin") + \
            b"x" * 200_000
        with upload(service, head, 5 * MiB) as sock:
            status, raw = answer(sock)
        assert status == 503, raw
        assert b"Retry-After" in raw
        # With a token in the header, an upload is not a stranger's: it goes on.
        r = requests.post(f"{service.url}{LOCAL}", headers=service.auth(), timeout=120,
                          data={"cmd": "cat f.txt"}, files=[("file", ("f.txt", b"hello"))])
        assert r.status_code == 200 and r.json()["info"]["stdout"] == "hello", r.text
    finally:
        for ctx, _ in socks:
            ctx.__exit__(None, None, None)
    wait_for_no_staging(service)
    assert len(runs(service) - before) == 1  # the local run with a token, nothing else
    # The slots are free again once those requests are gone.
    r = post_small_file_before_token(service)
    assert r.status_code == 200, r.text
