"""Fusion tuning: choose fusion parameters on the dev split, report them on the test split only."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.harness import EvalResult, evaluate_rankings, select_split
from evals.labels import Query, Ranking, as_ranking, canonical_ids, qrels_for_chunks
from evals.scoring import METRICS, canonical_run, mean, per_query_scores
from ingest.records import Chunk

# The rankings hybrid fuses, in the order the fusion weights are given: (bm25, dense).
FUSION_INPUTS = ("bm25", "dense")

FuseFn = Callable[..., Sequence[tuple[str, float]] | Mapping[str, float]]


@dataclass
class FusionTuning:
    """Fusion parameters chosen on the dev split, and their scores on the test split only."""

    params: dict[str, Any]
    metric: str
    dev_score: float
    grid: list[dict[str, Any]]  # [{"params": ..., "dev": score}] in grid order
    n_dev: int
    n_test: int
    test: EvalResult  # test split: the input modes and the fused run side by side
    name: str = "fused"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params,
            "metric": self.metric,
            "dev_score": self.dev_score,
            "grid": self.grid,
            "n_dev": self.n_dev,
            "n_test": self.n_test,
            "test": self.test.to_dict(),
        }


def expand_grid(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``{"k": [10, 60], "w": [0.3, 0.5]}`` -> every combination, in order; a list passes through."""
    if isinstance(grid, Mapping):
        if not grid:
            return [{}]
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]
    return [dict(p) for p in grid] or [{}]


def tune_fusion(
    queries: Iterable[Query],
    chunks: Iterable[Chunk],
    rankings_by_mode: Mapping[str, Mapping[str, Sequence[tuple[str, float]]]],
    fuse: FuseFn,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    metric: str = "mrr@10",
    inputs: Sequence[str] = FUSION_INPUTS,
    k: int = 10,
    name: str = "fused",
    stat_test: str = "student",
    max_p: float = 0.05,
) -> FusionTuning:
    """Pick fusion parameters on the dev split, then report them on the test split.

    ``rankings_by_mode[mode][qid]`` are the per-mode rankings (e.g. from
    :func:`evals.harness.collect_rankings`, asked for more than ``k`` hits if fusion should see deeper);
    ``fuse(*[rankings[m][qid] for m in inputs], **params)`` returns the fused ranking
    (for the default inputs: ``fuse(bm25_ranking, dense_ranking, **params)``).
    Every parameter set in ``grid`` is scored by ``metric`` on the dev questions only; the
    best (the first, on ties) is then applied to the test questions, which never took part
    in the choice, and scored there beside the input modes with significance tests.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    queries = list(queries)
    chunks = list(chunks)
    missing = [m for m in inputs if m not in rankings_by_mode]
    if missing:
        raise ValueError(f"no rankings for input mode(s): {', '.join(missing)}")
    if name in inputs:
        raise ValueError(f"the fused run needs a name other than its inputs ({name!r})")

    canon = canonical_ids(chunks)
    dev = select_split(queries, "dev")
    test = select_split(queries, "test")
    assert not {q.qid for q in dev} & {q.qid for q in test}, "dev and test questions overlap"
    dev_qrels = {qid: rel for qid, rel in qrels_for_chunks(dev, chunks).items() if rel}
    if not dev_qrels:
        raise ValueError("no judged dev questions to tune on")

    def fused_for(qs: Sequence[Query], params: Mapping[str, Any]) -> dict[str, Ranking]:
        out = {}
        for q in qs:
            parts = [list(rankings_by_mode[m].get(q.qid, ())) for m in inputs]
            out[q.qid] = as_ranking(fuse(*parts, **params))
        return out

    grid_rows: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any]] | None = None
    for params in expand_grid(grid):
        fused = fused_for(dev, params)
        run = {qid: canonical_run(fused.get(qid, ()), canon, k) for qid in dev_qrels}
        per_q = per_query_scores(dev_qrels, {name: run}, [metric])[name][metric]
        score = mean(per_q.values()) or 0.0
        grid_rows.append({"params": dict(params), "dev": score})
        if best is None or score > best[0]:
            best = (score, dict(params))
    assert best is not None

    test_rankings = {m: rankings_by_mode[m] for m in inputs}
    test_rankings[name] = fused_for(test, best[1])
    result = evaluate_rankings(
        test, chunks, test_rankings, k=k, split="test", stat_test=stat_test, max_p=max_p
    )
    return FusionTuning(
        params=best[1],
        metric=metric,
        dev_score=best[0],
        grid=grid_rows,
        n_dev=len(dev_qrels),
        n_test=result.counts["all"],
        test=result,
        name=name,
    )
