"""Ingest throughput on Dask: one process, then a local cluster of 1 and of 2 workers.

    python -m benchmarks.cluster_bench [--copies 2] [--model PATH|NAME] [--workers 1,2]

The corpus is data/ written out ``--copies`` times, every copy with its own marker in each
sentence, so no text repeats and nothing comes from a cache: each run reads, chunks and
embeds everything into a new folder. For each setting it records the cluster's start-up
(worker processes, imports) apart from the ingest itself (which includes each worker's
first model load), texts embedded per second, and the load average before and after.
``scaling`` is 2-worker over 1-worker throughput; with two cores, 2.0 is the ceiling.

Results: ``benchmarks/results/cluster-<date>[-runN].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import CACHE, DATA, RESULTS, load_average, machine, result_path


def scaled_files(copies: int, folder: Path) -> Path:
    """data/'s reports ``copies`` times over, every sentence of copy i ending in "c<i>", so
    no chunk or evidence sentence of one copy repeats another's."""
    from ingest.pipeline import discover

    files, _ = discover([DATA])
    for i in range(copies):
        for path in files:
            text = path.read_text(encoding="utf-8")
            if i:  # copy 0 is the corpus itself
                text = re.sub(r"(\w)([.!?])(\s|$)", rf"\1 c{i}\2\3", text)
            (folder / f"{path.stem}-copy{i}{path.suffix}").write_text(text, encoding="utf-8")
    return folder


def _one(corpus: Path, work: Path, model: str, workers: int | None) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from index import api

    out: dict[str, Any] = {"workers": workers or 0, "load_before": load_average()}
    target = work / f"index-{workers or 0}"
    shutil.rmtree(target, ignore_errors=True)
    if workers:
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        out["cluster_start_s"] = round(time.perf_counter() - t0, 2)
        try:
            t0 = time.perf_counter()
            built = api.build([corpus], target, model=model, scheduler=cluster.scheduler_address)
            out["ingest_s"] = round(time.perf_counter() - t0, 2)
        finally:
            client.close()
            cluster.close()
    else:
        t0 = time.perf_counter()
        built = api.build([corpus], target, model=model)
        out["ingest_s"] = round(time.perf_counter() - t0, 2)
    out["chunks"] = built.report.counts["chunks"]
    out["texts_embedded"] = built.report.n_embedded
    out["texts_per_s"] = round(built.report.n_embedded / out["ingest_s"], 2)
    out["load_after"] = load_average()
    shutil.rmtree(target, ignore_errors=True)
    return out


def run(copies: int, model: str, workers: list[int]) -> dict[str, Any]:
    from index.models import load_model

    work = Path(tempfile.mkdtemp(prefix="cluster-", dir=CACHE))
    try:
        (work / "corpus").mkdir()
        corpus = scaled_files(copies, work / "corpus")
        load_model(model).encode(["warm up"])  # the one-process run does not pay the first load
        runs = [_one(corpus, work, model, None)] + [_one(corpus, work, model, n) for n in workers]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by = {r["workers"]: r for r in runs}
    result = {
        "benchmark": "cluster-ingest",
        "date": date.today().isoformat(),
        "model": str(model),
        "copies": copies,
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "machine": machine(),
    }
    if 1 in by and 2 in by:
        result["scaling_2_over_1"] = round(by[2]["texts_per_s"] / by[1]["texts_per_s"], 3)
        result["two_workers_over_one_process"] = round(by[2]["texts_per_s"] / by[0]["texts_per_s"], 3)
    return result


def main(argv: list[str] | None = None) -> int:
    from index.paths import default_model

    p = argparse.ArgumentParser(prog="python -m benchmarks.cluster_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--copies", type=int, default=2, help="times data/ is written out (default 2)")
    p.add_argument("--model", default=None, help="model (default: the one `peel ingest` uses)")
    p.add_argument("--workers", default="1,2", help="cluster sizes to run (default 1,2)")
    args = p.parse_args(argv)
    result = run(args.copies, args.model or default_model(), [int(n) for n in args.workers.split(",")])
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = result_path("cluster", result["date"])
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for r in result["runs"]:
        label = f"{r['workers']} worker(s)" if r["workers"] else "one process"
        start = f", cluster start {r['cluster_start_s']} s" if "cluster_start_s" in r else ""
        print(f"{label:>13}: {r['texts_embedded']} texts in {r['ingest_s']} s = {r['texts_per_s']} texts/s"
              f"{start}; load {r['load_before']} → {r['load_after']}")
    if "scaling_2_over_1" in result:
        print(f"scaling 1 → 2 workers: {result['scaling_2_over_1']}×; 2 workers vs one process: "
              f"{result['two_workers_over_one_process']}×")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
