"""Retrieval behaviour users rely on, on the bundled corpus."""

from __future__ import annotations

import re

from index import api


def _text_without(hit_text: str, acronym: str) -> bool:
    return not re.search(rf"\b{acronym}s?\b", hit_text)


def test_acronym_query_finds_passages_that_only_spell_it_out(bundled_searcher):
    # BM25 alone: the passage must be reached through the glossary, not through meaning.
    hits = api.search(bundled_searcher, "DVPO", k=5, mode="bm25").hits
    spelled = [h for h in hits if "domestic violence protection orders" in h.text.lower() and _text_without(h.text, "DVPO")]
    assert spelled, [h.text[:80] for h in hits]


def test_spelled_out_query_reaches_passages_that_only_use_the_acronym(bundled_searcher):
    # The 2018/19 report's efficiency section names "MASHs in Southend-on-Sea and Thurrock"
    # without spelling them out: only the glossary connects it to the full name.
    target = next(c for c in bundled_searcher.chunks if "MASHs in Southend" in c.text)
    assert "safeguarding hub" not in target.text.lower()
    n = len(bundled_searcher.chunks)
    plain = bundled_searcher.search("multi-agency safeguarding hubs", k=n, mode="bm25", fold=False)
    assert target.chunk_id not in {h.chunk_id for h in plain}
    expanded = api.search(bundled_searcher, "multi-agency safeguarding hubs", k=n, mode="bm25").hits
    assert target.chunk_id in {h.chunk_id for h in expanded}


def test_years_in_the_question_raise_passages_but_never_remove_one(bundled_searcher):
    result = api.search(bundled_searcher, "domestic abuse since 2018", k=10)
    assert result.years_from_query == (2018, None)
    # without the prior none of these ten speaks of 2018 or later; with it most do
    recent = [max(h.years) >= 2018 for h in result.hits]
    assert sum(recent[:5]) >= 3 and sum(recent) >= 7
    assert "ranked first" in result.message
    # a year no report speaks of: said, and the nearest passages are still there
    future = api.search(bundled_searcher, "domestic abuse in 2031", k=10)
    assert len(future.hits) == 10 and "No document in this index speaks of 2031" in future.message


def test_an_explicit_year_filter_excludes_and_replaces_the_question_years(bundled_searcher):
    from index.engine.filters import Filters

    result = api.search(bundled_searcher, "domestic abuse in 2018", k=10, filters=Filters(year_from=2016, year_to=2016))
    assert result.hits and all(2016 in h.years for h in result.hits)
    assert "The year filter replaces the year 2018 named in the question." in result.message


def test_change_over_time_query_shows_every_period_with_evidence(bundled_searcher):
    hits = api.search(bundled_searcher, "how did DVPO use change between 2016 and 2018?", k=10).hits
    years = {tuple(h.years) for h in hits}
    assert (2016,) in years and (2018, 2019) in years


def test_web_summary_repeats_fold_into_the_report_hit(bundled_searcher):
    hits = api.search(bundled_searcher, "closing investigations where the victim is reluctant to engage", k=10).hits
    folded = [h for h in hits if h.also_in]
    assert folded
    cited = {h.doc_id for h in folded} | {d["doc_id"] for h in folded for d in h.also_in}
    assert {"essex-peel-2018-19-report", "essex-peel-2018-19-web-summary"} <= cited
    assert len({h.chunk_id for h in hits}) == len(hits)


def test_change_over_time_question_encodes_question_and_topic_in_one_batch(bundled_searcher, monkeypatch):
    # A change-over-time question is searched as asked and as its topic; both vectors come
    # from one batch, which costs less than two encodes in a row (README, Benchmarks).
    question = "How did the use of body-worn video change between 2016 and 2018/19?"
    searcher = bundled_searcher
    batches: list[int] = []
    real = type(searcher.embedder).encode

    def counting(self, texts, *args, **kwargs):
        batches.append(len(texts))
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(searcher.embedder), "encode", counting)
    with monkeypatch.context() as m:
        m.setattr(type(searcher), "prime", lambda self, queries, expansions=None: None)
        searcher.embedder._cache.clear()
        one_by_one = [h.chunk_id for h in api.search(searcher, question, k=10).hits]
    assert batches == [1, 1]

    batches.clear()
    searcher.embedder._cache.clear()
    batched = [h.chunk_id for h in api.search(searcher, question, k=10).hits]
    assert batches == [2]
    assert batched == one_by_one  # the same vectors, so the same ranking
