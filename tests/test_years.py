"""Years: the expressions reports write, passage years from text and headings, document periods."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.chunking import Chunker, ChunkerSettings
from ingest.pipeline import load_corpus
from ingest.readers.markdown import read_markdown
from ingest.records import Chunk, DocumentMeta
from ingest.years import (
    document_period,
    passage_years,
    section_years,
    year_spans,
    years_in,
)


@pytest.mark.parametrize(
    "text, years",
    [
        ("Crime rose in 2016.", [2016]),
        ("in the year to 30 June 2016", [2016]),
        ("the 2018/19 inspection", [2018, 2019]),
        ("the 2018-19 inspection", [2018, 2019]),
        ("the 2014/2015 figures", [2014, 2015]),
        ("from 2016–18 the force", [2016, 2017, 2018]),
        ("from 2016 to 2018", [2016, 2017, 2018]),
        ("between 2014 and 2017", [2014, 2015, 2016, 2017]),
        ("the strategy 2017–20", [2017, 2018, 2019, 2020]),
        ("budget for FY 2017/18", [2017, 2018]),
        ("budget for FY17/18", [2017, 2018]),
        ("2013/14 to 2017/18 data", [2013, 2014, 2015, 2016, 2017, 2018]),
        ("our 2016 and 2017 inspections", [2016, 2017]),
        ("on 12/05/2016 and 2017-03-01", [2016, 2017]),
        ("between 1995 and 2030", [1995, 2030]),  # past the cap: the two ends only
    ],
)
def test_year_forms(text, years):
    assert years_in(text) == years


def test_spans_point_at_the_expression():
    text = "Between 2014 and 2017 demand rose; in 2018/19 it fell."
    spans = year_spans(text)
    assert [text[s.start : s.end] for s in spans] == ["Between 2014 and 2017", "2018/19"]
    assert [s.kind for s in spans] == ["range", "financial"]
    assert spans[1].years == (2018, 2019)


@pytest.mark.parametrize(
    "text",
    [
        "It cost £2016 to run.",
        "It cost £2,016.",
        "There were 2,016 calls.",
        "Satisfaction was 2016% of target.",
        "See page 2016 and paragraph 2017.",
        "Call 101 or 999.",
        "Ring 0300 333 2016 for help.",
        "Case ref 2016 was closed; ID 2017 too.",
        "The force had 2016 officers and 2017 staff.",
        "Crime number 2016/123 was filed.",
        "under the Serious Crime Act 2007",
        "Published: 2 May 2019",
        "Tuesday, January 31, 2023",
        "in 1989 and in 2036",
        "the 2010s",
        "a score of 2016.5",
    ],
)
def test_numbers_that_are_not_years(text):
    assert years_in(text) == []


def test_relative_years_follow_the_anchor():
    assert years_in("Last year the force improved.", anchor=2018) == [2017]
    assert years_in("compared with the previous year", anchor=2018) == [2017]
    assert years_in("This year it set up a hub.", anchor=2018) == [2018]
    assert years_in("It plans more next year.", anchor=2018) == [2019]
    assert years_in("over the last year", anchor=2018) == []  # the last twelve months: the anchor's own time
    assert years_in("Last year the force improved.") == []  # no anchor, no guess


def test_nearest_dated_heading_wins_and_looking_back_adds():
    assert section_years(["Kent PEEL 2018/19", "Kent 2015 – effectiveness", "Victims"]) == [2015]
    assert section_years(["Surrey 2017 – overall assessment"], outer=[2018]) == [2017]
    assert section_years(["Findings", "Progress since 2015"], outer=[2016]) == [2015, 2016]
    assert section_years(["Findings"], outer=[2016]) == [2016]


def test_passage_years_from_text_section_and_fallback():
    section = [["Kent 2018 – effectiveness"]]
    assert passage_years("Compared with 2014, crime fell.", section) == [2014, 2018]
    assert passage_years("Crime fell.", [["Findings"]], fallback=[2015, 2016]) == [2015, 2016]
    assert passage_years("Last year crime fell.", [["2018/19 assessment"]]) == [2017, 2018, 2019]
    # a merged chunk keeps each part's dated heading
    assert passage_years("Crime fell.", [["Kent 2015"], ["Kent 2017"]]) == [2015, 2017]


def test_document_period_ignores_stray_citations():
    passages = ["In 2016 crime fell."] * 5 + ["In 2017 it rose."] * 3 + ["The 2010 review said so."]
    assert document_period("Kent report", "kent.txt", [], passages) == [2016, 2017]
    assert document_period("Kent 2016", "kent.txt", ["Since 2013"], ["No years."]) == [2013, 2014, 2015, 2016]
    # years after the title's are plans, not what the report covers
    assert document_period("Kent 2016", "kent.txt", [], ["Done by 2019."] * 4) == [2016]
    assert document_period("Notes", "notes.txt", [], ["In 2014 it began.", "By 2015."]) == [2015]
    assert document_period("Notes", "notes.txt", [], ["No years here."]) == []


KENT = """# Kent Police PEEL assessments

This page brings together the inspectorate's assessments of Kent Police, with the
judgments from each inspection and what the force has done in response to them. Each
assessment looks at how well the force keeps people safe, investigates crime, protects
vulnerable people and plans for the demand it will face.

## Kent 2015 – effectiveness

Kent Police was good at keeping people safe and reducing crime. Inspectors found that
neighbourhood teams knew their communities well and that the force worked closely with
local councils. The handling of domestic abuse calls required improvement, because
officers did not always record risk assessments at the scene.

## Kent 2017 – effectiveness

Kent Police remained good at keeping people safe. Compared with 2015, officers now record
risk assessments for nearly every domestic abuse call, and supervisors check them the
same day. The force still had too few detectives, and some investigations were slow to
start, which meant that evidence was sometimes lost before it could be gathered.

## 2018/19 assessment

Kent Police was outstanding at preventing crime. The force had recruited more detectives
and investigations were allocated within a day of the crime being reported. Victims said
they were kept informed, and the force used its data well to understand demand and to
plan its workforce for the coming years.
"""


def _kent_chunks(tmp_path: Path, manifest: str | None = None):
    folder = tmp_path / "kent"
    folder.mkdir(parents=True)
    (folder / "kent-peel-assessments.md").write_text(KENT, encoding="utf-8")
    if manifest:
        (folder / "manifest.toml").write_text(manifest, encoding="utf-8")
    result = load_corpus([folder])
    (meta,) = result.documents
    by_section = {c.section[-1]: c for c in result.chunks}
    return meta, result.chunks, by_section


def test_multi_period_page_dates_each_section(tmp_path):
    meta, chunks, by_section = _kent_chunks(tmp_path)
    assert meta.years == [2015, 2016, 2017, 2018, 2019]
    assert "years" in meta.inferred
    assert by_section["Kent 2015 – effectiveness"].years == [2015]
    assert by_section["Kent 2017 – effectiveness"].years == [2015, 2017]  # its section and the year it compares with
    assert by_section["2018/19 assessment"].years == [2018, 2019]
    assert by_section["Kent Police PEEL assessments"].years == meta.years  # names no year: the document's period
    for c in chunks:
        assert c.doc_years == meta.years
        assert c.year == 2019  # a citation shows the document's year, not the passage's


def test_manifest_years_override_the_period(tmp_path):
    manifest = '[[document]]\nid = "kent"\nfile = "kent-peel-assessments.md"\ntitle = "Kent PEEL"\nyears = [2018, 2019]\n'
    meta, chunks, by_section = _kent_chunks(tmp_path, manifest)
    assert meta.years == [2018, 2019] and "years" not in meta.inferred
    assert by_section["Kent 2015 – effectiveness"].years == [2015]  # a dated heading still wins
    assert by_section["Kent Police PEEL assessments"].years == [2018, 2019]
    assert all(c.doc_years == [2018, 2019] and c.year == 2019 for c in chunks)


def test_years_do_not_change_chunk_ids(tmp_path):
    _, plain, _ = _kent_chunks(tmp_path / "a")
    manifest = '[[document]]\nid = "kent-peel-assessments"\nfile = "kent-peel-assessments.md"\nyears = [2010]\n'
    _, listed, _ = _kent_chunks(tmp_path / "b", manifest)
    assert [c.chunk_id for c in plain] == [c.chunk_id for c in listed]
    assert [c.years for c in plain] != [c.years for c in listed]


def test_merged_small_sections_keep_both_dated_headings():
    md = "# Kent PEEL\n\n## Kent 2015\n\nThe force was good.\n\n## Kent 2017\n\nThe force was good.\n"
    meta = DocumentMeta(doc_id="k", title="Kent PEEL", source="k.md")
    (chunk,) = Chunker(ChunkerSettings(min_tokens=50)).chunk(read_markdown("k.md", md), meta)
    assert chunk.years == [2015, 2017]


def test_old_chunk_records_still_read():
    old = {
        "chunk_id": "d#1", "doc_id": "d", "title": "T", "force": None, "years": [2016, 2017],
        "doc_type": "unknown", "section": [], "text": "x", "char_start": 0, "char_end": 1,
        "page": None, "n_tokens": 1, "source": "d.txt", "position": 0,
    }
    chunk = Chunk.from_dict(old)
    assert chunk.doc_years == [] and chunk.year == 2017
    assert Chunk.from_dict(chunk.to_dict()) == chunk


SURREY_TXT = """Surrey Police: our inspections

Surrey 2016 – police effectiveness

Introduction

This inspection looked at how well Surrey Police keeps people safe and reduces crime.
Officers in neighbourhood teams knew the areas they policed and the people who lived there.

Protecting vulnerable people

The force did not always identify repeat victims of domestic abuse when they called.

Surrey 2018/19 – effectiveness, efficiency and legitimacy

Overview

Surrey Police has improved the way it identifies repeat victims when they call the force.
Call handlers now check previous contact before they grade the response to a call.
"""

GRADES_TXT = """Force grades

Effectiveness 2016

Good

Leadership 2016

Introduction

The force has a plan for the coming year that it shares with its partners and the public.
"""


def test_dated_parts_of_a_plain_text_page_date_their_passages(tmp_path):
    (tmp_path / "surrey-inspections.txt").write_text(SURREY_TXT, encoding="utf-8")
    chunks = load_corpus([tmp_path]).chunks
    first = next(c for c in chunks if "repeat victims of domestic abuse" in c.text)
    second = next(c for c in chunks if "improved the way it identifies" in c.text)
    # Neither passage names a year; each takes its inspection's from the part it sits in.
    assert first.years == [2016] and first.section[0] == "Surrey 2016 – police effectiveness"
    assert second.years == [2018, 2019] and second.section[0].startswith("Surrey 2018/19")


def test_one_dated_heading_before_a_part_is_not_a_period(tmp_path):
    from ingest.readers.text import read_text

    doc = read_text("grades.txt", GRADES_TXT)
    assert all(b.level >= 1 for b in doc.blocks if b.kind == "heading")


def test_evidence_period_is_the_passages_own_only_in_a_many_inspection_document():
    from index.query.periods import evidence_period

    assert evidence_period([2017], [2018, 2019]) == [2018, 2019]  # one report looking back: its own period
    assert evidence_period([2016], [2014, 2015, 2016, 2017, 2018, 2019]) == [2016]
    assert evidence_period([2018, 2019], [2016, 2017, 2018, 2019]) == [2018, 2019]
    assert evidence_period([2014, 2016], [2014, 2015, 2016, 2017]) == [2014, 2015, 2016, 2017]  # not one inspection
    assert evidence_period([2016], []) == [2016]


def test_a_change_question_over_a_many_inspection_page_answers_part_by_part(tmp_path):
    from index import api

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "surrey-inspections.txt").write_text(SURREY_TXT, encoding="utf-8")
    api.build([corpus], tmp_path / "index", model=None)
    searcher = api.open_index(tmp_path / "index")
    answer = api.ask(searcher, "How did identifying repeat victims change between 2016 and 2018/19?")
    assert answer.temporal
    groups = {label: " ".join(e.sentence for e in evidence) for label, evidence in answer.groups}
    assert list(groups) == ["2016", "2018/19"]
    assert "did not always identify repeat victims" in groups["2016"]
    assert "improved the way it identifies repeat victims" in groups["2018/19"]
