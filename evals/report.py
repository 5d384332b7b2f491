"""The evaluation on disk: a JSON and a Markdown report, TREC qrels and runs (written by ranx)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.harness import YEAR_CUTOFF, EvalResult
from evals.labels import KINDS, as_ranking
from evals.scoring import STAT_TESTS, rank_scores
from evals.tuning import FusionTuning

REPORTS_DIR = Path(__file__).with_name("reports")


def _trec_id(value: str, what: str) -> str:
    # ranx writes ids as given: whitespace in one would shift the columns after it.
    value = str(value)
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{what} {value!r} is empty or contains whitespace; TREC files can't hold it")
    return value


def write_trec_qrels(qrels: Mapping[str, Mapping[str, int]], path: str | Path) -> Path:
    """Standard TREC qrels, ``qid 0 chunk_id grade`` lines."""
    from ranx import Qrels as RxQrels

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    judged = {
        _trec_id(qid, "qid"): {_trec_id(doc_id, "chunk id"): int(grade) for doc_id, grade in rel.items()}
        for qid, rel in qrels.items()
        if rel
    }
    RxQrels(judged or None).save(str(path), kind="trec")  # ranx rejects {}; None is empty
    return path


def write_trec_run(
    run: Mapping[str, Sequence[tuple[str, float]] | Mapping[str, float]],
    path: str | Path,
    tag: str,
) -> Path:
    """Standard TREC run, ``qid Q0 chunk_id rank score tag`` lines, rank from 1.

    Lists keep their order; a mapping is ranked by score. The score written is the
    rank-derived one ranx scored (:func:`evals.scoring.rank_scores`), not the search's:
    TREC tools order by score, and the search's order is not always score order.
    """
    from ranx import Run as RxRun

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ranked = {_trec_id(qid, "qid"): as_ranking(ranking) for qid, ranking in run.items()}
    scores = {
        qid: rank_scores([(_trec_id(doc_id, "chunk id"), s) for doc_id, s in ranking])
        for qid, ranking in ranked.items()
        if ranking
    }
    RxRun(scores or None, name=_trec_id(tag, "run tag")).save(str(path), kind="trec")
    return path


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
