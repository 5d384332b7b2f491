"""Fresh clone → first answer in the app, as a new user runs ``./scripts/run.sh``.

    python -m benchmarks.fresh_clone [--keep] [--wait-adapt]

Clones the current commit into a temporary folder (nothing shared with this checkout: its
own ``.venv``, model folder and index), then times each phase:

* ``setup_s``: ``scripts/setup.sh`` with ``PEEL_ADAPT=background`` (what ``run.sh`` does):
  the virtualenv, torch and every dependency, and the start of the background adaptation;
* ``app_healthy_s``: ``peel app`` until Streamlit answers its health check;
* ``first_answer_s``: headless Chromium opens ``/?q=…`` and waits for the first cited card
  (on first run the app builds its index with the packaged model while adapting goes on);
* with ``--wait-adapt``: ``adapted_s`` until the background job says the index was rebuilt
  with the adapted model, and the app's model line after a reload.

Every time counts from the start of the clone; the load average is recorded with them.
Results: ``benchmarks/results/fresh-clone-<date>.json``. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from benchmarks.common import RESULTS, ROOT, load_average, machine

QUESTION = "how did DVPO use change 2016-2018?"
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("peel app exited before it was healthy")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.5)
    raise TimeoutError("the app was not healthy in time")


def run(keep: bool, wait_adapt: bool) -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="peel-fresh-"))
    clone = work / "peel-search"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEEL_", "VIRTUAL_ENV"))}
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    out: dict = {"machine": machine(), "load_start": load_average(), "question": QUESTION}
    t0 = time.monotonic()
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        out["clone_s"] = round(time.monotonic() - t0, 1)
        subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, check=True,
                       env={**env, "PEEL_ADAPT": "background"})
        out["setup_s"] = round(time.monotonic() - t0, 1)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(work / "app.log", "w")
        app = subprocess.Popen([str(clone / ".venv/bin/peel"), "app", "--port", str(port)], cwd=clone,
                               env={**env, "HF_HUB_OFFLINE": "1"}, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, app, 300)
            out["app_healthy_s"] = round(time.monotonic() - t0, 1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page()
                page.goto(f"{url}/?q={urllib.request.quote(QUESTION)}", timeout=120_000)
                page.wait_for_selector(".peel-card .peel-cite", timeout=1_800_000)
                out["first_answer_s"] = round(time.monotonic() - t0, 1)
                out["load_at_first_answer"] = load_average()
                out["model_line"] = next((t for t in page.locator("p").all_inner_texts()
                                          if t.startswith("Model:")), None)
                if wait_adapt:
                    status = clone / "..peel-model.adapt-status.json"  # index.models.adapt_status.status_path
                    while True:
                        info = json.loads(status.read_text()) if status.exists() else {}
                        if info.get("state") in ("done", "failed"):
                            break
                        time.sleep(10)
                    out["adapt_state"] = info.get("state")
                    out["adapted_s"] = round(time.monotonic() - t0, 1)
                    page.reload()
                    page.wait_for_selector(".peel-card .peel-cite", timeout=600_000)
                    out["model_line_after"] = next((t for t in page.locator("p").all_inner_texts()
                                                    if t.startswith("Model:")), None)
                browser.close()
        finally:
            app.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                app.wait(timeout=10)
            log.close()
            # the background adaptation belongs to this clone: stop it with the benchmark
            subprocess.run(["pkill", "-f", str(clone / ".venv")], check=False)
    finally:
        out["load_end"] = load_average()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            out["kept"] = str(work)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone (and its .venv) for a look")
    parser.add_argument("--wait-adapt", action="store_true", help="also wait for the background adaptation")
    args = parser.parse_args()
    result = run(args.keep, args.wait_adapt)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"fresh-clone-{date.today().isoformat()}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
