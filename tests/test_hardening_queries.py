"""Hostile queries and many users (issue 7).

Queries that are empty, only punctuation, 10,000 characters long or full of regex and
query syntax get a sensible answer or a clear message from `index.api` and from
`peel search` / `peel ask`; one Searcher shared by 20 threads gives exactly the results
of the same queries run one at a time.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from index import api
from index.engine.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
PEEL = [sys.executable, "-m", "search_app.cli"]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONIOENCODING="utf-8")

NO_WORDS = ["", "   ", "?!.,;:", "((((", "*", "\\", "\"\"", "--", "…", "🙂🙂", "\x00\x01", "\u202e\u200b"]
SYNTAX = [
    ".*[a-z]+(?=x)\\d{2,}|^$",
    'title:"custody" AND (NOT abuse OR ~2^3) -crime +police',
    "custody* OR detain?",
    "'; DROP TABLE chunks; --",
    "${jndi:ldap://example.invalid/a} {{7*7}} %s%n{0}",
    "<script>alert(1)</script> custody",
    "[/] [bold]custody[/bold] [link=file:///etc/passwd]x[/link]",
    "\\(\\[ \\b \\\\ DVPO ))]]",
    "\ud800 custody \udfff",
]
LONG = "custody detention " * 600  # 10,800 characters


def test_no_word_queries_get_a_message_from_the_api(bundled_searcher):
    for q in NO_WORDS:
        result = api.search(bundled_searcher, q)
        assert result.hits == [] and result.message == api.NO_WORDS, q
        assert api.query_message(q) == api.NO_WORDS
        answer = api.ask(bundled_searcher, q)
        assert answer.hits == [] and answer.groups == [] and not answer.strong


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_syntax_and_long_queries_are_searched_as_words(bundled_searcher, mode):
    for q in [*SYNTAX, LONG]:
        result = api.search(bundled_searcher, q, k=5, mode=mode)
        assert len(result.hits) <= 5
        json.dumps(result.to_dict())  # serialisable, as --json prints it
        assert api.query_message(q) is None
    if mode == "hybrid":  # ask embeds each candidate sentence: three questions are enough
        for q in (SYNTAX[0], SYNTAX[1], LONG):
            answer = api.ask(bundled_searcher, q, mode=mode)
            assert answer.hits
            json.dumps(answer.to_dict())
    result = api.search(bundled_searcher, LONG, k=3, mode=mode)
    assert result.hits
    assert "The question is 10,800 characters long; only the first 2,000 were searched." in result.message


def test_out_of_range_arguments_through_the_api(bundled_searcher):
    assert api.search(bundled_searcher, "custody", k=0).hits == []
    assert api.search(bundled_searcher, "custody", k=-5).hits == []
    assert 10 < len(api.search(bundled_searcher, "custody", k=10**9).hits) <= len(bundled_searcher)
    assert api.ask(bundled_searcher, "custody", k=-1).hits == []  # as search: no passages asked for
    result = api.search(bundled_searcher, "custody", filters=Filters(doc_ids=["no-such-report"]))
    assert result.hits == [] and "No document with id 'no-such-report' in this index." in result.message
    assert api.search(bundled_searcher, "custody", filters=Filters(year_from=2019, year_to=2016)).hits == []
    with pytest.raises(ValueError, match="Unknown search mode 'fuzzy'"):
        api.search(bundled_searcher, "custody", mode="fuzzy")


def _peel(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*PEEL, *args], capture_output=True, text=True, env=dict(ENV, COLUMNS="200"),
                          cwd=ROOT, timeout=300, input=stdin)


def test_cli_search_with_hostile_queries(bundled_index):
    index = ["--index", str(bundled_index)]
    run = _peel("search", "", *index)
    assert run.returncode == 2 and "give a QUERY" in run.stderr
    run = _peel("search", "?!.,;:", *index)
    assert run.returncode == 0 and "Please type a question" in run.stdout and "No passages matched." in run.stdout
    run = _peel("search", "[/] [bold]custody[/bold]", *index, "--doc", "[/]", "-k", "3")
    assert run.returncode == 0 and "No document with id '[/]' in this index." in run.stdout
    for bad_k in ("0", "ten"):
        run = _peel("search", "custody", *index, "-k", bad_k)
        assert run.returncode == 2 and "argument -k" in run.stderr
    # every hostile query in one process: one JSON result per line
    queries = [q for q in [*NO_WORDS, *SYNTAX, LONG] if q.strip() and "\x00" not in q and "\ud800" not in q]
    run = _peel("search", "--from-file", "-", *index, "-k", "3", stdin="\n".join(queries) + "\n")
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["query"] for r in results] == queries
    for r in results:
        assert r["hits"] or r["message"] == api.NO_WORDS
    assert "only the first 2,000 were searched" in results[-1]["message"]  # LONG
    assert "Traceback" not in run.stderr
    run = _peel("search", "--from-file", str(bundled_index / "no-such-queries.txt"), *index)
    assert run.returncode == 1 and "no-such-queries.txt: No such file or directory" in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_ask_with_hostile_queries(bundled_index):
    index = ["--index", str(bundled_index)]
    run = _peel("ask", "?!.,;:", *index)
    assert run.returncode == 0 and run.stdout.strip() == "Please type a question.", run.stderr
    run = _peel("ask", SYNTAX[6], *index)  # Rich markup, printed as typed
    assert run.returncode == 0 and "Traceback" not in run.stderr
    assert "—" in run.stdout  # evidence with its citation, or the nearest passages
    run = _peel("ask", LONG, *index, "--json")  # 10,800 characters
    assert run.returncode == 0 and json.loads(run.stdout)["question"] == LONG


# --- one Searcher, many sessions -----------------------------------------------------------

POOL = [
    "how did DVPO use change 2016-2018?",
    "what did inspectors say about the 101 line?",
    "registered sex offenders",
    "anti-social behaviour since 2017",
    "stop and search",
    "how many missing children episodes",
    "domestic abuse victims support",
    "What is the salary of a chief constable in Scotland?",
    "custody",
    "neighbourhood policing 2018/19",
    "DVPO",
    "?!",
    SYNTAX[1],
    "call handling 999 and 101 compared with 2016",
    "organised crime gangs county lines",
    "mental health street triage",
]
THREADS, PER_THREAD = 20, 50


def _rounded(obj):
    """Results as plain data, floats to 6 places (the same inputs give the same numbers)."""
    if isinstance(obj, float):
        return round(obj, 6) if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v) for v in obj]
    return obj


ASKED = POOL[:6]  # ask embeds every candidate sentence of a new question: a few suffice
OPS = [("search", mode, q) for mode in ("hybrid", "bm25", "dense") for q in POOL] + [("ask", "hybrid", q) for q in ASKED]


def _run_query(searcher, i: int):
    op, mode, q = OPS[i]
    if op == "ask":
        return _rounded(api.ask(searcher, q, mode=mode).to_dict())
    return _rounded(api.search(searcher, q, k=8, mode=mode).to_dict())


def test_one_searcher_shared_by_20_threads_gives_the_one_at_a_time_results(bundled_searcher):
    expected = {i: _run_query(bundled_searcher, i) for i in range(len(OPS))}
    cache = getattr(bundled_searcher.embedder, "_cache", None)
    if hasattr(cache, "clear"):
        cache.clear()  # the threads race to encode the queries again
    got: list[tuple[int, object]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def session(t: int) -> None:
        try:
            start.wait()
            for j in range(PER_THREAD):
                i = (t * 7 + j) % len(OPS)
                got.append((i, _run_query(bundled_searcher, i)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert len(got) == THREADS * PER_THREAD
    mismatched = sorted({OPS[i] for i, result in got if result != expected[i]})
    assert mismatched == []
