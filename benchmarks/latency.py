"""Warm, single-query latency in one process, for bm25, dense and hybrid.

Each timed query is ``index.api.search(searcher, q, k=10, mode=...)``: what `peel search`
and the app call, so query parsing, glossary expansion, year filters, retrieval, fusion,
near-duplicate folding and, for change-over-time questions, the per-period searches are
all included, and so is encoding the query. Every query string is used once in the whole
run, so the embedder's query-vector cache never answers a timed query; each query's
encodes are counted to prove it (``vector_cache_hits``: queries that encoded nothing).
Re-running queries whose vectors are cached is reported separately (``hybrid_cached``), and
so is ``Searcher.search`` alone (``hybrid_retrieval_only``: encoding + BM25 + dense + fusion +
folding, without query parsing, glossary expansion and the per-period searches).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .common import QuerySource, latency_summary, merge_rounds


class EncodeCounter:
    """Counts calls to the embedder's ``encode`` (the cache-miss path), per query."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.calls = 0
        self._orig = embedder.encode

        def counting(*args, **kwargs):
            self.calls += 1
            return self._orig(*args, **kwargs)

        embedder.encode = counting  # instance attribute: encode_queries calls self.encode

    def close(self) -> None:
        try:
            del self.embedder.encode
        except AttributeError:
            pass


CHANGE_TEMPLATE = "how did {} change between 2016 and 2018/19"  # a change-over-time question


def _run(searcher, queries: Sequence[str], mode: str, filters, counter: EncodeCounter,
         retrieval_only: bool = False) -> dict[str, Any]:
    from index import api

    wall, cpu, hits_total, cache_hits = [], [], 0, 0
    for q in queries:
        before = counter.calls
        c0, t0 = time.thread_time(), time.perf_counter()
        if retrieval_only:
            hits = searcher.search(q, k=10, mode=mode, filters=filters)
        else:
            hits = api.search(searcher, q, k=10, mode=mode, filters=filters).hits
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        hits_total += len(hits)
        if mode != "bm25" and counter.calls == before:
            cache_hits += 1
    out = latency_summary(wall, cpu)
    out["vector_cache_hits"] = cache_hits
    out["mean_hits"] = round(hits_total / max(1, len(queries)), 2)
    return out


def measure(
    searcher,
    source: QuerySource,
    *,
    n: int,
    rounds: int,
    warmup: int = 5,
    modes: Sequence[str] = ("bm25", "dense", "hybrid"),
    filtered: Any = None,
) -> dict[str, Any]:
    """p50/p95 per mode (median over ``rounds`` rounds of ``n`` fresh queries each)."""
    from index import api

    counter = EncodeCounter(searcher.embedder)
    try:
        for q in source.take(warmup):  # loads the encoder, touches every structure
            api.search(searcher, q, k=10, mode="hybrid")
        out: dict[str, Any] = {"chunks": len(searcher), "dense_kind": searcher.manifest["dense"]["kind"]}
        plan = [(m, m, None) for m in modes]
        if filtered is not None:
            plan.append(("hybrid_filtered", "hybrid", filtered))
        if "hybrid" in modes:
            plan.append(("hybrid_retrieval_only", "hybrid", None))
            # A change-over-time question also searches each document period with its topic.
            plan.append(("hybrid_change_over_time", "hybrid", None))
        per: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in plan}
        last_hybrid: list[str] = []
        for _ in range(rounds):
            for name, mode, flt in plan:  # interleaved, so load changes hit every mode alike
                qs = source.take(n)
                if name == "hybrid_change_over_time":
                    qs = [CHANGE_TEMPLATE.format(q) for q in qs]
                per[name].append(_run(searcher, qs, mode, flt, counter,
                                      retrieval_only=name == "hybrid_retrieval_only"))
                if name == "hybrid":
                    last_hybrid = qs
        for name in per:
            out[name] = merge_rounds(per[name])
            out[name]["vector_cache_hits"] = sum(r["vector_cache_hits"] for r in per[name])
        if filtered is not None:
            out["hybrid_filtered"]["filters"] = filtered.to_dict()
        if "hybrid" in per and last_hybrid:
            cached = _run(searcher, last_hybrid, "hybrid", None, counter)
            out["hybrid_cached"] = cached  # same strings again: vectors come from the LRU cache
        out["components"] = components(searcher, source.take(n))
    finally:
        counter.close()
    return out


def components(searcher, queries: Sequence[str], candidates: int = 100) -> dict[str, Any]:
    """Where a hybrid query's time goes: encoding a fresh query, BM25 top-100, dense top-100
    (the candidate depth hybrid uses), each timed alone."""
    from index.engine.bm25 import query_tokens

    emb = searcher.embedder
    enc_wall, enc_cpu, vecs = [], [], []
    for q in queries:
        c0, t0 = time.thread_time(), time.perf_counter()
        vecs.append(emb.encode_query(q))
        enc_wall.append(time.perf_counter() - t0)
        enc_cpu.append(time.thread_time() - c0)
    tokens = [query_tokens(q) for q in queries]
    bm_wall, bm_cpu = [], []
    for t in tokens:
        c0, t0 = time.thread_time(), time.perf_counter()
        searcher._bm25.search(t, candidates)
        bm_wall.append(time.perf_counter() - t0)
        bm_cpu.append(time.thread_time() - c0)
    de_wall, de_cpu = [], []
    for v in vecs:
        c0, t0 = time.thread_time(), time.perf_counter()
        searcher._dense.search(v, candidates)
        de_wall.append(time.perf_counter() - t0)
        de_cpu.append(time.thread_time() - c0)
    return {
        "encode_query": {**latency_summary(enc_wall, enc_cpu), "backend": emb.backend_for(1)},
        "bm25_top100": latency_summary(bm_wall, bm_cpu),
        "dense_top100": latency_summary(de_wall, de_cpu),
    }


QUERY_BACKENDS = ("numpy", "torch", "onnx-fp32", "onnx-int8")


def _query_encoders(embedder) -> dict[str, Callable[[list[str]], np.ndarray]]:
    """Each query engine of ``embedder``'s folder, called as the product calls it for one
    query (one thread), bypassing the embedder's vector cache."""
    from index.models.embedder import _threads_for

    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {}
    enc = embedder._numpy_encoder()
    if enc is not None:
        encoders["numpy"] = lambda qs: enc.encode(qs, threads=1)
    import torch

    model = embedder.model
    torch.set_num_threads(_threads_for(1))
    encoders["torch"] = lambda qs: model.encode(qs, normalize_embeddings=True, convert_to_numpy=True,
                                                show_progress_bar=False)
    if embedder.onnx_usable:
        for precision in ("fp32", "int8"):
            onnx_enc = embedder._onnx_encoder(precision)
            encoders[f"onnx-{precision}"] = lambda qs, e=onnx_enc: e.encode(qs, threads=1)
    return encoders


def encoder_comparison(embedder, queries: Sequence[str]) -> dict[str, Any]:
    """Single-query encoding on each engine (numpy forward pass, torch through
    sentence-transformers, ONNX Runtime fp32 and int8), one thread, on the same query
    strings, interleaved query by query so load changes hit every engine alike; and how far
    each engine's vectors are from torch's."""
    encoders = _query_encoders(embedder)
    for fn in encoders.values():  # sessions made, first-call allocations done
        fn(["warm up"])
    out: dict[str, Any] = {"model": embedder.name, "queries": len(queries), "threads": 1,
                           "load_average_start": list(os.getloadavg())}
    wall: dict[str, list[float]] = {k: [] for k in encoders}
    cpu: dict[str, list[float]] = {k: [] for k in encoders}
    for q in queries:
        for name, fn in encoders.items():
            c0, t0 = time.thread_time(), time.perf_counter()
            fn([q])
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.thread_time() - c0)
    for name in encoders:
        out[name] = latency_summary(wall[name], cpu[name])
    out["load_average_end"] = list(os.getloadavg())
    sample = list(queries[:20])
    want = encoders["torch"](sample)
    for name, fn in encoders.items():
        if name != "torch":
            got = fn(sample)
            out[name]["max_abs_difference"] = float(np.abs(got - want).max())
            out[name]["min_cosine"] = float((got * want).sum(axis=1).min())
    if "numpy" in out:  # where report.py has always read them
        out["max_abs_difference"] = out["numpy"]["max_abs_difference"]
        out["min_cosine"] = out["numpy"]["min_cosine"]
    return out


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | " + " | ".join(f"{b} p50 ms (cpu)" for b in QUERY_BACKENDS) + " | load |",
             "|---|" + "---|" * (len(QUERY_BACKENDS) + 1)]
    for r in rows:
        cells = [f"{r[b]['p50_ms']:.1f} ({r[b]['cpu_p50_ms']:.1f})" if b in r else "–" for b in QUERY_BACKENDS]
        load = f"{r['load_average_start'][0]:.1f}→{r['load_average_end'][0]:.1f}"
        lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {load} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m benchmarks.latency [--queries N] [MODEL ...]: the query-encoder row per model."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=main.__doc__)
    p.add_argument("models", nargs="*", default=["all-MiniLM-L6-v2", "all-mpnet-base-v2"])
    p.add_argument("--queries", type=int, default=100, help="query strings, the same for every engine")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON too")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index.models import load_model
    from ingest.pipeline import load_corpus

    from .common import DATA, query_pool
    from .corpus import chunk_sentences, distinct_sentences

    chunks = load_corpus([DATA]).chunks
    queries = query_pool(distinct_sentences(chunk_sentences(chunks)), args.queries)
    rows = [encoder_comparison(load_model(m), queries) for m in args.models]
    print(_table(rows))
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
