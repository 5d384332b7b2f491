"""Retrieval evaluation over the labelled question set: metrics, significance, fusion tuning.

Library only: ``peel eval`` (elsewhere) calls :func:`evaluate`, :func:`tune_fusion` and
:func:`write_report`. Ranking metrics come from ranx; this module only builds the qrels
and runs, averages ranx's per-question scores by kind and adds the two measures ranx
does not have (year coverage and the top score on unanswerable questions).

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

import contextlib
import itertools
import json
import math
import statistics
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
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
    write_trec_qrels,
    write_trec_run,
)
from ingest.records import Chunk

METRICS = ("hit_rate@5", "recall@5", "recall@10", "mrr@10", "ndcg@10")
YEAR_CUTOFF = 10
REPORTS_DIR = Path(__file__).with_name("reports")
SPLIT_CHOICES = ("all", "dev", "test")
STAT_TESTS = {
    "student": "two-sided paired Student's t-test",
    "fisher": "Fisher's randomisation test (paired, two-sided)",
}

SearchFn = Callable[[str, str, int], Sequence[tuple[str, float]]]
FuseFn = Callable[..., Sequence[tuple[str, float]] | Mapping[str, float]]


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


def _canonical_run(ranking: Sequence[tuple[str, float]], canon: Mapping[str, str], k: int) -> Ranking:
    out: Ranking = []
    seen: set[str] = set()
    for doc_id, score in as_ranking(ranking)[:k]:
        cid = canon.get(doc_id, doc_id)
        if cid not in seen:
            seen.add(cid)
            out.append((cid, score))
    return out


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
        d = {
            qid: {doc_id: float(len(ranking) - i) for i, (doc_id, _) in enumerate(ranking)}
            for qid in qrels
            if (ranking := run.get(qid))
        }
        rx_run = RxRun(d or None, name=name)  # ranx rejects {}; None builds an empty run
        rx_run.make_comparable(rx_qrels)  # empty results for questions with no hits
        rx_runs[name] = rx_run
    return rx_qrels, rx_runs


def _per_query_scores(
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


def _significance(
    qrels: Qrels,
    runs: Mapping[str, Mapping[str, Ranking]],
    metrics: Sequence[str],
    stat_test: str,
    max_p: float,
) -> list[dict[str, Any]]:
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


def _top_score(ranking: Sequence[tuple[str, float]] | None) -> float | None:
    ranked = as_ranking(ranking or ())
    return ranked[0][1] if ranked else None


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(statistics.fmean(values)) if values else None


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
    (``Chunk.years``). The coverage is |Y ∩ pooled years| / |Y|: 1.0 when every year that
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
        doc_years.setdefault(c.doc_id, set()).update(c.years or ())

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
        mode: {q.qid: _canonical_run(rankings_by_mode[mode].get(q.qid, ()), canon, k) for q in qs}
        for mode in modes
    }

    per_query = _per_query_scores(qrels, {m: runs[m] for m in modes}, METRICS)

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
                m: _mean(per_query[mode][m][qid] for qid in members[group]) for m in METRICS
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
            f"year_coverage@{YEAR_CUTOFF}": _mean(per_q.values()),
            "full_coverage_share": _mean(1.0 if v >= 1.0 else 0.0 for v in per_q.values()),
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
            "mean_top_score": _mean(vals),
            "max_top_score": max(vals) if vals else None,
            "answerable_mean_top_score": _mean(top_a),
            "answerable_median_top_score": float(statistics.median(top_a)) if top_a else None,
            "per_query": top_u,
        }

    significance = _significance(qrels, {m: runs[m] for m in modes}, METRICS, stat_test, max_p)

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
        significance=significance,
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
    modes: Sequence[str] = ("bm25", "dense", "hybrid"),
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


# --------------------------------------------------------------------------- fusion tuning


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
    inputs: Sequence[str] = ("bm25", "dense"),
    k: int = 10,
    name: str = "fused",
    stat_test: str = "student",
    max_p: float = 0.05,
) -> FusionTuning:
    """Pick fusion parameters on the dev split, then report them on the test split.

    ``rankings_by_mode[mode][qid]`` are the per-mode rankings (e.g. from
    :func:`collect_rankings`, asked for more than ``k`` hits if fusion should see deeper);
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
        run = {qid: _canonical_run(fused.get(qid, ()), canon, k) for qid in dev_qrels}
        per_q = _per_query_scores(dev_qrels, {name: run}, [metric])[name][metric]
        score = _mean(per_q.values()) or 0.0
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


# --------------------------------------------------------------------------- reports


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _metric_tables(result: EvalResult) -> list[str]:
    groups = ["all"] + [k for k in KINDS if k != "unanswerable" and result.counts.get(k)]
    lines = []
    for m in result.metrics:
        lines += [f"### {m}", ""]
        lines.append("| mode | " + " | ".join(f"{g} (n={result.counts.get(g, 0)})" for g in groups) + " |")
        lines.append("|---|" + "---|" * len(groups))
        for mode in result.modes:
            cells = [_fmt(result.scores.get(mode, {}).get(g, {}).get(m)) for g in groups]
            lines.append(f"| {mode} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _result_markdown(result: EvalResult, title: str) -> list[str]:
    c = result.counts
    lines = [
        f"# {title}",
        "",
        f"Split: **{result.split}** · k = {result.k} · judged questions: {c.get('all', 0)}"
        f" · unanswerable: {c.get('unanswerable', 0)} · left out (no matching passage): {c.get('left_out', 0)}",
        "",
        "Means over judged answerable questions; unanswerable questions are never in them.",
        "",
    ]
    lines += _metric_tables(result)

    lines += [f"### year_coverage@{YEAR_CUTOFF} (temporal questions)", ""]
    lines += ["| mode | mean coverage | share fully covered | n |", "|---|---|---|---|"]
    for mode in result.modes:
        yc = result.year_coverage.get(mode, {})
        lines.append(
            f"| {mode} | {_fmt(yc.get(f'year_coverage@{YEAR_CUTOFF}'))} | "
            f"{_fmt(yc.get('full_coverage_share'))} | {yc.get('n', 0)} |"
        )
    lines.append("")

    lines += ["### Unanswerable questions: top-1 score", ""]
    lines += [
        "| mode | mean top score (unanswerable) | max | mean top score (answerable) | median (answerable) |",
        "|---|---|---|---|---|",
    ]
    for mode in result.modes:
        u = result.unanswerable.get(mode, {})
        lines.append(
            f"| {mode} | {_fmt(u.get('mean_top_score'))} | {_fmt(u.get('max_top_score'))} | "
            f"{_fmt(u.get('answerable_mean_top_score'))} | {_fmt(u.get('answerable_median_top_score'))} |"
        )
    lines.append("")

    if result.significance:
        lines += [
            f"### Paired significance ({STAT_TESTS.get(result.stat_test, result.stat_test)}, "
            f"significant at p ≤ {result.max_p})",
            "",
            "| a | b | metric | mean a | mean b | p | significant | a wins / ties / b wins |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in result.significance:
            lines.append(
                f"| {r['a']} | {r['b']} | {r['metric']} | {_fmt(r['mean_a'])} | {_fmt(r['mean_b'])} | "
                f"{_fmt(r['p_value'], 4)} | {'yes' if r['significant'] else 'no'} | "
                f"{r['a_wins']} / {r['ties']} / {r['b_wins']} |"
            )
        lines.append("")

    if result.problems:
        lines += ["### Label problems against this chunking", ""]
        lines += [f"- {p}" for p in result.problems]
        lines.append("")
    return lines


def write_report(
    result: EvalResult,
    out_dir: str | Path | None = None,
    tuning: FusionTuning | None = None,
    stem: str | None = None,
) -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>.md`` (mode × kind tables), TREC qrels and one TREC run
    per mode under ``out_dir`` (default ``evals/reports/``); returns the paths by role.

    ``stem`` defaults to ``eval-<split>``. With ``tuning``, its test-split result is added to
    both reports and its fused run written as ``run-<name>-test.trec``.
    """
    out = Path(out_dir) if out_dir is not None else REPORTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"eval-{result.split}"
    paths: dict[str, Path] = {}

    data = result.to_dict()
    if tuning is not None:
        data["fusion_tuning"] = tuning.to_dict()
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    paths["json"] = json_path

    lines = _result_markdown(result, f"Retrieval evaluation ({result.split})")
    if tuning is not None:
        lines += [
            f"## Fusion tuning: {tuning.name}",
            "",
            f"Chosen on dev ({tuning.n_dev} questions) by {tuning.metric}: "
            f"`{tuning.params}` (dev {tuning.metric} = {_fmt(tuning.dev_score)}). "
            f"Scored below on the {tuning.n_test} test questions only.",
            "",
            "| params | dev " + tuning.metric + " |",
            "|---|---|",
        ]
        lines += [f"| `{row['params']}` | {_fmt(row['dev'])} |" for row in tuning.grid]
        lines.append("")
        lines += ["#" + line if line.startswith("#") else line
                  for line in _result_markdown(tuning.test, "Test split with the tuned fusion")]
    md_path = out / f"{stem}.md"
    md_path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    paths["markdown"] = md_path

    paths["qrels"] = write_trec_qrels(result.qrels, out / f"qrels-{result.split}.trec")
    for mode in result.modes:
        paths[f"run:{mode}"] = write_trec_run(
            result.runs[mode], out / f"run-{mode}-{result.split}.trec", tag=f"peel-{mode}"
        )
    if tuning is not None:
        paths[f"run:{tuning.name}"] = write_trec_run(
            tuning.test.runs[tuning.name], out / f"run-{tuning.name}-test.trec", tag=f"peel-{tuning.name}"
        )
    return paths
