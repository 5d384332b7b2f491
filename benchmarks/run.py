"""The benchmark run: what is measured in quick and full mode, in which order."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from index.paths import default_model

from . import coldstart, compare, corpus, ingest_bench, latency
from .common import (
    CACHE,
    DATA,
    RESULTS,
    QuerySource,
    dir_size,
    load_average,
    machine,
    query_pool,
)

SMALL_DOCS = (  # the quick run's ingest subset: the three short documents of data/
    "essex-hmic-inspection-news-article.txt",
    "essex-peel-2018-19-web-summary.txt",
    "essex-police-crime-plan-progress-2017.txt",
)


@dataclass
class Settings:
    mode: str
    parse_reps: int
    e2e_paths: list[Path]
    e2e_reps: int
    fresh_process_ingest: bool
    latency_queries: int
    latency_rounds: int
    cold_reps: int
    scaled_chunks: int
    reuse_scaled_index: bool
    compute_sentence_vectors: bool
    fidelity_sample: int
    rank_bm25_queries: int
    faiss_queries: int
    scaled_cold_reps: int

    @classmethod
    def quick(cls) -> "Settings":
        return cls("quick", parse_reps=1, e2e_paths=[DATA / name for name in SMALL_DOCS], e2e_reps=1,
                   fresh_process_ingest=False, latency_queries=30, latency_rounds=1, cold_reps=3,
                   scaled_chunks=25_000, reuse_scaled_index=True, compute_sentence_vectors=False,
                   fidelity_sample=0, rank_bm25_queries=20, faiss_queries=100, scaled_cold_reps=0)

    @classmethod
    def full(cls) -> "Settings":
        return cls("full", parse_reps=3, e2e_paths=[DATA], e2e_reps=2, fresh_process_ingest=True,
                   latency_queries=100, latency_rounds=3, cold_reps=5, scaled_chunks=100_000,
                   reuse_scaled_index=False, compute_sentence_vectors=True, fidelity_sample=200,
                   rank_bm25_queries=40, faiss_queries=200, scaled_cold_reps=3)


class Log:
    def __init__(self, quiet: bool = False) -> None:
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)


def _step(results: dict[str, Any], name: str, log: Log, fn: Callable[[], Any]) -> Any:
    """Run one measurement; a failure is recorded and the run goes on."""
    t0 = time.perf_counter()
    log(f"{name} …")
    try:
        value = fn()
    except Exception as exc:  # recorded, not hidden: the JSON says what failed and why
        import traceback

        results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
        log(f"{name} FAILED: {exc}")
        traceback.print_exc()
        return None
    results.setdefault("step_seconds", {})[name] = round(time.perf_counter() - t0, 1)
    return value


def _scaled_key(n: int, info: dict[str, Any]) -> str:
    from index.engine import bm25, dense
    from index.engine import build as store

    parts = {"n": n, "corpus": info, "format": store.FORMAT_VERSION, "bm25": bm25.tokenizer_settings(),
             "hnsw": [dense.HNSW_THRESHOLD, dense.HNSW_M, dense.EF_CONSTRUCTION],
             "corpus_py": hashlib.sha256(Path(corpus.__file__).read_bytes()).hexdigest()[:16]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def _adaptation_record(model: str | None) -> dict[str, Any] | None:
    """What making the serving model cost (`peel adapt` records it in adapt_info.json):
    training seconds, peak RSS, steps and settings; None for the packaged model."""
    if model is None:
        return None
    try:
        info = json.loads((Path(model) / "adapt_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("created", "base_model", "steps", "n_pairs", "train_seconds", "peak_rss_mb", "bf16",
            "trained_parameters", "settings")
    return {k: info[k] for k in keys if k in info}


def scaled_index(sc: corpus.ScaledCorpus, reuse: bool, log: Log) -> tuple[Path, dict[str, Any]]:
    """Build the scaled corpus's index with `index.engine.build.build_index(..., vectors=...)`
    (the product's own build, HNSW above its threshold); reuse it in quick mode if current."""
    from index.engine.build import build_index
    from index.engine.files import index_exists

    n = len(sc.chunks)
    folder = CACHE / f"scaled-{n}-index"
    key = _scaled_key(n, sc.info)
    key_file = CACHE / f"scaled-{n}-index.key"
    if reuse and index_exists(folder) and key_file.exists() and key_file.read_text() == key:
        return folder, {"reused": True}
    log(f"building the {n}-chunk index (BM25 + {'HNSW' if n > 20_000 else 'flat'}) …")
    key_file.unlink(missing_ok=True)
    t0 = time.perf_counter()
    report = build_index(sc.chunks, folder, model=default_model(), progress=False, vectors=sc.vectors,
                         sentence_encoder=sc.encode_sentences)
    seconds = time.perf_counter() - t0
    key_file.write_text(key)
    return folder, {"reused": False, "build_seconds": round(seconds, 1), "dense_kind": report.dense_kind,
                    "note": "store.build_index with precomputed chunk and sentence vectors: chunks.jsonl, BM25, FAISS, sentence table, cache, fsync"}


def _open_searcher(folder: Path) -> tuple[Any, float]:
    from index.engine.searcher import Searcher

    t0 = time.perf_counter()
    s = Searcher.open(folder)
    return s, time.perf_counter() - t0


def _size(folder: Path, n: int) -> dict[str, Any]:
    from index.engine.versions import current_folder

    size = dir_size(current_folder(folder))  # one version: retired ones are kept a while beside it
    return {"chunks": n, "bytes": size["bytes"], "mib": round(size["bytes"] / 2**20, 2),
            "mib_per_1k_chunks": round(size["bytes"] / 2**20 / (n / 1000), 3),
            "by_file_mib": {k: round(v / 2**20, 2) for k, v in size["by_file"].items()}}


def run(settings: Settings, log: Log) -> dict[str, Any]:
    started = _dt.datetime.now().astimezone()
    t_start = time.perf_counter()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    CACHE.mkdir(parents=True, exist_ok=True)
    R: dict[str, Any] = {
        "mode": settings.mode,
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average": {"start": load_average()},
        "settings": {k: ([str(p.relative_to(DATA.parent)) for p in v] if k == "e2e_paths" else v)
                     for k, v in settings.__dict__.items()},
    }

    # --- the bundled corpus and the query pool --------------------------------------------
    bundled = _step(R, "bundled index", log, corpus.bundled_index)
    if bundled is None:
        raise SystemExit("could not build the bundled corpus's index: see the error above")
    bundled_dir, summary = bundled
    R["bundled"] = {"documents": summary["documents"], "chunks": summary["chunks"], "embedded_now": summary["embedded"]}
    real = corpus.read_index_chunks(bundled_dir)
    real_vectors = corpus.read_index_vectors(bundled_dir)
    sentences = corpus.chunk_sentences(real)
    flat_sentences = corpus.distinct_sentences(sentences)
    source = QuerySource(query_pool(flat_sentences, 6000))

    # --- cold start (separate processes, before this one loads anything heavy) -----------
    def cold() -> dict[str, Any]:
        out = {
            "bundled_hybrid": coldstart.peel_search(bundled_dir, source.take(settings.cold_reps)),
            "bundled_bm25": coldstart.peel_search(bundled_dir, source.take(settings.cold_reps), mode="bm25"),
            "help": coldstart.peel_help(max(2, settings.cold_reps // 2)),
            "imports": coldstart.modules_imported(bundled_dir, source.take(1)[0]),
        }
        if settings.mode == "full":
            out["bundled_hybrid_torch"] = coldstart.peel_search(
                bundled_dir, source.take(2), extra_env={"PEEL_ENCODER": "torch"})
        return out

    R["cold_start"] = _step(R, "cold start", log, cold)

    # --- ingest -----------------------------------------------------------------------------
    ing: dict[str, Any] = {}
    parsed = _step(R, "parse + chunk", log, lambda: ingest_bench.parse_and_chunk([DATA], settings.parse_reps))
    if parsed:
        ing["parse_chunk"] = parsed[0]
    from index.models.embedder import load_model

    embedder = load_model(default_model())  # the bundled index's model: the adapted one if made
    ing["end_to_end"] = _step(R, "end-to-end ingest vs raw encode", log,
                              lambda: ingest_bench.end_to_end(settings.e2e_paths, settings.e2e_reps, embedder))
    if ing["end_to_end"]:
        ing["end_to_end"]["paths"] = [p.name for p in settings.e2e_paths]
    if settings.fresh_process_ingest:
        ing["fresh_process"] = _step(R, "peel ingest (new process)", log,
                                     lambda: ingest_bench.fresh_process_ingest([DATA]))
    R["ingest"] = ing
    R["adaptation"] = _adaptation_record(default_model())

    # --- latency at the bundled corpus --------------------------------------------------------
    from index.engine.filters import Filters

    searcher, open_s = _open_searcher(bundled_dir)
    lat: dict[str, Any] = {}
    lat["bundled"] = _step(R, "latency (bundled)", log, lambda: latency.measure(
        searcher, source, n=settings.latency_queries, rounds=settings.latency_rounds))
    if lat["bundled"]:
        lat["bundled"]["open_seconds"] = round(open_s, 3)
    R["query_encoding"] = _step(R, "query encoding numpy vs torch", log,
                                lambda: latency.encoder_comparison(embedder, source.take(2 * settings.latency_queries)))
    R["index_size"] = {"bundled": _size(bundled_dir, len(real))}
    cmp_: dict[str, Any] = {}
    cmp_["bm25_bundled"] = _step(R, "bm25s vs rank-bm25 (bundled)", log, lambda: compare.bm25_libraries(
        [c.embed_text() for c in real], source.take(settings.latency_queries)))

    # --- the scaled corpus ------------------------------------------------------------------
    n = settings.scaled_chunks

    def make_scaled() -> corpus.ScaledCorpus:
        vecs, info = corpus.sentence_vectors(flat_sentences, compute=settings.compute_sentence_vectors,
                                             embedder=embedder)
        sc = corpus.build_scaled(real, real_vectors, n, sentence_vecs=vecs, sentences=sentences)
        sc.info["sentence_vectors"] = info
        sc.encode_sentences = corpus.sentence_encoder(sentences, vecs, real_vectors, info.setdefault("evidence", {}))
        return sc

    sc = _step(R, f"scaled corpus ({n} chunks)", log, make_scaled)
    if sc is not None:
        R["scaled_corpus"] = sc.info
        built = _step(R, "scaled index", log, lambda: scaled_index(sc, settings.reuse_scaled_index, log))
        if built:
            folder, build_info = built
            R["scaled_corpus"]["index"] = build_info
            big, big_open = _open_searcher(folder)
            year = Filters(year_from=2018, year_to=2019)
            lat["scaled"] = _step(R, f"latency ({n} chunks)", log, lambda: latency.measure(
                big, source, n=settings.latency_queries, rounds=settings.latency_rounds, filtered=year))
            if lat["scaled"]:
                lat["scaled"]["open_seconds"] = round(big_open, 2)
            R["index_size"]["scaled"] = _size(folder, len(sc.chunks))

            def faiss_cmp() -> dict[str, Any]:
                qv = embedder.encode_queries(source.take(settings.faiss_queries))
                return compare.faiss_flat_vs_hnsw(big._dense.vectors, qv,
                                                  hnsw=big._dense if big._dense.kind == "hnsw" else None)

            cmp_["faiss_scaled"] = _step(R, f"FAISS flat vs HNSW ({n})", log, faiss_cmp)
            cmp_["bm25_scaled"] = _step(R, f"bm25s vs rank-bm25 ({n})", log, lambda: compare.bm25_libraries(
                [c.embed_text() for c in sc.chunks], source.take(settings.latency_queries),
                rank_bm25_queries=settings.rank_bm25_queries))
            if settings.scaled_cold_reps:
                del big
                R["cold_start"] = R.get("cold_start") or {}
                R["cold_start"]["scaled_hybrid"] = _step(R, f"cold start ({n})", log, lambda: coldstart.peel_search(
                    folder, source.take(settings.scaled_cold_reps)))
            if settings.fidelity_sample and sc.info["vectors"] == "sentence-mean":
                R["scaled_corpus"]["fidelity"] = _step(R, "vector fidelity sample", log, lambda: corpus.fidelity(
                    sc, settings.fidelity_sample, embedder))
            if not settings.reuse_scaled_index:
                shutil.rmtree(folder, ignore_errors=True)
                (CACHE / f"scaled-{n}-index.key").unlink(missing_ok=True)
    R["latency"] = lat
    R["comparisons"] = cmp_
    R["queries_used"] = source.used
    R["load_average"]["end"] = load_average()
    R["seconds"] = round(time.perf_counter() - t_start, 1)
    R["targets"] = targets(R)
    return R


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return None
        d = d[p]
    return d


def targets(R: dict[str, Any]) -> list[dict[str, Any]]:
    scaled_n = _get(R, "scaled_corpus", "n_chunks")
    rows = [
        ("Warm hybrid p50 ≤ 20 ms at 100k chunks (incl. query encoding)", 20.0, "≤",
         _get(R, "latency", "scaled", "hybrid", "p50_ms") if scaled_n == 100_000 else None, "ms"),
        ("End-to-end ingest ≥ 0.8 × raw encode throughput", 0.8, "≥", _get(R, "ingest", "end_to_end", "ratio"), "×"),
        ("Cold start ≤ 3 s at the bundled corpus", 3.0, "≤", _get(R, "cold_start", "bundled_hybrid", "seconds"), "s"),
        ("HNSW recall@10 vs flat ≥ 0.98", 0.98, "≥", _get(R, "comparisons", "faiss_scaled", "recall_at_10"), ""),
    ]
    out = []
    for name, goal, op, value, unit in rows:
        met = None if value is None else (value <= goal if op == "≤" else value >= goal)
        out.append({"target": name, "goal": goal, "measured": value, "unit": unit, "met": met})
    return out


def write(R: dict[str, Any], out_dir: Path = RESULTS) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = R["started"][:10]
    dated = out_dir / f"{R['mode']}-{stamp}.json"
    latest = out_dir / f"latest-{R['mode']}.json"
    text = json.dumps(R, indent=1, ensure_ascii=False, default=_json_default) + "\n"
    dated.write_text(text, encoding="utf-8")
    latest.write_text(text, encoding="utf-8")
    return dated, latest


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
