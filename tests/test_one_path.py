"""One retrieval path: `peel ask`, the app and `peel search` show the same passages.

For every question of the labelled set, the passages an answer is drawn from are exactly
`peel search --json`'s top k for the same question, filters and mode.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from evals.labels import QUERIES_PATH, load_queries
from index import api
from index.engine.filters import Filters

QUESTIONS = [q.query for q in load_queries(QUERIES_PATH)]


def _ids(hits) -> list[str]:
    return [h.chunk_id for h in hits]


def test_ask_draws_on_exactly_search_top_k_for_every_labelled_question(bundled_searcher):
    for question in QUESTIONS:
        searched = api.search(bundled_searcher, question, k=10)
        answer = api.ask(bundled_searcher, question, k=10)
        assert _ids(answer.hits) == _ids(searched.hits), question
        cited = {e.chunk_id for _, evidence in answer.groups for e in evidence}
        assert cited <= set(_ids(searched.hits)), question


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_same_passages_in_every_mode_and_with_filters(bundled_searcher, mode):
    filters = Filters(year_from=2016, year_to=2017)
    for question in QUESTIONS[::6]:
        for k, f in ((5, None), (8, filters)):
            searched = api.search(bundled_searcher, question, k=k, mode=mode, filters=f)
            answer = api.ask(bundled_searcher, question, k=k, mode=mode, filters=f)
            assert _ids(answer.hits) == _ids(searched.hits), (question, mode, k, f)


def test_cli_ask_and_search_json_show_the_same_passages(bundled_index):
    question = "how did DVPO use change 2016-2018?"
    peel = [sys.executable, "-m", "search_app.cli"]

    def run(*args: str) -> dict:
        out = subprocess.run([*peel, *args, "--index", str(bundled_index), "--json"], capture_output=True,
                             text=True, timeout=300, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    searched = run("search", question, "-k", "7")
    asked = run("ask", question, "-k", "7")
    assert [h["chunk_id"] for h in asked["hits"]] == [h["chunk_id"] for h in searched["hits"]]
    assert {g["label"] for g in asked["groups"]} >= {"2016", "2018/19"}


def test_app_cards_are_search_top_k(bundled_index, bundled_searcher, run_app):
    question = "what did inspectors say about the 101 line?"
    at = run_app(bundled_index, q=question, k="6")
    cards = [m.value for m in at.markdown if 'class="peel-card' in m.value and "peel-cite" in m.value]
    shown = [re.search(r'class="peel-cite">\d+\. (.*?)</div>', c).group(1) for c in cards]
    expected = [h.citation.label() for h in api.search(bundled_searcher, question, k=6).hits]
    import html

    assert [html.unescape(s) for s in shown] == expected
