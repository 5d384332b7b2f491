"""Smoke tests of the benchmark harness (benchmarks/): it runs and reports; no timings asserted."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from index.paths import default_model

ROOT = Path(__file__).resolve().parent.parent

# pysbd installs a top-level package also called "benchmarks": make sure ours is the one imported.
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))
_loaded = sys.modules.get("benchmarks")
if _loaded is not None and Path(getattr(_loaded, "__file__", "") or "").resolve().parent != ROOT / "benchmarks":
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        del sys.modules[name]

api_bench = importlib.import_module("benchmarks.api_bench")
common = importlib.import_module("benchmarks.common")
corpus = importlib.import_module("benchmarks.corpus")
compare = importlib.import_module("benchmarks.compare")
latency = importlib.import_module("benchmarks.latency")
report = importlib.import_module("benchmarks.report")
run_mod = importlib.import_module("benchmarks.run")


def test_it_is_our_package():
    assert Path(common.__file__).resolve().parent == ROOT / "benchmarks"


def test_query_pool_is_distinct_and_deterministic():
    sentences = ["Domestic violence protection orders were used more often in 2017.",
                 "The force answered most 101 calls within the target time."] * 3
    a = common.query_pool(sentences, 150)
    assert a == common.query_pool(sentences, 150)
    assert len(a) == len(set(a)) >= 100
    src = common.QuerySource(a)
    first, second = src.take(5), src.take(5)
    assert not set(first) & set(second) and src.used == 10


def test_latency_summary_and_rounds():
    s = common.latency_summary([0.001, 0.002, 0.003], [0.001, 0.001, 0.002])
    assert s["n"] == 3 and s["p50_ms"] == 2.0 and "cpu_p50_ms" in s
    merged = common.merge_rounds([s, s])
    assert merged["p50_ms"] == 2.0 and len(merged["rounds"]) == 2


def test_run_child_measures_time_and_memory():
    run = common.run_child([sys.executable, "-c", "x = bytearray(30 * 2**20); print('ok')"])
    assert run.returncode == 0 and run.stdout.strip() == "ok"
    assert run.seconds > 0 and run.peak_rss_mib >= 30


def test_machine_description_names_versions():
    m = common.machine()
    assert m["cores"] >= 1 and m["python"]
    assert m["versions"]["faiss-cpu"] and m["versions"]["bm25s"]


@pytest.fixture(scope="module")
def real_chunks(bundled_index):
    return corpus.read_index_chunks(bundled_index), corpus.read_index_vectors(bundled_index)


def test_scaled_corpus_recombines_real_sentences(real_chunks):
    real, vectors = real_chunks
    sents = corpus.chunk_sentences(real)
    sc = corpus.build_scaled(real, vectors, len(real) + 300, sentence_vecs=None, sentences=sents)
    assert len(sc.chunks) == len(real) + 300 and sc.vectors.shape == (len(real) + 300, vectors.shape[1])
    assert len({c.chunk_id for c in sc.chunks}) == len(sc.chunks)
    np.testing.assert_allclose(np.linalg.norm(sc.vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(sc.vectors[: len(real)], vectors)  # real chunks keep real vectors
    real_texts = {c.text for c in real}
    syn = sc.chunks[len(real):]
    assert not any(c.text in real_texts for c in syn)
    assert len({c.text for c in syn}) == len(syn)
    known = set(corpus.distinct_sentences(sents))
    for c, picked in zip(syn[:20], sc.sources[:20]):
        assert c.force in corpus.FORCES and c.years and c.section is not None
        assert all(s in c.text for s in (corpus.distinct_sentences(sents)[i] for i in picked))
        assert any(s in c.text for s in known)
    assert sc.info["vectors"] == "chunk-mean" and sc.info["n_synthetic"] == 300


def test_build_index_with_precomputed_vectors(real_chunks, tmp_path):
    from index.engine.build import build_index
    from index.engine.searcher import Searcher

    real, vectors = real_chunks
    sc = corpus.build_scaled(real, vectors, len(real) + 200, sentence_vecs=None)
    counts = {}
    encode = corpus.sentence_encoder(corpus.chunk_sentences(real), None, vectors, counts)
    model = default_model()  # the bundled index's vectors came from it
    rep = build_index(sc.chunks, tmp_path / "idx", model=model, progress=False, vectors=sc.vectors,
                      hnsw_threshold=300, sentence_encoder=encode)
    assert rep.n_embedded == 0 and rep.dense_kind == "hnsw"
    assert counts["sentences_known"] > 10 * counts.get("sentences_other", 0)
    s = Searcher.open(tmp_path / "idx")
    np.testing.assert_allclose(s._dense.vectors, sc.vectors, atol=1e-6)
    assert s.search("domestic violence protection orders", k=5)
    with pytest.raises(ValueError):
        build_index(sc.chunks, tmp_path / "bad", model=model, progress=False, vectors=sc.vectors[:10])
    with pytest.raises(ValueError, match="dimensions"):  # vectors the query model could not match
        build_index(sc.chunks, tmp_path / "bad", model=model, progress=False, vectors=sc.vectors[:, :100])


def test_bm25_libraries_agree(real_chunks):
    real, _ = real_chunks
    out = compare.bm25_libraries([c.embed_text() for c in real[:150]],
                                 ["domestic abuse arrests", "101 calls answered", "crime data integrity"], k=20)
    assert out["bm25s"]["n"] == 3 and out["rank_bm25"]["n"] == 3
    assert out["top10_overlap"] == 1.0


def test_faiss_flat_vs_hnsw_reports_recall():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    out = compare.faiss_flat_vs_hnsw(x, x[:10] + 0.01)
    assert 0.0 <= out["recall_at_10"] <= 1.0 and out["flat_k10"]["n"] == 10
    assert [e["efSearch"] for e in out["ef_search_sweep"]] == sorted(e["efSearch"] for e in out["ef_search_sweep"])


def test_latency_uses_fresh_queries(bundled_searcher):
    pool = common.query_pool(["Officers made more arrests for domestic abuse offences in 2017."] * 2, 200)
    out = latency.measure(bundled_searcher, common.QuerySource(pool), n=3, rounds=1, warmup=1)
    for mode in ("bm25", "dense", "hybrid", "hybrid_retrieval_only", "hybrid_change_over_time"):
        assert out[mode]["n_per_round"] == 3
    for mode in ("dense", "hybrid", "hybrid_change_over_time"):
        assert out[mode]["vector_cache_hits"] == 0
    # the change-over-time row really times questions that take the per-period path
    from index.query.parse import parse_query

    assert all(parse_query(latency.CHANGE_TEMPLATE.format(q)).temporal for q in pool[:50])
    assert out["components"]["encode_query"]["n"] == 3
    assert "encode" not in vars(bundled_searcher.embedder)  # the counting wrapper is removed


def test_report_and_targets_handle_partial_results(tmp_path):
    R = {"mode": "quick", "started": "2026-01-01T00:00:00+00:00", "seconds": 1.0,
         "machine": {"cpu_model": "x", "cores": 2, "memory_gib": 1},
         "load_average": {"start": [0, 0, 0], "end": [0, 0, 0]},
         "cold_start": {"bundled_hybrid": {"seconds": 1.5, "peak_rss_mib": 200.0}},
         "ingest": {"end_to_end": None}}
    R["targets"] = run_mod.targets(R)
    met = {t["target"]: t["met"] for t in R["targets"]}
    assert met["Cold start ≤ 3 s at the bundled corpus"] is True
    assert met["HNSW recall@10 vs flat ≥ 0.98"] is None
    md = report.markdown(R)
    assert "| measure | result |" in md and "Cold start" in md
    dated, latest = run_mod.write(R, tmp_path)
    assert json.loads(latest.read_text())["mode"] == "quick" and dated.name == "quick-2026-01-01.json"


def test_api_bench_runs_against_real_servers_and_stops_them(bundled_index, bundled_searcher, tmp_path):
    out = tmp_path / "api.json"
    code = api_bench.main(["--index", str(bundled_index), "--clients", "1,2", "--requests", "2", "--out", str(out)])
    R = json.loads(out.read_text())
    assert code == 0 and R["benchmark"] == "api" and R["cpu_count"] >= 1
    assert R["index"]["chunks"] == len(bundled_searcher) and R["index"]["model"]
    assert [(lv["clients"], lv["ok"], lv["errors"]) for lv in R["levels"]] == [(1, 2, 0), (2, 4, 0)]
    assert all(lv["p50_ms"] > 0 and lv["throughput_rps"] > 0 for lv in R["levels"])
    assert R["load_average"]["start"] and R["load_average"]["end"]
    for server in R["servers"]:  # stopped (and reaped) when the run ends
        with pytest.raises(ProcessLookupError):
            os.kill(server["pid"], 0)
