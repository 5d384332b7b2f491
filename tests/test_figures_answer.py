"""Change-over-time answers state their figures per period, each traceable to its sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from evals.figures import evaluate_figures
from evals.labels import FigureLabel, Query, RelevantPhrase, load_queries
from index import api
from search_app.export import render
from search_app.figures_view import figure_table, measure_key

ROOT = Path(__file__).resolve().parent.parent
DVPO = "How did DVPO use change 2016–2018?"


def _by_value(figures) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in figures:
        out.setdefault(" ".join(f.value.split()), []).append(f)
    return out


def test_the_dvpo_series_comes_with_its_periods_and_sentences(bundled_searcher):
    answer = api.ask(bundled_searcher, DVPO)
    found = _by_value(answer.figures)
    expected = {  # value: (period, words of the sentence it must come from, document)
        "215": ([2016], "Applications for 215 domestic violence prevention orders", "essex-peel-2016-effectiveness"),
        "186": ([2016], "with 186 being granted by the courts", "essex-peel-2016-effectiveness"),
        "196": ([2017], "increased slightly from 196 in 2017 to 212 in 2018", "essex-peel-2018-19-report"),
        "212": ([2018], "increased slightly from 196 in 2017 to 212 in 2018", "essex-peel-2018-19-report"),
    }
    for value, (period, words, doc_id) in expected.items():
        matches = [f for f in found.get(value, []) if words in " ".join(f.sentence.split())]
        assert matches, (value, [(f.value, f.period, f.sentence[:60]) for f in answer.figures])
        f = matches[0]
        assert f.period == period and f.citation.doc_id == doc_id
        source = bundled_searcher.doc_text(doc_id)
        assert source[f.start:f.end] == f.value  # the figure's own offsets in the source
        assert words in " ".join(source[f.start - 200:f.end + 200].split())
    periods, rows = figure_table(answer.figures)
    assert periods[:3] == ["2016", "2017", "2018"]
    orders = next(r for r in rows if r.key == "order")
    assert [(year, value) for year, value in orders.series()] == [(2016, 215.0), (2017, 196.0), (2018, 212.0)]


def test_no_figure_is_read_outside_the_questions_time_frame(bundled_searcher):
    answer = api.ask(bundled_searcher, DVPO)
    assert answer.figures and all(min(f.period) >= 2016 for f in answer.figures)
    assert not api.ask(bundled_searcher, "what did inspectors say about the 101 line?").figures  # not a change question


def test_peel_ask_json_and_the_markdown_export_carry_the_figures(bundled_index):
    run = subprocess.run([sys.executable, "-m", "search_app.cli", "ask", DVPO, "--index", str(bundled_index), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)["figures"]
    assert {("196", (2017,)), ("212", (2018,))} <= {(f["value"], tuple(f["period"])) for f in figures}
    assert all(f["citation"]["doc_id"] and f["end"] > f["start"] for f in figures)
    answer = api.ask(api.open_index(bundled_index), DVPO)
    md = render(answer.hits, "md", query=DVPO, figures=answer.figures)
    table = md.split("## Figures by period", 1)[1].strip().split("\n\n", 1)[0]
    assert "| 2017 | 196 |" in table and "| 2018 | 212 |" in table


def test_labelled_figures_are_read_right(bundled_searcher):
    """The eval set's figure labels: no figure read from a labelled sentence is wrong."""
    scores = evaluate_figures(load_queries(), lambda q: api.ask(bundled_searcher, q).figures)
    assert scores.labelled >= 25 and scores.judged >= 10
    assert scores.precision == 1.0, scores.errors
    assert scores.recall >= 0.5


def _figure(value: str, period: list[int], sentence: str, doc_id: str = "d"):
    return SimpleNamespace(value=value, period=period, sentence=sentence, citation=SimpleNamespace(doc_id=doc_id))


def test_figure_scores_judge_only_labelled_sentences():
    labels = (FigureLabel("d", "from 196 in 2017 to 212 in 2018", "196", (2017,)),
              FigureLabel("d", "from 196 in 2017 to 212 in 2018", "212", (2018,)),
              FigureLabel("d", "fell to 53 orders", "53", (2018,)))
    q = Query("q1", "how did orders change", "temporal", "dev", (RelevantPhrase("d", "orders", 2),), figures=labels)
    sentence = "The number rose from 196 in 2017 to 212 in 2018."
    answer = [_figure("196", [2017], sentence), _figure("212", [2018, 2019], sentence),  # wrong period
              _figure("9", [2018], "Nine other things, 9 of them.")]  # not a labelled sentence: not judged
    scores = evaluate_figures([q], lambda _: answer)
    assert (scores.judged, scores.right, scores.labelled) == (2, 1, 3)
    assert scores.precision == 0.5 and abs(scores.recall - 1 / 3) < 1e-9
    assert "'212' read as [2018, 2019]" in scores.errors[0]


def test_measures_group_by_their_head_word():
    assert measure_key("domestic violence prevention orders (dvpos)") == "order"
    assert measure_key("number of domestic violence protection orders") == "order"
    assert measure_key("dvpns a month") == "dvpn"
    assert measure_key("granted") == "granted"
