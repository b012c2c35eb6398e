"""The page at / in a real browser: Debian's chromium, driven by Playwright (which
never downloads a browser of its own). A person signs in with the keyboard, runs
sw_example on the cluster with an uploaded file, waits for OK and downloads the
results; the token never shows in a URL or in the service's log.

WS_SCREENSHOTS=DIR keeps the pages' screenshots there (the tree tracks no images)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import PASSWORD, LiveService

pytestmark = pytest.mark.cluster
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("no /usr/bin/chromium: scripts/browser-up.sh installs it", pytrace=False)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                             headless=True)
        context = browser.new_context(accept_downloads=True,
                                      viewport={"width": 1000, "height": 760})
        yield context.new_page()
        context.close()
        browser.close()


def _shot(page: Any, name: str, tmp_path: Path, part: str | None = None) -> None:
    folder = Path(os.environ.get("WS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    if part is None:
        page.screenshot(path=str(folder / f"{name}.png"))
        return
    box = page.locator(part).bounding_box()  # the part, at most 640 px of it: small PNGs
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True,
                    clip={"x": box["x"], "y": box["y"], "width": box["width"],
                          "height": min(box["height"], 640)})


def test_sign_in_run_on_the_cluster_and_download(service: LiveService, page: Any,
                                                 tmp_path: Path) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(service.url + "/")
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_role("row", name="sw_example adds").wait_for()
    _shot(page, "sign-in", tmp_path)

    # The keyboard alone: labels lead to the fields, Enter submits.
    page.get_by_label("User name").focus()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD.format("alice"))
    page.keyboard.press("Enter")
    page.get_by_text("Signed in as alice").first.wait_for()

    (tmp_path / "stdin.txt").write_text("4 66\n")
    page.get_by_label("Software").select_option("sw_example")
    page.get_by_label("Command (run inside the container)").fill("python /add.py")
    page.get_by_label("Input files (a zip is also unzipped)").set_input_files(
        str(tmp_path / "stdin.txt"))
    page.get_by_label("on the cluster (Slurm)").check()
    page.get_by_label("Result", exact=True).select_option("stdout.txt")
    _shot(page, "run-form", tmp_path, "#run-section")
    page.get_by_role("button", name="Run", exact=True).click()
    status = page.locator("#status")
    for _ in range(600):  # "Sending…" until the service answers
        if not status.inner_text().endswith("…"):
            break
        page.wait_for_timeout(100)
    assert "submitted to the cluster" in status.inner_text()

    row = page.locator("#runs tbody tr").first
    row.locator("td.cr-OK").wait_for(timeout=180_000)  # live: the page follows the run
    assert "COMPLETED" in row.inner_text()
    _shot(page, "runs", tmp_path, "#runs-section")
    with page.expect_download() as download:
        row.get_by_role("button", name="Results").click()
    saved = tmp_path / "results.txt"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "stdout.txt"
    assert saved.read_text().strip() == "70.0"

    with page.expect_download() as folder_zip:
        row.get_by_role("button", name="Content").click()
    folder_zip.value.save_as(tmp_path / "run.zip")
    assert (tmp_path / "run.zip").read_bytes()[:2] == b"PK"

    token = page.evaluate("sessionStorage.getItem('ws-token')")
    assert token and token.count(".") == 2
    assert not [u for u in urls if token in u]
    assert token not in service.log()


def test_the_docs_page(service: LiveService, page: Any, tmp_path: Path) -> None:
    page.goto(service.url + "/api/docs")
    page.get_by_role("heading", name="runs", exact=True).wait_for()
    operation = page.locator("#op-post_software_identity_run_name")
    operation.locator("summary").focus()
    page.keyboard.press("Enter")  # <details> opens from the keyboard
    operation.get_by_text("RunParameters").first.wait_for()
    _shot(page, "docs", tmp_path, "#op-post_software_identity_run_name")


def test_a_wrong_password_is_told_and_nothing_opens(service: LiveService, page: Any) -> None:
    page.goto(service.url + "/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Sign in failed").wait_for()
    assert page.locator("#run-section").is_hidden()
