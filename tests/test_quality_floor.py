"""Retrieval quality on the bundled corpus never drops below the floor recorded in the repo."""

from __future__ import annotations

import os

from evals.cli import _search_fn, below_floor, check, load_floor
from evals.harness import evaluate
from evals.labels import load_queries


def test_labels_check_out_against_the_index(bundled_searcher):
    assert check(load_queries(), bundled_searcher) == []


def test_hybrid_stays_above_the_recorded_floor(bundled_searcher):
    # The corpus-adapted model, as users get it, has its floor; a machine set up with
    # PEEL_SKIP_ADAPT=1 (CI, small machines) indexes with the packaged model, which has its own.
    packaged = bundled_searcher.manifest["model"]["default"]
    assert not packaged or os.environ.get("PEEL_SKIP_ADAPT"), (
        "no adapted model: run scripts/setup.sh (or peel adapt) before the tests, or set PEEL_SKIP_ADAPT=1")
    floor = load_floor(packaged)
    assert {"hit_rate@5", "recall@5", "mrr@10", "ndcg@10"} <= set(floor)
    result = evaluate(load_queries(), bundled_searcher.chunks, _search_fn(bundled_searcher, 10), modes=("hybrid",), k=10)
    assert below_floor(result.scores, floor) == []


def test_hybrid_beats_each_retriever_alone(bundled_searcher):
    result = evaluate(load_queries(), bundled_searcher.chunks, _search_fn(bundled_searcher, 10), k=10)
    all_ = {mode: result.scores[mode]["all"] for mode in ("bm25", "dense", "hybrid")}
    for metric in ("recall@5", "mrr@10"):  # ranks the answers higher than either alone
        assert all_["hybrid"][metric] > max(all_["bm25"][metric], all_["dense"][metric])
    # and finds an answer in the top 5 at least as often (dense alone already does for ~96%)
    assert all_["hybrid"]["hit_rate@5"] >= max(all_["bm25"]["hit_rate@5"], all_["dense"]["hit_rate@5"])
