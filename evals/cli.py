"""`peel eval`: score the index on the labelled set, validate labels, tune fusion, guard a floor."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EVALS_DIR = Path(__file__).resolve().parent
FLOOR_PATH = EVALS_DIR / "floor.json"
DEEP_K = 100  # how deep the per-mode lists go when fusion is tuned


def _use_plain_python_metrics() -> None:
    # ranx's numba kernels take a minute to compile; on a few hundred questions plain
    # Python gives identical numbers in well under a second.
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_DISABLE_JIT", "1")


def _search_fn(searcher, k_default: int) -> Callable[[str, str, int], list[tuple[str, float]]]:
    from index import api

    def search(query: str, mode: str, k: int) -> list[tuple[str, float]]:
        result = api.search(searcher, query, k=k or k_default, mode=mode)
        return [(h.chunk_id, h.score) for h in result.hits]

    return search


def check(queries, searcher) -> list[str]:
    """Label problems: phrases missing from their documents, or matching no chunk."""
    from evals.labels import check_phrases, unmatched_phrases

    texts = {doc_id: searcher.doc_text(doc_id) for doc_id in {r.doc_id for q in queries for r in q.relevant}}
    problems = [f"unknown document id in labels: {d}" for d, t in texts.items() if t is None]
    problems += check_phrases(queries, {d: t for d, t in texts.items() if t is not None})
    problems += unmatched_phrases(queries, searcher.chunks)
    return problems


def load_floor() -> dict[str, float]:
    return json.loads(FLOOR_PATH.read_text(encoding="utf-8")) if FLOOR_PATH.is_file() else {}


def below_floor(scores: dict[str, dict[str, dict[str, float]]], floor: dict[str, float]) -> list[str]:
    """Metrics of hybrid (all questions) under the recorded floor."""
    got = scores.get("hybrid", {}).get("all", {})
    return [f"hybrid {m} = {got.get(m, 0):.3f} < floor {v:.3f}" for m, v in floor.items() if got.get(m, 0) < v]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`peel eval`'s own options; the caller adds the ones every command shares (--index, --json)."""
    from evals.harness import DEFAULT_MODES, SPLIT_CHOICES

    modes = ",".join(DEFAULT_MODES)
    parser.add_argument("--queries", type=Path, help="labelled queries (default: evals/queries.jsonl)")
    parser.add_argument("--modes", default=modes, help=f"comma-separated modes (default: {modes})")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="all",
                        help="score the dev or test questions only, or all of them (default: all)")
    parser.add_argument("-k", type=int, default=10, help="passages scored per question (default: 10)")
    parser.add_argument("--check", action="store_true", help="only validate the labels against the documents and chunks")
    parser.add_argument("--tune", action="store_true", help="tune fusion on the dev split, report on the test split")
    parser.add_argument("--floor", action="store_true", help="fail (exit 1) if hybrid falls below evals/floor.json")
    parser.add_argument("--out", type=Path, help="report folder (default: evals/reports)")


def run(args: argparse.Namespace, open_index: Callable[[argparse.Namespace], Any]) -> int:
    """Run `peel eval` with the options of :func:`add_arguments`; ``open_index(args)`` opens
    the index the caller's --index names. Exit status 1 on label problems (--check) or a
    metric below the floor (--floor)."""
    _use_plain_python_metrics()
    from rich.console import Console
    from rich.table import Table

    from evals.harness import collect_rankings, evaluate
    from evals.labels import QUERIES_PATH, load_queries
    from evals.report import write_report
    from evals.tuning import FUSION_INPUTS, tune_fusion
    from index.engine.fusion import fuse

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    queries = load_queries(args.queries or QUERIES_PATH)
    searcher = open_index(args)

    problems = check(queries, searcher)
    if args.check:
        if args.json:
            print(json.dumps({"questions": len(queries), "problems": problems}))
        else:
            for p in problems:
                out.print(p, markup=False)
            out.print(f"{len(queries)} questions, {len(problems)} label problem(s)")
        return 1 if problems else 0
    for p in problems:
        err.print(f"[yellow]label problem:[/] {p}")

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    search = _search_fn(searcher, args.k)
    result = evaluate(queries, searcher.chunks, search, modes=modes, k=args.k, split=args.split)
    tuning = None
    if args.tune:
        rankings = collect_rankings(queries, search, FUSION_INPUTS, k=DEEP_K)
        grid = [{"method": "rrf", "k": k} for k in (5, 10, 20, 40, 60, 100)]
        grid += [{"method": "weighted", "weights": [1 - w, w], "norm": norm}
                 for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8) for norm in ("minmax", "zscore")]
        grid = [{**g, "weights": [round(x, 2) for x in g["weights"]]} if "weights" in g else g for g in grid]
        tuning = tune_fusion(queries, searcher.chunks, rankings,
                             lambda b, d, **p: fuse([b, d], **p), grid, metric="mrr@10", k=args.k)
    paths = write_report(result, args.out, tuning=tuning)

    floor_failures = below_floor(result.scores, load_floor()) if args.floor else []
    if args.json:
        data = result.to_dict()
        data["reports"] = {k: str(v) for k, v in paths.items()}
        if tuning is not None:
            data["fusion_tuning"] = tuning.to_dict()
        data["floor_failures"] = floor_failures
        print(json.dumps(data, default=str))
    else:
        metrics = ["hit_rate@5", "recall@5", "recall@10", "mrr@10", "ndcg@10"]
        kinds = ["all"] + sorted({g for m in result.scores.values() for g in m if g != "all"})
        for metric in metrics:
            table = Table(title=f"{metric} ({result.split}, {result.counts.get('all', 0)} answerable questions)")
            table.add_column("mode")
            for kind in kinds:
                table.add_column(kind, justify="right")
            for mode in modes:
                row = [f"{result.scores[mode].get(kind, {}).get(metric, float('nan')):.3f}" for kind in kinds]
                table.add_row(mode, *row)
            out.print(table)
        for mode, cov in result.year_coverage.items():
            out.print(f"temporal year coverage@{args.k} [{mode}]: {json.dumps(cov, default=str)}", markup=False)
        if tuning is not None:
            out.print(f"fusion tuned on dev: {tuning.params} (dev {tuning.metric} {tuning.dev_score:.3f}); "
                      f"see the report for the test split", markup=False)
        out.print(f"Reports: {', '.join(str(p) for p in paths.values())}", markup=False)
        for f in floor_failures:
            err.print(f"[bold red]below floor:[/] {f}")
    return 1 if floor_failures else 0
