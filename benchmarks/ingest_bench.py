"""Ingest throughput: parsing + chunking, embedding, and end-to-end vs the model alone."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from .common import CACHE, median, peel_command, run_child


def parse_and_chunk(paths: Sequence[Path], reps: int) -> tuple[dict[str, Any], Any]:
    """``load_corpus(paths)``: documents/s and chunks/s (median of ``reps`` runs)."""
    from ingest.chunking import ChunkerSettings
    from ingest.pipeline import load_corpus

    seconds, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = load_corpus(list(paths), ChunkerSettings())
        seconds.append(time.perf_counter() - t0)
    s = median(seconds)
    n_bytes = sum(Path(d.source).stat().st_size for d in result.documents if d.source and Path(d.source).exists())
    return {
        "documents": len(result.documents),
        "chunks": len(result.chunks),
        "bytes": n_bytes,
        "seconds": round(s, 3),
        "seconds_all": [round(x, 3) for x in seconds],
        "documents_per_s": round(len(result.documents) / s, 2),
        "chunks_per_s": round(len(result.chunks) / s, 1),
        "mb_per_s": round(n_bytes / s / 1e6, 3),
    }, result


def _bulk_threads() -> int:
    from index.models import embedder as emb_mod

    emb_mod._configure_torch()
    return emb_mod._bulk_threads


def end_to_end(paths: Sequence[Path], reps: int, embedder) -> dict[str, Any]:
    """End-to-end ingest (``load_corpus`` + ``build_index`` into a fresh folder, no
    embedding cache: `index.api.build`) against raw ``model.encode`` of the
    same texts — every text the build embeds: chunks with their heading paths and their
    evidence sentences (`index.engine.sentence_vectors`) — alternated ``reps`` times. The model is loaded
    before either is timed."""
    import torch

    from index import api
    from index.engine.sentence_vectors import SentenceTable
    from ingest.chunking import ChunkerSettings
    from ingest.pipeline import load_corpus

    chunks = load_corpus(list(paths), ChunkerSettings()).chunks
    sentence_texts = SentenceTable.from_chunks([c.text for c in chunks])[1]
    texts = list(dict.fromkeys([c.embed_text() for c in chunks] + sentence_texts))
    t0 = time.perf_counter()
    model = embedder.model
    load_seconds = time.perf_counter() - t0
    threads = _bulk_threads()
    model.encode(texts[:8], batch_size=8)  # first-call warm-up, not timed
    raw, e2e, ratios, cpu_ratios, raw_cpu, e2e_cpu = [], [], [], [], [], []
    work = Path(tempfile.mkdtemp(prefix="e2e-", dir=CACHE))
    try:
        for r in range(reps):
            torch.set_num_threads(threads)
            c0, t0 = time.process_time(), time.perf_counter()
            model.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True,
                         normalize_embeddings=True)
            raw.append(time.perf_counter() - t0)
            raw_cpu.append(time.process_time() - c0)
            folder = work / f"index-{r}"
            c0, t0 = time.process_time(), time.perf_counter()
            summary = api.build(list(paths), folder, model=str(embedder.path)).summary()  # the same model
            e2e.append(time.perf_counter() - t0)
            e2e_cpu.append(time.process_time() - c0)
            assert summary["embedded"] == len(texts), summary
            ratios.append(raw[-1] / e2e[-1])
            cpu_ratios.append(raw_cpu[-1] / e2e_cpu[-1])
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = len(chunks)
    return {
        "chunks": n,
        "texts_embedded": len(texts),
        "torch_threads": threads,
        "batch_size": 32,
        "model_load_seconds": round(load_seconds, 2),
        "raw_encode_seconds": [round(x, 2) for x in raw],
        "end_to_end_seconds": [round(x, 2) for x in e2e],
        "raw_encode_texts_per_s": round(len(texts) / median(raw), 2),
        "end_to_end_chunks_per_s": round(n / median(e2e), 2),
        "ratio": round(median(ratios), 3),
        "ratio_note": "median over repetitions of raw_seconds / end_to_end_seconds for the same texts",
        "raw_encode_cpu_seconds": [round(x, 2) for x in raw_cpu],
        "end_to_end_cpu_seconds": [round(x, 2) for x in e2e_cpu],
        "cpu_ratio": round(median(cpu_ratios), 3),
        "cpu_ratio_note": "the same with the process's CPU time (all threads), which other work on "
                          "the machine inflates less than wall time",
    }


def fresh_process_ingest(paths: Sequence[Path]) -> dict[str, Any]:
    """``peel ingest PATHS --index NEW --json -q`` in a new process: imports, model load,
    parsing, embedding and writing, as a user runs it."""
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=CACHE))
    try:
        run = run_child([*peel_command(), "ingest", *map(str, paths), "--index", str(work / "index"), "--json", "-q"],
                        timeout=3600)
        return {"seconds": round(run.seconds, 2), "peak_rss_mib": round(run.peak_rss_mib, 1),
                "returncode": run.returncode}
    finally:
        shutil.rmtree(work, ignore_errors=True)
