"""Throughput and latency of `peel serve` (the HTTP JSON API) under concurrent clients.

    python -m benchmarks.api_bench [--index .peel-index] [--clients 1,2,4,8] [--requests N]
                                   [--replicas 1|2] [--endpoint search|ask] [--out FILE]

Starts ``--replicas`` real ``peel serve`` processes over the index (free loopback ports,
``HF_HUB_OFFLINE=1``), waits for ``/health``, warms each one up (every question once: the
model is loaded, the index mapped, and the query vectors of the fixed questions are in the
server's LRU cache from then on, so every timed request is a cache hit: it measures the
serving path, not query encoding), then for each client count runs ``clients`` threads,
each with its own ``httpx.Client``, each sending exactly ``--requests`` GET requests
(questions from a fixed list, each thread starting at a different one; with two replicas
consecutive requests alternate between them). All threads start together; the level's wall
time runs from their start to the last answer.

Per client count: throughput (answered requests per second), latency p50/p95/p99 (ms, wall,
as the client sees it: request, response and JSON body), errors (non-200 or transport),
CPU seconds the server processes and this (client) process spent, and the load average
before and after. The clients run on the same machine as the servers, so they compete for
the same cores. Results: ``benchmarks/results/api-<date>.json`` (``-run2``, ``-run3``, …
when that file exists). The servers are always stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import httpx

from benchmarks.common import (
    ROOT,
    load_average,
    machine,
    peel_command,
    percentile,
    result_path,
)

# Generic questions of the kind users ask about police inspection reports.
QUESTIONS = (
    "how quickly does the force answer 101 non-emergency calls?",
    "what did inspectors say about the response to domestic abuse?",
    "is stop and search used fairly and are the grounds recorded?",
    "are officers and staff vetted to the national standard?",
    "how well does the force protect vulnerable people?",
    "what happened to the use of domestic violence protection orders?",
    "how accurate is the force's crime recording?",
    "does the force understand demand and plan its workforce?",
    "how does the force investigate crime and support victims?",
    "what were the areas for improvement on counter-corruption?",
    "how are missing children and child sexual exploitation handled?",
    "how has neighbourhood policing changed since the last inspection?",
)

ENDPOINTS = ("search", "ask")
STARTUP_TIMEOUT_S = 300
REQUEST_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux /proc), None when unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log_path: Path
    startup_s: float = 0.0

    def cpu_seconds(self) -> float | None:
        return _proc_cpu_seconds(self.proc.pid)

    def log_tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


@dataclass
class Servers:
    """``peel serve`` processes over one index; ``stop()`` ends every one started."""

    index: Path
    log_dir: Path
    started: list[Server] = field(default_factory=list)

    def start(self, n: int) -> list[Server]:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        for _ in range(n):  # all started first: their start-ups overlap
            port = _free_port()
            log_path = self.log_dir / f"serve-{port}.log"
            with open(log_path, "wb") as log:
                proc = subprocess.Popen([*peel_command(), "serve", "--index", str(self.index), "--port", str(port)],
                                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
            self.started.append(Server(f"http://127.0.0.1:{port}", proc, log_path))
        t0 = time.monotonic()
        for server in self.started:
            self._wait_healthy(server, t0)
        return self.started

    @staticmethod
    def _wait_healthy(server: Server, t0: float) -> None:
        deadline = t0 + STARTUP_TIMEOUT_S
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/health", timeout=30).status_code == 200:
                    server.startup_s = round(time.monotonic() - t0, 2)
                    return
            if server.proc.poll() is not None:
                raise RuntimeError(f"peel serve exited ({server.proc.returncode}): {server.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"peel serve was not healthy in {STARTUP_TIMEOUT_S} s: {server.log_tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        for server in self.started:
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in self.started:
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(timeout=15)


def _client(urls: Sequence[str], path: str, questions: Sequence[str], n: int, offset: int,
            barrier: threading.Barrier, out: dict[str, Any]) -> None:
    """One client: its own connection pool, ``n`` requests, questions and replicas in turn."""
    latencies: list[float] = []
    errors: list[str] = []
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        barrier.wait()
        for i in range(n):
            url = urls[(offset + i) % len(urls)]
            q = questions[(offset + i) % len(questions)]
            t0 = time.perf_counter()
            try:
                r = client.get(f"{url}{path}", params={"q": q})
                if r.status_code != 200:
                    errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                r.json()  # the whole body, parsed: what a client has to do
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            latencies.append(time.perf_counter() - t0)
    out["latencies"] = latencies
    out["errors"] = errors
    out["done"] = time.perf_counter()


def run_level(servers: Sequence[Server], endpoint: str, clients: int, requests: int,
              questions: Sequence[str] = QUESTIONS) -> dict[str, Any]:
    """``clients`` threads × ``requests`` requests each against ``servers``."""
    urls = [s.url for s in servers]
    path = f"/{endpoint}"
    barrier = threading.Barrier(clients + 1)
    outs: list[dict[str, Any]] = [{} for _ in range(clients)]
    threads = [threading.Thread(target=_client, args=(urls, path, questions, requests, c, barrier, outs[c]),
                                daemon=True) for c in range(clients)]
    load_before = load_average()
    server_cpu0 = [s.cpu_seconds() for s in servers]
    client_cpu0 = time.process_time()
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = max((o.get("done", time.perf_counter()) for o in outs), default=time.perf_counter()) - t0
    client_cpu = time.process_time() - client_cpu0
    server_cpu1 = [s.cpu_seconds() for s in servers]
    latencies = [x for o in outs for x in o.get("latencies", [])]
    errors = [e for o in outs for e in o.get("errors", [])]
    server_cpu = (round(sum(b - a for a, b in zip(server_cpu0, server_cpu1)), 2)
                  if None not in server_cpu0 + server_cpu1 else None)

    def ms(q: float) -> float | None:
        return round(percentile(latencies, q) * 1e3, 1) if latencies else None

    return {
        "clients": clients,
        "requests_per_client": requests,
        "requests": clients * requests,
        "ok": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "seconds": round(seconds, 3),
        "throughput_rps": round(len(latencies) / seconds, 2) if seconds > 0 else None,
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
        "mean_ms": round(sum(latencies) / len(latencies) * 1e3, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1e3, 1) if latencies else None,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_request": round(server_cpu * 1e3 / len(latencies), 1)
        if server_cpu is not None and latencies else None,
        "client_cpu_s": round(client_cpu, 2),
        "load_before": load_before,
        "load_after": load_average(),
    }


def warm_up(servers: Sequence[Server], endpoint: str, questions: Sequence[str]) -> float:
    """Every question once on every server (model loaded, query vectors cached)."""
    t0 = time.perf_counter()
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        for s in servers:
            for q in questions:
                client.get(f"{s.url}/{endpoint}", params={"q": q}).raise_for_status()
    return round(time.perf_counter() - t0, 2)


def run(index: Path, clients: Sequence[int], requests: int, replicas: int = 1, endpoint: str = "search",
        questions: Sequence[str] = QUESTIONS) -> dict[str, Any]:
    """Start the servers, measure every client count, stop the servers; the results record."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {ENDPOINTS}")
    index = Path(index).resolve()
    t_start = time.perf_counter()
    out: dict[str, Any] = {
        "benchmark": "api",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_count": os.cpu_count(),
        "load_average": {"start": load_average()},
        "settings": {"index": str(index), "endpoint": endpoint, "replicas": replicas, "clients": list(clients),
                     "requests_per_client": requests, "method": "GET", "params": {"q": "<question>"},
                     "query_vectors": "cached (every question sent once to every server in the warm-up)"},
        "questions": list(questions),
    }
    with tempfile.TemporaryDirectory(prefix="peel-api-bench-") as logs:
        servers = Servers(index, Path(logs))
        try:
            started = servers.start(replicas)
            out["servers"] = [{"url": s.url, "pid": s.proc.pid, "startup_s": s.startup_s} for s in started]
            health = httpx.get(f"{started[0].url}/health", timeout=30).json()
            version = httpx.get(f"{started[0].url}/version", timeout=30).json()
            out["index"] = {"chunks": health.get("chunks"), "documents": health.get("documents"),
                            "model": version.get("model"), "created": version.get("created"),
                            "corpus_fingerprint": version.get("corpus_fingerprint")}
            out["warmup_s"] = warm_up(started, endpoint, questions)
            out["levels"] = [run_level(started, endpoint, c, requests, questions) for c in clients]
        finally:
            servers.stop()
    out["load_average"]["end"] = load_average()
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    return out


def table(R: dict[str, Any]) -> str:
    s = R["settings"]
    ix = R.get("index", {})
    lines = [f"peel serve /{s['endpoint']}, {s['replicas']} replica(s), {s['requests_per_client']} requests "
             f"per client; {ix.get('chunks')} chunks, model {ix.get('model')}; {R['cpu_count']} CPUs, "
             f"load {R['load_average']['start']} → {R['load_average'].get('end')}",
             "| clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | load 1m |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in R.get("levels", []):
        load = f"{r['load_before'][0]:.2f}→{r['load_after'][0]:.2f}" if r["load_before"] and r["load_after"] else "–"
        lines.append(f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['throughput_rps']} | {r['p50_ms']} "
                     f"| {r['p95_ms']} | {r['p99_ms']} | {r['server_cpu_ms_per_request']} | {load} |")
    return "\n".join(lines)


def _clients(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of integers, e.g. 1,2,4") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("client counts must be ≥ 1")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.api_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--index", type=Path, default=Path(".peel-index"), help="index folder (default: .peel-index)")
    p.add_argument("--clients", type=_clients, default=[1, 2, 4, 8], help="client counts, e.g. 1,2,4,8")
    p.add_argument("--requests", type=int, default=50, help="requests each client sends (default: 50)")
    p.add_argument("--replicas", type=int, choices=(1, 2), default=1, help="peel serve processes")
    p.add_argument("--endpoint", choices=ENDPOINTS, default="search")
    p.add_argument("--out", type=Path, metavar="FILE", help="results JSON (default: benchmarks/results/api-<date>.json)")
    args = p.parse_args(argv)
    if args.requests < 1:
        p.error("--requests must be ≥ 1")
    R = run(args.index, args.clients, args.requests, args.replicas, args.endpoint)
    path = args.out or result_path("api", R["started"][:10])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(R, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(R))
    print(f"written to {path}")
    return 1 if any(r["errors"] for r in R["levels"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
