"""Retrieval evaluation over the labelled question set: metrics by question kind.

Library only: ``peel eval`` (:mod:`evals.cli`) calls :func:`evaluate`, then
:func:`evals.tuning.tune_fusion` and :func:`evals.report.write_report`. Ranking metrics
come from ranx (:mod:`evals.scoring`); this module builds the qrels and runs, averages
ranx's per-question scores by kind and adds the two measures ranx does not have (year
coverage and the top score on unanswerable questions).

Definitions
-----------
* ``recall@5``, ``recall@10``: relevant passages (grade >= 1) in the top k / all relevant
  passages of the question (ranx ``recall@k``).
* ``hit_rate@5``: 1 if at least one relevant passage is in the top 5, else 0 (ranx
  ``hit_rate@5``): "an answering passage in the top 5".
* ``mrr@10``: 1 / rank of the first relevant passage in the top 10, else 0 (ranx).
* ``ndcg@10``: ranx ``ndcg@10``, Järvelin & Kekäläinen: gain = grade (1 or 2), discount
  ``log2(rank + 1)``, normalised by the ideal ordering of the question's qrels.
* Means are over answerable questions whose phrases match at least one passage;
  unanswerable questions never enter them. A question none of whose phrases falls inside
  a passage is left out and listed in ``EvalResult.problems``.
* Each ranking is cut to its first ``k`` hits, chunk ids are mapped to their canonical
  passage (``dup_of`` copies fold into the passage they repeat, see
  :func:`evals.labels.canonical_ids`) and repeats are dropped. Ranx sees rank-derived
  scores, so the order the search returned is the order scored, ties included.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evals.labels import (
    KINDS,
    Qrels,
    Query,
    Ranking,
    as_ranking,
    canonical_ids,
    chunk_years,
    qrels_for_chunks,
    unmatched_phrases,
)
from evals.scoring import (
    METRICS,
    STAT_TESTS,
    canonical_run,
    mean,
    per_query_scores,
    significance,
)
from index.engine.searcher import MODES
from ingest.records import Chunk

YEAR_CUTOFF = 10
SPLIT_CHOICES = ("all", "dev", "test")
# The single retrievers before their fusion, so tables and significance rows read
# "retriever vs hybrid".
DEFAULT_MODES = tuple(sorted(MODES, key=lambda mode: mode == "hybrid"))

SearchFn = Callable[[str, str, int], Sequence[tuple[str, float]]]


# --------------------------------------------------------------------------- results


@dataclass
class EvalResult:
    """Everything one evaluation produced; ``to_dict`` is what the JSON report holds.

    ``scores[mode][group][metric]`` with group ``"all"`` or a question kind;
    ``per_query[mode][metric][qid]``; ``runs[mode][qid]`` the (canonical, cut) rankings that
    were scored; ``significance`` one row per (mode pair, metric).
    """

    split: str
    k: int
    modes: list[str]
    metrics: list[str]
    counts: dict[str, int]
    scores: dict[str, dict[str, dict[str, float]]]
    per_query: dict[str, dict[str, dict[str, float]]]
    year_coverage: dict[str, dict[str, Any]]
    unanswerable: dict[str, dict[str, Any]]
    significance: list[dict[str, Any]]
    stat_test: str
    max_p: float
    kinds: dict[str, str]
    qrels: Qrels
    runs: dict[str, dict[str, Ranking]] = field(repr=False)
    problems: list[str] = field(default_factory=list)

    def to_dict(self, include_runs: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not include_runs:
            d.pop("runs")
        d["stat_test_name"] = STAT_TESTS.get(self.stat_test, self.stat_test)
        return d


# --------------------------------------------------------------------------- helpers


def select_split(queries: Iterable[Query], split: str = "all") -> list[Query]:
    if split not in SPLIT_CHOICES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_CHOICES)}, not {split!r}")
    return [q for q in queries if split == "all" or q.split == split]


def collect_rankings(
    queries: Iterable[Query], search: SearchFn, modes: Sequence[str], k: int = 10
) -> dict[str, dict[str, Ranking]]:
    """Call ``search(query, mode, k)`` once per question and mode: mode -> qid -> ranking."""
    queries = list(queries)
    return {
        mode: {q.qid: as_ranking(search(q.query, mode, k))[:k] for q in queries} for mode in modes
    }


def _top_score(ranking: Sequence[tuple[str, float]] | None) -> float | None:
    ranked = as_ranking(ranking or ())
    return ranked[0][1] if ranked else None


def year_coverage(
    years: Iterable[int],
    ranking: Sequence[tuple[str, float]],
    qrels_q: Mapping[str, int],
    years_by_chunk: Mapping[str, Iterable[int]],
    cutoff: int = YEAR_CUTOFF,
) -> float | None:
    """``year_coverage@cutoff`` of one temporal question (None when it has no years).

    Let Y be the question's relevant years. Take the top ``cutoff`` hits, keep those judged
    relevant (grade >= 1 in the question's qrels) and pool their documents' years
    (``Chunk.doc_years``). The coverage is |Y ∩ pooled years| / |Y|: 1.0 when every year that
    holds evidence is represented by at least one relevant hit, 0.0 when no relevant hit
    came back. An irrelevant hit never counts, whatever its year.
    """
    wanted = set(years)
    if not wanted:
        return None
    seen: set[int] = set()
    for doc_id, _ in list(ranking)[:cutoff]:
        if qrels_q.get(doc_id, 0) >= 1:
            seen.update(years_by_chunk.get(doc_id, ()))
    return len(wanted & seen) / len(wanted)


def _relevant_years(q: Query, chunks_by_doc_years: Mapping[str, set[int]]) -> tuple[int, ...]:
    """The question's labelled years, or else the years of its grade-2 documents."""
    if q.years:
        return q.years
    ys: set[int] = set()
    for r in q.relevant:
        if r.grade >= 2:
            ys |= chunks_by_doc_years.get(r.doc_id, set())
    return tuple(sorted(ys))


# --------------------------------------------------------------------------- evaluation


def evaluate_rankings(
    queries: Iterable[Query],
    chunks: Iterable[Chunk],
    rankings_by_mode: Mapping[str, Mapping[str, Sequence[tuple[str, float]]]],
    k: int = 10,
    split: str = "all",
    stat_test: str = "student",
    max_p: float = 0.05,
) -> EvalResult:
    """Score rankings that were already collected (mode -> qid -> ranking); see :func:`evaluate`."""
    if stat_test not in STAT_TESTS:
        raise ValueError(f"stat_test must be one of {', '.join(STAT_TESTS)}, not {stat_test!r}")
    chunks = list(chunks)
    qs = select_split(queries, split)
    modes = list(rankings_by_mode)
    canon = canonical_ids(chunks)
    years_by_chunk = chunk_years(chunks)
    doc_years: dict[str, set[int]] = {}
    for c in chunks:
        doc_years.setdefault(c.doc_id, set()).update(c.doc_years or c.years or ())

    all_qrels = qrels_for_chunks(qs, chunks)
    problems = unmatched_phrases(qs, chunks)
    for qid, rel in all_qrels.items():
        if not rel:
            problems.append(f"{qid}: no passage holds any of its phrases; left out of the metrics")
    qrels = {qid: rel for qid, rel in all_qrels.items() if rel}
    judged = [q for q in qs if q.qid in qrels]
    unanswerable = [q for q in qs if not q.answerable]
    kinds = {q.qid: q.kind for q in qs}

    runs: dict[str, dict[str, Ranking]] = {
        mode: {q.qid: canonical_run(rankings_by_mode[mode].get(q.qid, ()), canon, k) for q in qs}
        for mode in modes
    }

    per_query = per_query_scores(qrels, {m: runs[m] for m in modes}, METRICS)

    groups = ["all"] + [kind for kind in KINDS if kind != "unanswerable"]
    members = {"all": [q.qid for q in judged]}
    for kind in groups[1:]:
        members[kind] = [q.qid for q in judged if q.kind == kind]
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for mode in modes:
        scores[mode] = {}
        for group in groups:
            if not members[group]:
                continue
            scores[mode][group] = {
                m: mean(per_query[mode][m][qid] for qid in members[group]) for m in METRICS
            }

    counts = {group: len(members[group]) for group in groups}
    counts["unanswerable"] = len(unanswerable)
    counts["left_out"] = sum(1 for rel in all_qrels.values() if not rel)

    # temporal questions: which of the relevant years do the relevant hits cover?
    temporal = [q for q in judged if q.kind == "temporal"]
    coverage: dict[str, dict[str, Any]] = {}
    for mode in modes:
        per_q: dict[str, float] = {}
        for q in temporal:
            ys = _relevant_years(q, doc_years)
            cov = year_coverage(ys, runs[mode][q.qid], qrels[q.qid], years_by_chunk)
            if cov is not None:
                per_q[q.qid] = cov
        coverage[mode] = {
            f"year_coverage@{YEAR_CUTOFF}": mean(per_q.values()),
            "full_coverage_share": mean(1.0 if v >= 1.0 else 0.0 for v in per_q.values()),
            "n": len(per_q),
            "per_query": per_q,
        }

    # unanswerable questions: how confident is the top hit? (compare with answerable ones)
    unans: dict[str, dict[str, Any]] = {}
    for mode in modes:
        raw = rankings_by_mode[mode]
        top_u = {q.qid: _top_score(raw.get(q.qid)) for q in unanswerable}
        top_a = [s for q in judged if (s := _top_score(raw.get(q.qid))) is not None]
        vals = [v for v in top_u.values() if v is not None]
        unans[mode] = {
            "n": len(unanswerable),
            "mean_top_score": mean(vals),
            "max_top_score": max(vals) if vals else None,
            "answerable_mean_top_score": mean(top_a),
            "answerable_median_top_score": float(statistics.median(top_a)) if top_a else None,
            "per_query": top_u,
        }

    significance_rows = significance(qrels, {m: runs[m] for m in modes}, METRICS, stat_test, max_p)

    return EvalResult(
        split=split,
        k=k,
        modes=modes,
        metrics=list(METRICS),
        counts=counts,
        scores=scores,
        per_query=per_query,
        year_coverage=coverage,
        unanswerable=unans,
        significance=significance_rows,
        stat_test=stat_test,
        max_p=max_p,
        kinds=kinds,
        qrels=qrels,
        runs=runs,
        problems=problems,
    )


def evaluate(
    queries: Iterable[Query],
    chunks: Iterable[Chunk],
    search: SearchFn,
    modes: Sequence[str] = DEFAULT_MODES,
    k: int = 10,
    split: str = "all",
    stat_test: str = "student",
    max_p: float = 0.05,
) -> EvalResult:
    """Run ``search(query, mode, k)`` for every question of ``split`` and mode, and score it.

    ``search`` returns ranked ``(chunk_id, score)`` pairs, best first. Metrics are in the
    module docstring; ``year_coverage@10`` in :func:`year_coverage`. Modes are compared
    pairwise with ranx ``compare`` on every metric, paired over the judged questions:
    ``stat_test="student"`` (default) is the two-sided paired Student's t-test,
    ``"fisher"`` Fisher's randomisation test (1000 permutations, seed 42); a difference
    is flagged significant at ``p <= max_p``.
    """
    qs = select_split(queries, split)
    rankings = collect_rankings(qs, search, modes, k)
    return evaluate_rankings(qs, chunks, rankings, k=k, split=split, stat_test=stat_test, max_p=max_p)
