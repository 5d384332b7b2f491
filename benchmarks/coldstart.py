"""Cold start: a new ``peel`` process, from spawn to its answer, and its peak memory.

The operating system's file cache is warm (the index and the model were read moments
before), as for a user who runs searches one after another; the *process* is cold:
interpreter start, imports, opening the index, loading the query encoder, one search.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from .common import median, peel_command, run_child


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def peel_search(index_dir: Path, queries: Sequence[str], *, mode: str = "hybrid",
                extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """``peel search QUERY --json --index DIR`` once per query (each a new process)."""
    env = {**_env(), **(extra_env or {})}
    seconds, rss, hits = [], [], []
    for q in queries:
        run = run_child([*peel_command(), "search", q, "--json", "--mode", mode, "--index", str(index_dir)], env=env)
        if run.returncode != 0:
            raise RuntimeError(f"peel search failed ({run.returncode}): {run.stderr[-2000:]}")
        hits.append(len(json.loads(run.stdout.strip().splitlines()[-1])["hits"]))
        seconds.append(run.seconds)
        rss.append(run.peak_rss_mib)
    return {
        "runs": len(seconds),
        "seconds": round(median(seconds), 3),
        "seconds_all": [round(s, 3) for s in seconds],
        "peak_rss_mib": round(median(rss), 1),
        "peak_rss_mib_all": [round(r, 1) for r in rss],
        "mean_hits": round(sum(hits) / len(hits), 2),
        "mode": mode,
        **({"env": extra_env} if extra_env else {}),
    }


def peel_help(reps: int) -> dict[str, Any]:
    seconds, rss = [], []
    for _ in range(reps):
        run = run_child([*peel_command(), "--help"], env=_env())
        seconds.append(run.seconds)
        rss.append(run.peak_rss_mib)
    return {"runs": reps, "seconds": round(median(seconds), 3), "peak_rss_mib": round(median(rss), 1)}


_HEAVY = ("torch", "sentence_transformers", "transformers")


def modules_imported(index_dir: Path, query: str, mode: str = "hybrid") -> dict[str, Any]:
    """Which heavy packages a `peel search` process imports (``python -X importtime``;
    untimed run)."""
    run = run_child([sys.executable, "-X", "importtime", "-m", "search_app.cli", "search", query, "--json",
                     "--mode", mode, "--index", str(index_dir)], env=_env())
    names = set()
    for line in run.stderr.splitlines():
        m = re.match(r"import time:\s+\d+\s+\|\s+\d+\s+\|\s+(\S.*)$", line)
        if m:
            names.add(m.group(1).strip())
    return {name: name in names for name in _HEAVY}
