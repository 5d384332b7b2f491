"""One real browser: the app answers a ?q= link in headless Chromium (Debian's, never a download).

`.ci/run` installs Debian's chromium; on a developer machine without it this test skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
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


@pytest.fixture
def server(bundled_index, tmp_path):
    port = _free_port()
    env = dict(os.environ, PEEL_INDEX=str(bundled_index), HF_HUB_OFFLINE="1")
    log = open(tmp_path / "streamlit.log", "w")
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
            pytest.fail(f"streamlit exited: {(tmp_path / 'streamlit.log').read_text()}")
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy in 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_a_link_opens_and_answers_with_citations_in_chromium(server, tmp_path):
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install Debian's chromium (see .ci/run)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
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
