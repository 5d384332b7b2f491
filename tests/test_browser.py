"""One real browser: the app answers a ?q= link, and indexes an uploaded report, in headless
Chromium (Debian's, never a download).

`.ci/run` installs Debian's chromium; on a developer machine without it this test skips.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
APP = Path(__file__).resolve().parent.parent / "search_app" / "app.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _streamlit(index: Path, log_path: Path, **env: str):
    """`streamlit run` the app over ``index`` on a free port; yields its URL."""
    port = _free_port()
    env = dict(os.environ, PEEL_INDEX=str(index), HF_HUB_OFFLINE="1", **env)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--client.toolbarMode", "viewer"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited: {log_path.read_text()}")
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy in 120 s")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def server(bundled_index, tmp_path):
    with _streamlit(bundled_index, tmp_path / "streamlit.log") as url:
        yield url


def _need_chromium() -> None:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install Debian's chromium (see .ci/run)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)")


def test_a_link_opens_and_answers_with_citations_in_chromium(server, tmp_path):
    _need_chromium()
    from playwright.sync_api import sync_playwright

    shot = Path(os.environ.get("PEEL_SCREENSHOT") or tmp_path / "app.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{server}/?q=how+did+DVPO+use+change+2016%E2%80%932018", timeout=120_000)
            page.wait_for_selector(".peel-card .peel-cite", timeout=180_000)
            page.wait_for_timeout(1500)  # let the chart and the cards finish painting
            cites = page.locator(".peel-cite").all_inner_texts()
            assert any("›" in c and "Essex Police" in c for c in cites)
            assert "Evidence over time" in page.content()
            assert page.locator("text=Question").count() >= 1
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


DRONES = """# Moorland search and rescue 2021

## Drone patrols

In 2021 the Avalon Constabulary flew thermal-camera drone patrols over the moorland every night
and found fourteen missing walkers before dawn, most of them within an hour of the first call.
"""


def test_an_uploaded_report_is_indexed_and_answers_in_chromium(bundled_index, tmp_path):
    """Upload a report (and an empty file), correct its force, index it, and see it cited."""
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    index = tmp_path / "index"
    shutil.copytree(bundled_index, index)  # the session's index stays as it is
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "drones.md").write_text(DRONES, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    with _streamlit(index, tmp_path / "streamlit.log", PEEL_DATA=str(data)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url, timeout=120_000)
            page.get_by_text("Add reports").click()
            page.locator("input[type=file]").set_input_files([tmp_path / "drones.md", tmp_path / "empty.txt"])
            expect(page.get_by_text("empty.txt: empty file")).to_be_visible(timeout=60_000)
            title = page.get_by_role("textbox", name="Title", exact=True)
            expect(title).to_have_value("Moorland search and rescue 2021", timeout=60_000)
            expect(page.get_by_role("textbox", name="Years", exact=True)).to_have_value("2021")
            force = page.get_by_role("textbox", name="Force", exact=True)
            force.fill("Avalon Constabulary")
            force.press("Enter")
            page.wait_for_timeout(1000)  # the rerun that records the edit
            page.get_by_role("button", name="Index").click()
            expect(page.get_by_text("Added 1 report")).to_be_visible(timeout=180_000)

            question = page.get_by_role("textbox", name="Question", exact=True)
            question.fill("how many missing walkers did the drone patrols over the moorland find?")
            question.press("Enter")
            page.wait_for_selector(".peel-card .peel-cite", timeout=180_000)
            first = page.locator(".peel-card").first
            assert "Moorland search and rescue 2021 (2021) › " in first.locator(".peel-cite").inner_text()
            assert "fourteen missing walkers" in first.inner_text()
        finally:
            browser.close()
    entry = tomllib.loads((data / "uploads" / "manifest.toml").read_text(encoding="utf-8"))["document"]
    assert [(e["file"], e["force"]) for e in entry] == [("drones.md", "Avalon Constabulary")]
    assert sorted(p.name for p in (data / "uploads").iterdir()) == ["drones.md", "manifest.toml"]


def test_forces_side_by_side_in_chromium(tmp_path):
    """A corpus of three forces: the comparison shows one column per force, and the Force
    filter narrows the columns."""
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    from tests.multi_force import QUESTION, build

    index = build(tmp_path)
    with _streamlit(index, tmp_path / "streamlit.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            query = urllib.parse.urlencode({"q": QUESTION, "by": "force"})
            page.goto(f"{url}/?{query}", timeout=120_000)
            expect(page.get_by_text("Evidence by force")).to_be_visible(timeout=180_000)
            for force in ("Dorset Police", "Kent Police", "Surrey Police"):
                expect(page.get_by_role("heading", name=force, exact=True)).to_be_visible()
            page.goto(f"{url}/?{query}&force=Kent+Police,Surrey+Police", timeout=120_000)
            expect(page.get_by_text("Evidence by force")).to_be_visible(timeout=180_000)
            expect(page.get_by_role("heading", name="Kent Police", exact=True)).to_be_visible()
            assert page.get_by_role("heading", name="Dorset Police", exact=True).count() == 0
        finally:
            browser.close()
