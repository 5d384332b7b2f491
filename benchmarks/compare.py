"""Side by side in the same run: bm25s vs rank-bm25, and FAISS flat vs HNSW."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from .common import latency_summary


def bm25_libraries(texts: Sequence[str], queries: Sequence[str], k: int = 100,
                   rank_bm25_queries: int | None = None) -> dict[str, Any]:
    """Indexing time and top-``k`` query latency of bm25s (as the product uses it) and
    rank-bm25's BM25Okapi, on the same tokenised corpus and the same tokenised queries.
    Scores agree by construction (see index/bm25.py); top-10 overlap is reported as a check."""
    from index.engine.bm25 import K1, B, BM25Index, tokenize

    t0 = time.perf_counter()
    corpus_tokens = [tokenize(t) for t in texts]
    tokenize_s = time.perf_counter() - t0
    q_tokens = [tokenize(q) for q in queries]
    q_tokens = [t for t in q_tokens if t]

    t0 = time.perf_counter()
    ours = BM25Index.from_tokens(corpus_tokens)
    bm25s_index_s = time.perf_counter() - t0
    wall, cpu, top_ours = [], [], []
    for t in q_tokens:
        c0, t1 = time.thread_time(), time.perf_counter()
        top_ours.append(ours.search(t, k))
        wall.append(time.perf_counter() - t1)
        cpu.append(time.thread_time() - c0)
    out: dict[str, Any] = {
        "chunks": len(texts),
        "queries": len(q_tokens),
        "k": k,
        "tokenize_seconds": round(tokenize_s, 3),
        "bm25s": {"index_seconds": round(bm25s_index_s, 3), **latency_summary(wall, cpu)},
    }
    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        out["rank_bm25"] = {"skipped": "rank-bm25 is not installed (pip install rank-bm25)"}
        return out
    t0 = time.perf_counter()
    ref = BM25Okapi(corpus_tokens, k1=K1, b=B, epsilon=0.0)
    ref_index_s = time.perf_counter() - t0
    sub = q_tokens[: rank_bm25_queries or len(q_tokens)]
    wall, cpu, overlap = [], [], []
    for i, t in enumerate(sub):
        c0, t1 = time.thread_time(), time.perf_counter()
        scores = ref.get_scores(t)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[np.lexsort((top, -scores[top]))]
        wall.append(time.perf_counter() - t1)
        cpu.append(time.thread_time() - c0)
        mine = [row for row, _ in top_ours[i][:10]]
        theirs = [int(r) for r in top[:10] if scores[r] > 0]
        if mine or theirs:
            overlap.append(len(set(mine) & set(theirs)) / max(len(mine), len(theirs)))
    out["rank_bm25"] = {"index_seconds": round(ref_index_s, 3), **latency_summary(wall, cpu),
                        "settings": "BM25Okapi(k1=1.5, b=0.75, epsilon=0)"}
    out["top10_overlap"] = round(float(np.mean(overlap)), 4) if overlap else None
    out["speedup_query_p50"] = round(out["rank_bm25"]["p50_ms"] / max(out["bm25s"]["p50_ms"], 1e-6), 1)
    out["speedup_index"] = round(ref_index_s / max(bm25s_index_s, 1e-6), 1)
    return out


def faiss_flat_vs_hnsw(vectors: np.ndarray, queries: np.ndarray, hnsw=None) -> dict[str, Any]:
    """Latency of single-query search (k=10, and k=100 as hybrid asks for) on an exact
    IndexFlatIP and on the product's HNSW (M, efConstruction, efSearch from index.engine.dense),
    and HNSW's recall@10 / recall@100 against flat on the same queries."""
    import faiss

    from index.engine import dense as dense_mod
    from index.engine.dense import DenseIndex

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    t0 = time.perf_counter()
    flat = DenseIndex(dense_mod.build_faiss(vectors, hnsw_threshold=len(vectors) + 1))
    flat_build = time.perf_counter() - t0
    hnsw_build = None
    if hnsw is None:
        t0 = time.perf_counter()
        hnsw = DenseIndex(dense_mod.build_faiss(vectors, hnsw_threshold=0))
        hnsw_build = time.perf_counter() - t0
    assert hnsw.kind == "hnsw" and flat.kind == "flat"
    out: dict[str, Any] = {
        "chunks": len(vectors),
        "queries": len(queries),
        "hnsw_settings": {"M": dense_mod.HNSW_M, "efConstruction": dense_mod.EF_CONSTRUCTION,
                          "efSearch": dense_mod.EF_SEARCH},
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "flat_build_seconds": round(flat_build, 3),
        "hnsw_build_seconds": round(hnsw_build, 2) if hnsw_build is not None else "built with the index",
    }
    results: dict[tuple[str, int], list[list[int]]] = {}
    for name, idx in (("flat", flat), ("hnsw", hnsw)):
        for k in (10, 100):
            wall, cpu, rows = [], [], []
            for q in queries:
                c0, t0 = time.thread_time(), time.perf_counter()
                res = idx.search(q, k)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
                rows.append([r for r, _ in res])
            results[(name, k)] = rows
            out[f"{name}_k{k}"] = latency_summary(wall, cpu)

    def recall(a: list[list[int]], b: list[list[int]], at: int) -> float:
        return float(np.mean([len(set(x[:at]) & set(y[:at])) / max(1, min(at, len(y))) for x, y in zip(a, b)]))

    out["recall_at_10"] = round(recall(results[("hnsw", 10)], results[("flat", 10)], 10), 4)
    out["recall_at_10_in_top100_search"] = round(recall(results[("hnsw", 100)], results[("flat", 100)], 10), 4)
    out["recall_at_100"] = round(recall(results[("hnsw", 100)], results[("flat", 100)], 100), 4)

    # the efSearch trade-off on the same graph and queries (k=100, as hybrid searches)
    sweep = []
    for ef in sorted({64, 128, dense_mod.EF_SEARCH, 512}):
        params = faiss.SearchParametersHNSW(efSearch=max(ef, 100))
        wall, rows = [], []
        for q in queries:
            t0 = time.perf_counter()
            _, I = hnsw.index.search(q[None, :], 100, params=params)
            wall.append(time.perf_counter() - t0)
            rows.append([int(i) for i in I[0] if i >= 0])
        sweep.append({"efSearch": max(ef, 100), "p50_ms": latency_summary(wall)["p50_ms"],
                      "recall_at_10": round(recall(rows, results[("flat", 100)], 10), 4),
                      "recall_at_100": round(recall(rows, results[("flat", 100)], 100), 4)})
    out["ef_search_sweep"] = sweep
    return out
