"""The app with hostile documents and hostile links (issue 7).

Document text and titles holding HTML, script, Markdown images and links are shown as
text in every view that renders them: the passage cards, the "Also in" line, the "Whole
section" expander and the timeline. Link parameters that cannot be used say so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


HOSTILE = ("<script>alert('x')</script> <img src=x onerror=alert(1)> "
           "![tracker](http://example.invalid/t.png) [click](javascript:alert(2)) :red[styled] $x^2$")

MANIFEST = """
[[document]]
id = "kent-2016"
file = "kent-2016.txt"
title = "Kent custody 2016 <script>alert('title')</script>"
force = "Kent Police"
doc_type = "peel-report"
years = [2016]

[[document]]
id = "kent-2018"
file = "kent-2018.txt"
title = "Kent custody 2018 <img src=x onerror=alert('title')>"
force = "Kent Police"
doc_type = "peel-report"
years = [2018]

[[document]]
id = "kent-2018-summary"
file = "kent-2018-summary.txt"
title = "Kent summary <b onmouseover=alert('also')>2018</b> ![t](http://example.invalid/a.png)"
force = "Kent Police"
doc_type = "peel-web-summary"
years = [2018]
"""

REPORT_2016 = f"""Custody reviews

In 2016 custody reviews by inspectors were late in 40 percent of cases, and detainee records showed {HOSTILE} pasted from a web form.

Inspectors also found that custody reviews\r\r![second](http://example.invalid/s.png) were not always recorded by the sergeant on duty.

Other matters

Neighbourhood teams were often moved to response duties in 2016, which reduced local problem solving across the county.
"""
REPORT_2018 = f"""Custody reviews

By 2018 custody reviews by inspectors were late in only 12 percent of cases, an improvement since 2016; a detainee record still held {HOSTILE} text.

Victims

Victims of domestic abuse were referred to specialist support services on the day they reported the crime to the force in 2018.
"""
SUMMARY_2018 = f"""Custody reviews

By 2018 custody reviews by inspectors were late in only 12 percent of cases, an improvement since 2016; a detainee record still held {HOSTILE} text.
"""

QUESTION = "how did late custody reviews change from 2016 to 2018?"


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory) -> Path:
    from index import api

    corpus = tmp_path_factory.mktemp("hostile-app") / "corpus"
    corpus.mkdir()
    (corpus / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    (corpus / "kent-2016.txt").write_text(REPORT_2016, encoding="utf-8", newline="")
    (corpus / "kent-2018.txt").write_text(REPORT_2018, encoding="utf-8")
    (corpus / "kent-2018-summary.txt").write_text(SUMMARY_2018, encoding="utf-8")
    index = corpus.parent / "index"
    api.build([corpus], index)
    return index


def _html_blocks(at: AppTest) -> list[str]:
    """Every Markdown element the app rendered with HTML allowed (main area, sidebar, expanders)."""
    return [m.value for m in at.markdown if m.allow_html and "<style>" not in m.value]


def _assert_inert(block: str) -> None:
    # No tag or attribute from a document survives: they arrive as &lt;…&gt; text.
    assert "<script" not in block and "<img" not in block and "<b onmouseover" not in block
    assert not re.search(r"<[^>]*\son\w+=", block)
    # One line, so Markdown never starts inside the HTML block: ![..](..) and [..](..) stay text.
    assert "\n" not in block and "\r" not in block


def test_hostile_documents_render_inert_in_cards_timeline_also_in_and_whole_section(hostile_index, run_app):
    at = run_app(hostile_index, q=QUESTION)
    assert "Evidence over time" in [s.value for s in at.subheader]
    blocks = _html_blocks(at)
    for block in blocks:
        _assert_inert(block)

    cards = [b for b in blocks if 'class="peel-card' in b and "peel-cite" in b]
    timeline = [b for b in cards if b.index("peel-text") < b.index("peel-cite")
                and '<div class="peel-cite">' in b and not re.search(r'peel-cite">\d+\. ', b)]
    passages = [b for b in cards if re.search(r'peel-cite">\d+\. ', b)]
    assert timeline and passages
    for view in (timeline, passages):
        joined = " ".join(view)
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in joined  # the text, shown
        assert "&lt;img src=x onerror=alert(1)&gt;" in joined
        assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in joined  # the title, in the citation
    also = [b for b in passages if "peel-also" in b]
    assert also, "no 'Also in' line rendered"
    assert any("Also in: Kent" in b and "&lt;img src=x onerror=alert(&#x27;title&#x27;)&gt;" in b
               or "&lt;b onmouseover=alert(&#x27;also&#x27;)&gt;" in b for b in also)

    sections = [m.value for e in at.expander if e.label == "Whole section" for m in e.markdown]
    assert sections, "no 'Whole section' expander rendered"
    joined = " ".join(sections)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in joined
    assert "![second](http://example.invalid/s.png)" in joined  # its own paragraph, still inert
    for block in sections:
        _assert_inert(block)


def test_hostile_title_in_the_sidebar_is_plain_text(hostile_index, run_app):
    at = run_app(hostile_index, q="custody reviews", doc="kent-2016")
    docs = [d for d in at.sidebar.multiselect if d.label == "Documents"][0]
    assert docs.value == ["kent-2016"]
    # titles are option labels (text, never HTML); passages come only from that document
    assert any("<script>alert('title')</script>" in o for o in docs.options)
    cards = [b for b in _html_blocks(at) if re.search(r'peel-cite">\d+\. ', b)]
    assert cards and all("Kent custody 2016" in c for c in cards)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"k": "999"}, "Number of passages 999 in the link is out of range (1–30); using 30."),
        ({"k": "0"}, "Number of passages 0 in the link is out of range (1–30); using 1."),
        ({"k": "-3"}, "Number of passages -3 in the link is out of range (1–30); using 1."),
        ({"k": "9" * 5000}, "in the link is not a number; using 10."),
        ({"doc": "no-such-report"}, "No document id 'no-such-report' in this index (from the link); ignoring it."),
        ({"force": "Atlantis Police"}, "No force 'Atlantis Police' in this index (from the link); ignoring it."),
        ({"year": "1900-1950"}, "No document speaks of 1900–1950 (this index covers 2016–2018); ignoring the years in the link."),
        ({"year": "2019-2016"}, "Year range '2019-2016' in the link is not valid"),
        ({"q": "custody reviews " * 700}, "The question in the link is 11,200 characters long; only the first 2,000 are used."),
    ],
)
def test_bad_link_parameters_get_a_message_and_the_search_still_runs(hostile_index, run_app, params, message):
    at = run_app(hostile_index, **{"q": "custody reviews", **params})
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]  # Markdown escapes undone
    assert any(message in w for w in warnings), warnings
    assert [b for b in _html_blocks(at) if re.search(r'peel-cite">\d+\. ', b)]


def test_markdown_in_a_link_parameter_is_shown_as_typed(hostile_index, run_app):
    at = run_app(hostile_index, q="custody", mode="![x](http://example.invalid/x.png)")
    (warning,) = [w.value for w in at.warning if "Unknown mode" in w.value]
    assert "![x](" not in warning and r"\!\[x\]\(" in warning


@pytest.mark.parametrize("q", ["?!…", "(((", "\"\"", "*"])
def test_a_question_with_no_words_asks_for_one(hostile_index, run_app, q):
    at = run_app(hostile_index, q=q)
    assert any("Please type a question" in i.value for i in at.info)
    assert not [b for b in _html_blocks(at) if "peel-card" in b]


def test_a_folder_that_is_not_an_index_is_a_plain_error(tmp_path, monkeypatch, run_app):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.txt").write_text("do not delete")
    monkeypatch.setenv("PEEL_DATA", str(folder))
    at = run_app(folder, q="custody")
    assert any("not a peel-search index" in e.value for e in at.error)
    assert (folder / "thesis.txt").read_text() == "do not delete"
