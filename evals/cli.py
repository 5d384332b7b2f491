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
PACKAGED_FLOOR_PATH = EVALS_DIR / "floor-packaged.json"
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


def _figure_scores(queries, searcher, split: str):
    """Figure precision and recall on the questions with figure labels (None if there are none)."""
    from evals.figures import evaluate_figures
    from index import api

    if not any(q.figures and (split == "all" or q.split == split) for q in queries):
        return None
    return evaluate_figures(queries, lambda question: api.ask(searcher, question).figures, split)


def load_floor(packaged_model: bool = False) -> dict[str, float]:
    """The recorded floor: of the corpus-adapted model (evals/floor.json), or with
    ``packaged_model`` of the packaged all-MiniLM-L6-v2 an index falls back to when
    adaptation is skipped (evals/floor-packaged.json; CI runs so)."""
    path = PACKAGED_FLOOR_PATH if packaged_model else FLOOR_PATH
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


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
    parser.add_argument("--floor", action="store_true", help="fail (exit 1) if hybrid falls below the recorded floor "
                        "(evals/floor.json; floor-packaged.json for an index of the packaged model)")
    parser.add_argument("--out", type=Path, help="report folder (default: evals/reports)")
    parser.add_argument("--variants", nargs="?", const="all", metavar="NAMES",
                        help="rebuild the bundled corpus as users' folders look (no-manifest, multi-period, "
                             "html-news; comma-separated, default all), index each with the open index's "
                             "model and compare hit@5 and MRR@10 with the manifest corpus; exit 1 if one "
                             "falls more than 0.03 below")


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
    if args.variants:
        return _run_variants(args, queries, searcher, out, err)

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
    figures = _figure_scores(queries, searcher, args.split)
    if figures is not None:
        paths["figures"] = Path(paths["json"]).with_name(f"figures-{args.split}.json")
        paths["figures"].write_text(json.dumps(figures.to_dict(), indent=2) + "\n", encoding="utf-8")

    packaged = bool((searcher.manifest.get("model") or {}).get("default"))
    floor_failures = below_floor(result.scores, load_floor(packaged)) if args.floor else []
    if args.json:
        data = result.to_dict()
        data["reports"] = {k: str(v) for k, v in paths.items()}
        if tuning is not None:
            data["fusion_tuning"] = tuning.to_dict()
        data["floor_failures"] = floor_failures
        data["figures"] = figures.to_dict() if figures is not None else None
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
        if figures is not None:
            precision = "n/a" if figures.precision is None else f"{figures.precision:.3f}"
            out.print(f"figures of change-over-time answers: precision {precision} ({figures.right} of "
                      f"{figures.judged} judged), recall {figures.recall:.3f} of {figures.labelled} labelled",
                      markup=False)
            for e in figures.errors:
                out.print(f"  figure error: {e}", markup=False)
        if tuning is not None:
            out.print(f"fusion tuned on dev: {tuning.params} (dev {tuning.metric} {tuning.dev_score:.3f}); "
                      f"see the report for the test split", markup=False)
        out.print(f"Reports: {', '.join(str(p) for p in paths.values())}", markup=False)
        for f in floor_failures:
            err.print(f"[bold red]below floor:[/] {f}")
    return 1 if floor_failures else 0


def _run_variants(args: argparse.Namespace, queries, searcher, out, err) -> int:
    """`peel eval --variants`: the generalisation table of :mod:`evals.variants`."""
    import tempfile

    from rich.table import Table

    from evals.variants import COMPARED, TOLERANCE, VARIANTS, evaluate_variants
    from index.paths import BUNDLED_DATA

    names = list(VARIANTS) if args.variants == "all" else [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        err.print(f"[bold red]error:[/] unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
        return 2
    model = searcher.manifest.get("model", {}).get("path")
    with tempfile.TemporaryDirectory(prefix="peel-variants-") as work:
        scores = evaluate_variants(
            names, queries, BUNDLED_DATA, Path(work), model, seed_from=searcher.path, split=args.split, k=args.k,
            progress=lambda name: err.print(f"Indexing and scoring variant [bold]{name}[/] …"))
    report = {"split": args.split, "k": args.k, "tolerance": TOLERANCE, "compared": list(COMPARED),
              "model": model, "variants": [v.to_dict() for v in scores]}
    folder = args.out or EVALS_DIR / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"variants-{args.split}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    failed = [v.name for v in scores if not v.within_tolerance]
    if args.json:
        print(json.dumps({**report, "report": str(path), "failed": failed}))
    else:
        table = Table(title=f"Generalisation variants, hybrid ({args.split}; tolerance {TOLERANCE})")
        table.add_column("variant", no_wrap=True, min_width=12)
        for col in ("docs", "chunks", "qs", "hit@5", "Δ", "MRR@10", "Δ", "ok"):
            table.add_column(col, justify="right", no_wrap=True)
        for v in scores:
            table.add_row(v.name, str(v.documents), str(v.chunks), str(v.questions),
                          f"{v.scores['hit_rate@5']:.3f}", f"{v.delta['hit_rate@5']:+.3f}",
                          f"{v.scores['mrr@10']:.3f}", f"{v.delta['mrr@10']:+.3f}",
                          "yes" if v.within_tolerance else "NO")
        out.print(table)
        out.print(f"Report: {path}", markup=False)
        for name in failed:
            err.print(f"[bold red]outside tolerance:[/] variant {name}")
    return 1 if failed else 0
