"""Exports open cleanly; passages render inert; links carry a search and are validated."""

from __future__ import annotations

import csv
import io
import json

from index.records import Hit
from search_app.export import render
from search_app.params import SearchParams, params_from_query, params_to_query
from search_app.render import highlight_html, query_stems, sentence_spans_in, term_spans


def _hit(rank: int, text: str, **kw) -> Hit:
    base = dict(
        rank=rank, score=1.0 / rank, chunk_id=f"doc-{rank}#abc", doc_id=f"doc-{rank}", title=f"Report {rank}",
        year=2016 + rank, years=[2016 + rank], doc_type="peel-report", force="Essex Police",
        section=["How effective is the force?", "Supporting victims"], text=text,
        char_start=100 * rank, char_end=100 * rank + len(text), page=rank, source=f"/data/doc-{rank}.txt",
    )
    base.update(kw)
    return Hit(**base)


HITS = [
    _hit(1, 'The force made 215 DVPO applications, costing £5m — “a big rise”.\nSecond line, with a comma.'),
    _hit(2, "Officers used <script>alert(1)</script> rarely.", also_in=[{"doc_id": "web", "title": "Web summary", "year": 2018}]),
]
DOCS = [
    {"doc_id": "doc-1", "title": "Report 1", "publisher": "HMIC", "published": "2017-03-02", "years": [2017],
     "url": "https://example.org/r1"},
    {"doc_id": "doc-2", "title": "Report 2", "publisher": "HMICFRS", "published": "2019-05-02", "years": [2018]},
    {"doc_id": "web", "title": "Web summary", "publisher": "HMICFRS", "published": "2019-05-02", "years": [2018]},
]


def test_csv_round_trips_through_a_csv_reader_with_unicode_and_newlines():
    text = render(HITS, "csv")
    assert text.startswith("\ufeff")  # spreadsheets need the BOM to read UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["text"] for r in rows] == [h.text for h in HITS]
    assert rows[0]["citation"] == "Report 1 (2017) › How effective is the force? › Supporting victims, p. 1"
    assert rows[1]["also_in"] == "Web summary (2018)"


def test_jsonl_has_one_search_record_per_line():
    lines = render(HITS, "jsonl").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["text"] == HITS[0].text and first["char_start"] == 100 and first["section"] == HITS[0].section


def test_markdown_quotes_each_excerpt_then_cites_it_and_lists_references():
    md = render(HITS, "md", query="DVPO", documents=DOCS)
    assert "> The force made 215 DVPO applications" in md
    assert "> Second line, with a comma." in md
    assert "— Report 1 (2017) › How effective is the force? › Supporting victims, p. 1" in md
    refs = md.split("## References", 1)[1]
    assert "HMIC (2017). *Report 1*. https://example.org/r1" in refs
    assert "*Web summary*" in refs  # folded duplicates are cited too
    assert refs.count("*Report 1*") == 1


def test_references_list_has_one_entry_per_cited_document():
    refs = render(HITS, "refs", documents=DOCS).splitlines()
    assert refs == [
        "- HMIC (2017). *Report 1*. https://example.org/r1",
        "- HMICFRS (2019). *Report 2*.",
        "- HMICFRS (2019). *Web summary*.",
    ]


def test_passage_html_is_escaped_and_highlights_are_ours():
    text = HITS[1].text
    out = highlight_html(text, [(0, len(text))], term_spans(text, query_stems("officers")))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert out.startswith('<mark class="peel-answer">')
    assert "<b>Officers</b>" in out


def test_query_terms_match_by_stem_not_stop_words():
    stems = query_stems("How did the investigations change?")
    text = "The force investigated the case; the investigation was good."
    hits = [text[a:b] for a, b in term_spans(text, stems)]
    assert hits == ["investigated", "investigation"]


def test_evidence_sentences_are_located_verbatim():
    text = "First sentence. The answer is here. Last one."
    assert sentence_spans_in(text, ["The answer is here.", "missing"]) == [(16, 35)]


def test_url_parameters_round_trip_a_search():
    p = SearchParams(q="DVPO use 2016–2018", mode="bm25", k=5, year_from=2016, year_to=2018, forces=["Essex Police"])
    again, problems = params_from_query(params_to_query(p))
    assert problems == []
    assert again == p


def test_bad_url_parameters_give_messages_not_errors():
    p, problems = params_from_query({"q": "x", "year": "2019-2016", "mode": "magic", "k": "lots"})
    assert p.year_from is None and p.mode == "hybrid" and p.k == 10
    assert len(problems) == 3
    assert any("Year range '2019-2016'" in m for m in problems)


def test_bibtex_and_ris_hold_one_entry_per_cited_document_and_parse_back():
    import bibtexparser
    import rispy

    docs = [*DOCS[:1], {**DOCS[1], "title": "Fire & Rescue: 100% of 2018_19", "doc_type": "peel-report",
                        "force": "Essex Police"},
            {**DOCS[2], "doc_type": "news"}]
    bib = bibtexparser.loads(render(HITS, "bib", documents=docs))
    entries = {e["ID"]: e for e in bib.entries}
    assert list(entries) == ["doc-1", "doc-2", "web"]  # in the order cited, folded duplicate included
    assert entries["doc-1"]["year"] == "2017" and entries["doc-1"]["url"] == "https://example.org/r1"
    assert entries["doc-2"]["ENTRYTYPE"] == "techreport" and entries["doc-2"]["institution"] == "HMICFRS"
    assert entries["doc-2"]["title"] == r"{Fire \& Rescue: 100\% of 2018\_19}"  # compiles in LaTeX
    assert entries["doc-2"]["note"] == "Essex Police"
    assert entries["web"]["ENTRYTYPE"] == "misc"

    ris = rispy.loads(render(HITS, "ris", documents=docs))
    assert [r["id"] for r in ris] == ["doc-1", "doc-2", "web"]
    assert [r["type_of_reference"] for r in ris] == ["GEN", "RPRT", "NEWS"]
    assert ris[1]["title"] == "Fire & Rescue: 100% of 2018_19" and ris[1]["publisher"] == "HMICFRS"
    assert ris[0]["urls"] == ["https://example.org/r1"] and ris[0]["date"] == "2017/03/02"
    assert not render(HITS, "ris", documents=docs).startswith("1.")


def test_bibtex_keys_stay_unique_and_plain():
    import bibtexparser

    from search_app.bibliography import to_bibtex

    bib = bibtexparser.loads(to_bibtex([{"doc_id": "a b/c", "title": "One"}, {"doc_id": "a-b-c", "title": "Two"}]))
    assert [e["ID"] for e in bib.entries] == ["a-b-c", "a-b-c-2"]
