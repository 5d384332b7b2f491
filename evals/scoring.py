"""The ranx side of the evaluation: per-question scores, paired significance tests, and the
ranking each run is cut and folded to before ranx sees it.

Ranx sorts every run by score. The search's order is not always score order (temporal
questions are re-ordered to cover every period), so ranx is given rank-derived scores
(:func:`rank_scores`): what is scored, and written to the TREC files, is the order the
search returned.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evals.labels import Qrels, Ranking, as_ranking

METRICS = ("hit_rate@5", "recall@5", "recall@10", "mrr@10", "ndcg@10")
STAT_TESTS = {
    "student": "two-sided paired Student's t-test",
    "fisher": "Fisher's randomisation test (paired, two-sided)",
}


def canonical_run(ranking: Sequence[tuple[str, float]], canon: Mapping[str, str], k: int) -> Ranking:
    """The first ``k`` hits with chunk ids mapped to their canonical passage, repeats dropped."""
    out: Ranking = []
    seen: set[str] = set()
    for doc_id, score in as_ranking(ranking)[:k]:
        cid = canon.get(doc_id, doc_id)
        if cid not in seen:
            seen.add(cid)
            out.append((cid, score))
    return out


def rank_scores(ranking: Sequence[tuple[str, float]]) -> dict[str, float]:
    """chunk_id -> a score that falls with rank (n, n-1, …, 1): ranx's sort keeps list order."""
    return {doc_id: float(len(ranking) - i) for i, (doc_id, _) in enumerate(ranking)}


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(statistics.fmean(values)) if values else None


@contextlib.contextmanager
def _quiet():
    """Silence numba's type-safety chatter and scipy's near-identical-data note inside ranx."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        try:
            from numba.core.errors import NumbaTypeSafetyWarning

            warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
        except ImportError:  # pragma: no cover - numba layout differs
            pass
        yield


def _ranx_runs(qrels: Qrels, runs: Mapping[str, Mapping[str, Ranking]]):
    """ranx Qrels and named Runs over the same questions; scores are rank-derived."""
    from ranx import Qrels as RxQrels
    from ranx import Run as RxRun

    rx_qrels = RxQrels({qid: dict(rel) for qid, rel in qrels.items()})
    rx_runs = {}
    for name, run in runs.items():
        d = {qid: rank_scores(ranking) for qid in qrels if (ranking := run.get(qid))}
        rx_run = RxRun(d or None, name=name)  # ranx rejects {}; None builds an empty run
        rx_run.make_comparable(rx_qrels)  # empty results for questions with no hits
        rx_runs[name] = rx_run
    return rx_qrels, rx_runs


def per_query_scores(
    qrels: Qrels, runs: Mapping[str, Mapping[str, Ranking]], metrics: Sequence[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """name -> metric -> qid -> score, computed by ranx."""
    if not qrels:
        return {name: {m: {} for m in metrics} for name in runs}
    from ranx import evaluate as rx_evaluate

    rx_qrels, rx_runs = _ranx_runs(qrels, runs)
    out: dict[str, dict[str, dict[str, float]]] = {}
    with _quiet():
        for name, rx_run in rx_runs.items():
            rx_evaluate(rx_qrels, rx_run, list(metrics), return_mean=False, save_results_in_run=True)
            out[name] = {
                m: {str(qid): float(v) for qid, v in rx_run.scores[m].items()} for m in metrics
            }
    return out


def significance(
    qrels: Qrels,
    runs: Mapping[str, Mapping[str, Ranking]],
    metrics: Sequence[str],
    stat_test: str,
    max_p: float,
) -> list[dict[str, Any]]:
    """One row per (run pair, metric): means, p-value and wins/ties/losses, from ranx ``compare``."""
    names = list(runs)
    if len(names) < 2 or len(qrels) < 2:
        return []
    from ranx import compare as rx_compare

    rx_qrels, rx_runs = _ranx_runs(qrels, runs)
    with _quiet():
        report = rx_compare(
            rx_qrels,
            [rx_runs[n] for n in names],
            list(metrics),
            stat_test=stat_test,
            max_p=max_p,
            random_seed=42,
        )
    rows = []
    for a, b in itertools.combinations(names, 2):
        for m in metrics:
            cell = report.comparisons[(a, b)][m]
            p = float(cell["p_value"])
            if math.isnan(p):  # identical per-question scores: no evidence of a difference
                p = 1.0
            wtl = report.win_tie_loss[(a, b)][m]
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "metric": m,
                    "mean_a": report.results[a][m],
                    "mean_b": report.results[b][m],
                    "p_value": p,
                    "significant": bool(p <= max_p),
                    "a_wins": wtl["W"],
                    "ties": wtl["T"],
                    "b_wins": wtl["L"],
                }
            )
    return rows
