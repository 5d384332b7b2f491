"""The code's shape as a contract: layers checked by import-linter, modules kept small."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ingest", "index", "evals", "search_app", "benchmarks")
MAX_LINES = 500


def test_imports_respect_the_layer_contracts():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    run = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout or "broken" not in run.stdout.split("Contracts:")[-1], run.stdout


def test_no_module_outgrows_one_concern():
    big = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            n = sum(1 for _ in path.open(encoding="utf-8"))
            if n > MAX_LINES:
                big[str(path.relative_to(ROOT))] = n
    assert not big, f"modules over {MAX_LINES} lines: {big}"
