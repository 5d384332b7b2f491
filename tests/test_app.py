"""The Streamlit app's logic, driven headless with streamlit.testing.v1.AppTest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "search_app" / "app.py")


@pytest.fixture
def app(bundled_index, run_app):
    return lambda **params: run_app(bundled_index, **params)


def _cards(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if 'class="peel-card' in m.value and "peel-cite" in m.value]


def _citations(at: AppTest) -> list[str]:
    return [re.search(r'class="peel-cite">(.*?)</div>', c).group(1) for c in _cards(at)]


def test_a_question_in_the_link_shows_cited_excerpts(app):
    at = app(q="what did inspectors say about the 101 line?")
    cites = _citations(at)
    assert len(cites) >= 5
    assert all(re.search(r"\(\d{4}\) › ", c) for c in cites[:5])  # title (year) › section
    assert any("101" in c for c in _cards(at))
    assert [b.label for b in at.get("download_button")] == [
        "Download CSV", "Download JSON Lines", "Download Markdown", "Download References", "Download BibTeX",
        "Download RIS"]


def test_filters_from_the_link_narrow_results(app):
    at = app(q="domestic abuse", doc="essex-peel-2018-19-report")
    cites = _citations(at)
    assert cites and all("2018/19 – An inspection of Essex Police" in c for c in cites)
    assert [d for d in at.sidebar.multiselect if d.label == "Documents"][0].value == ["essex-peel-2018-19-report"]


def test_change_over_time_question_gets_a_timeline_in_year_order(app):
    at = app(q="how did DVPO use change 2016-2018?")
    assert "Evidence over time" in [s.value for s in at.subheader]
    years = [m.value[5:] for m in at.markdown if m.value.startswith("#### ")]
    assert years[0] == "2016" and years[-1] == "2018/19"
    assert years == sorted(years)
    timeline = " ".join(m.value for m in at.markdown)
    assert "215" in timeline and "212" in timeline  # the 2016 and the 2018 figures side by side


def test_change_over_time_figures_are_a_table_linking_each_cell_to_its_passage(app):
    at = app(q="how did DVPO use change 2016-2018?")
    assert "Figures by period" in [s.value for s in at.subheader]
    table = next(m.value for m in at.markdown if 'class="peel-figures"' in m.value)
    header = re.findall(r"<th>([^<]*)</th>", table.split("</thead>")[0])
    assert header[:4] == ["measure", "2016", "2017", "2018"]
    links = re.findall(r'<a href="#(passage-\d+)" title="([^"]*)">([^<]+)</a>', table)
    by_value = {value: (target, title) for target, title, value in links}
    for value, words in (("215", "Applications for 215"), ("186", "186 being granted"),
                         ("196", "from 196 in 2017"), ("212", "to 212 in 2018")):
        target, title = by_value[value]
        assert words in title  # the cell's tooltip is its sentence, with the citation
        card = next(m.value for m in at.markdown if f'id="{target}"' in m.value)
        assert words.split()[-1] in card  # and it links to the passage holding it
    assert at.get("vega_lite_chart")  # the stated series as a line chart


def test_unanswerable_question_says_no_strong_evidence(app):
    at = app(q="What is the salary of a chief constable in Scotland?")
    assert any("No strong evidence found" in w.value for w in at.warning)
    assert "Evidence over time" not in [s.value for s in at.subheader]


def test_bad_year_in_link_gives_a_message_and_still_searches(app):
    at = app(q="anti-social behaviour", year="2019-2016")
    assert any("Year range '2019-2016'" in w.value for w in at.warning)
    assert _cards(at)


def test_ticked_passages_are_what_gets_exported(app):
    at = app(q="registered sex offenders")
    boxes = [c for c in at.checkbox if c.label == "Select"]
    boxes[1].check().run()
    assert any("The 1 ticked passages" in c.value for c in at.caption)


def test_empty_question_asks_for_one(app):
    at = app()
    assert any("Type a question" in i.value for i in at.info)
    assert not _cards(at)


HOSTILE_TXT = (
    "Findings on custody\n\n"
    "Custody records showed <script>alert('x')</script> and <img src=x onerror=alert(1)> in a free-text field, "
    "which the force says came from a copied web form about custody reviews.\n"
)


def test_first_run_builds_the_index_and_renders_document_markup_inert(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "custody-note.txt").write_text(HOSTILE_TXT, encoding="utf-8")
    index_dir = tmp_path / "fresh-index"
    monkeypatch.setenv("PEEL_INDEX", str(index_dir))
    monkeypatch.setenv("PEEL_DATA", str(corpus))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["q"] = "custody records free-text field"
    at.run()
    assert not at.exception, at.exception
    from index import api

    assert api.index_exists(index_dir)  # built on first run instead of failing
    assert any("Index built" in s.label for s in at.status)
    cards = " ".join(_cards(at))
    assert "&lt;script&gt;alert(" in cards
    assert "<script" not in cards and "<img" not in cards


def test_the_app_names_its_model_follows_a_background_adaptation_and_switches_index(tmp_path, monkeypatch):
    import os

    from index import api
    from index.models.adapt_status import AdaptStatus, write_status

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "custody-note.txt").write_text(HOSTILE_TXT, encoding="utf-8")
    index_dir, model_dir = tmp_path / "index", tmp_path / "model"
    api.build([corpus], index_dir, model=None)
    monkeypatch.setenv("PEEL_INDEX", str(index_dir))
    monkeypatch.setenv("PEEL_MODEL", str(model_dir))
    write_status(model_dir, AdaptStatus("adapting", base_model="sentence-transformers/all-mpnet-base-v2",
                                        step=3, steps=38, pid=os.getpid()))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Model: all-MiniLM-L6-v2 (packaged, not adapted)" in captions.replace("\\", "")
    bars = [p for p in at.sidebar.get("progress")]
    assert any("all-mpnet-base-v2" in str(p.proto) and "step 3 of 38" in str(p.proto) for p in bars)

    # the background job swaps in a new index and says it is done: the next run opens it
    (corpus / "victims-note.txt").write_text("Supporting victims\n\n" + "Victims of crime are told how their "
                                             "case is progressing by a named officer in every district.\n")
    api.build([corpus], index_dir, model=None)
    write_status(model_dir, AdaptStatus("done", base_model="sentence-transformers/all-mpnet-base-v2",
                                        step=38, steps=38, pid=os.getpid()))
    at.run()
    assert not at.exception, at.exception
    documents = next(m for m in at.sidebar.multiselect if m.label == "Documents")
    assert any("victims" in str(o).lower() for o in documents.options)
    assert not [p for p in at.sidebar.get("progress")]
