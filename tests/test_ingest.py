"""Ingest: readers for plain text and markdown, heading paths, chunk budgets, offsets, ids."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.chunking import Chunker, ChunkerSettings
from ingest.pipeline import load_corpus, read_document
from ingest.readers.markdown import read_markdown
from ingest.readers.text import read_text
from ingest.records import DocumentMeta, alnum_key
from ingest.tokens import count_tokens

DATA = Path(__file__).resolve().parent.parent / "data"
REPORT_2016 = DATA / "essex-peel-2016-effectiveness.txt"

CORE_QUESTIONS = [
    "How effective is the force at preventing crime, tackling anti-social behaviour and keeping people safe?",
    "How effective is the force at investigating crime and reducing re-offending?",
    "How effective is the force at protecting those who are vulnerable from harm, and supporting victims?",
    "How effective is the force at tackling serious and organised crime?",
    "How effective are the force’s specialist capabilities?",
]


@pytest.fixture(scope="module")
def corpus():
    return load_corpus([DATA])


def test_bundled_corpus_ingests_every_file(corpus):
    assert corpus.skipped == []
    ids = {d.doc_id for d in corpus.documents}
    assert ids == {
        "essex-peel-2016-effectiveness",
        "essex-peel-2018-19-report",
        "essex-peel-2018-19-web-summary",
        "essex-hmic-inspection-news-article",
        "essex-police-crime-plan-progress-2017",
    }
    meta = {d.doc_id: d for d in corpus.documents}
    assert meta["essex-peel-2018-19-report"].years == [2018, 2019]
    assert meta["essex-peel-2016-effectiveness"].doc_type == "peel-report"
    assert all(d.inferred == [] for d in corpus.documents)  # all five come from the manifest


def test_every_chunk_offset_matches_its_source(corpus):
    for chunk in corpus.chunks:
        source = Path(chunk.source).read_text(encoding="utf-8")
        assert alnum_key(source[chunk.char_start : chunk.char_end]) == alnum_key(chunk.text), chunk.chunk_id
        assert chunk.text.strip()


def test_almost_every_chunk_has_a_section_path(corpus):
    with_path = sum(1 for c in corpus.chunks if c.section)
    assert with_path / len(corpus.chunks) >= 0.95


def test_2016_core_questions_are_top_level_sections(corpus):
    sections = {tuple(c.section[:1]) for c in corpus.chunks if c.doc_id == "essex-peel-2016-effectiveness"}
    tops = {alnum_key(s[0]) for s in sections if s}
    for question in CORE_QUESTIONS:
        assert alnum_key(question) in tops, question


def test_wrapped_question_heading_is_one_heading():
    text = (
        "Some body text that runs across the whole width of the page, as body text does in these.\n"
        "\n"
        " How effective is the force at preventing crime, \n"
        "tackling anti-social behaviour and keeping people \n"
        "safe? \n"
        "\n"
        "The police’s ability to prevent crime and anti-social behaviour and to keep people \n"
        "safe is a principal measure of its effectiveness.\n"
        "\n"
        "How much crime and anti-social behaviour is there in \n"
        "Essex? \n"
        "Although police-recorded crime is by no means a complete measure of the totality of \n"
        "demand for calls on its service that a force faces, it does provide a partial indication.\n"
    )
    doc = read_text("t.txt", text)
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [
        ("How effective is the force at preventing crime, tackling anti-social behaviour and keeping people safe?", 1),
        ("How much crime and anti-social behaviour is there in Essex?", 2),
    ]


def test_furniture_captions_and_footnotes_are_not_content():
    text = (
        "Introduction\n"
        "\n"
        "UNDER EMBARGO\n"
        "The force has a structured and collaborative approach to problem solving and there are good examples of \n"
        "                                            \n"
        "2 HMIC judgments are outstanding, good, requires improvement and inadequate. \n"
        " partnership working, such as with local councils.\n"
        "\n"
        "UNDER EMBROIDERY\n"
        "\n"
        " Figure 1: Police-recorded crime rates (per 1,000 population) in Essex, for the five year period \n"
        "to 30 June 2016\n"
        "\n"
        "Source: Home Office data \n"
        "For further information about these data, please see annex A \n"
        "\n"
        "Skip to content\n"
        "Crime rose by a tenth over five years.\n"
    )
    doc = read_text("t.txt", text)
    content = " ".join(b.text for b in doc.blocks)
    for junk in ("EMBARGO", "EMBROIDERY", "HMIC judgments", "Figure 1", "Source:", "annex A", "Skip to content"):
        assert junk not in content
    assert "partnership working, such as with local councils." in content
    assert "Crime rose by a tenth" in content
    for block in doc.blocks:
        assert alnum_key(doc.text[block.start : block.end]) == alnum_key(block.text)


def test_chunk_never_bridges_left_out_text():
    text = (
        "Introduction\n\n"
        "First half of a sentence that continues \n"
        "                                            \n"
        "3 A footnote that is not content. \n"
        " on the next page after the footnote.\n"
    )
    doc = read_text("t.txt", text)
    meta = DocumentMeta(doc_id="t", title="T", source="t.txt")
    chunks = Chunker().chunk(doc, meta)
    assert all("footnote that is not" not in c.text for c in chunks)
    for c in chunks:
        assert alnum_key(text[c.char_start : c.char_end]) == alnum_key(c.text)


def test_markdown_headings_bold_subheadings_tables_and_banners():
    md = (
        "UNDER EMBARGO UNTIL 00.01 ON THURSDAY 2 MAY 2019\n\n"
        "# Contents\n\nWhat this report contains\t1\nForce in context\t3\n\n"
        "# Effectiveness\n\n"
        "## Investigating crime\n\n"
        "### Good\n\n"
        "Essex Police is good at investigating crime.\n\n"
        "### **Supporting vulnerable victims**\n\n"
        "The force uses <b>DVPOs</b> well.\n\n"
        "UNDER EMBROIDERY\n\n"
        "<b>Area</b>\t<b>Grade</b>\nInvestigating crime\tGood\n"
    )
    doc = read_markdown("r.md", md)
    meta = DocumentMeta(doc_id="r", title="R", source="r.md")
    chunks = Chunker(ChunkerSettings(min_tokens=0)).chunk(doc, meta)
    text = "\n".join(c.text for c in chunks)
    assert "EMBARGO" not in text and "EMBROIDERY" not in text
    assert "What this report contains" not in text  # the table of contents is navigation
    assert "Investigating crime | Good" in text
    sections = [c.section for c in chunks]
    assert ["Effectiveness", "Investigating crime"] in sections  # a grade is not a section
    assert ["Effectiveness", "Investigating crime", "Supporting vulnerable victims"] in sections
    for c in chunks:
        assert alnum_key(md[c.char_start : c.char_end]) == alnum_key(c.text)


def test_no_chunk_exceeds_its_budget_by_the_models_own_tokenizer(corpus):
    from transformers import AutoTokenizer

    from ingest.tokens import default_model_path

    path = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    limit = ChunkerSettings().model_max_length
    for chunk in corpus.chunks:
        assert count_tokens(chunk.embed_text()) <= ChunkerSettings().max_tokens
        n = len(tokenizer(chunk.embed_text(), truncation=False)["input_ids"])
        assert n <= limit, (chunk.chunk_id, n)


def test_long_paragraph_splits_at_sentences_within_budget():
    sentence = "The force reviewed {} domestic abuse cases and found that officers had assessed risk correctly. "
    text = "Findings\n\n" + "".join(sentence.format(i) for i in range(60)) + "\n"
    doc = read_text("long.txt", text)
    chunks = Chunker().chunk(doc, DocumentMeta(doc_id="long", title="Long", source="long.txt"))
    assert len(chunks) > 1
    for c in chunks:
        assert c.n_tokens <= ChunkerSettings().max_tokens
        assert c.text.endswith("correctly.")  # cut at a sentence boundary, not mid-sentence
        assert alnum_key(text[c.char_start : c.char_end]) == alnum_key(c.text)


def test_chunk_ids_are_stable_and_local(tmp_path):
    original = REPORT_2016.read_text(encoding="utf-8")
    (tmp_path / "r.txt").write_text(original, encoding="utf-8")
    first = [c.chunk_id for c in load_corpus([tmp_path]).chunks]
    again = [c.chunk_id for c in load_corpus([tmp_path]).chunks]
    assert first == again
    assert len(set(first)) == len(first)
    # An edit near the end leaves the ids of the earlier chunks as they were.
    (tmp_path / "r.txt").write_text(original + "\nA new closing paragraph was added by the inspectorate.\n", encoding="utf-8")
    edited = [c.chunk_id for c in load_corpus([tmp_path]).chunks]
    assert edited[: len(first) - 1] == first[: len(first) - 1]


def test_broken_files_are_skipped_with_reasons_and_the_rest_ingested(tmp_path):
    (tmp_path / "good.txt").write_text("Introduction\n\nEssex Police is good at keeping people safe.\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "cp1252.txt").write_bytes("Summary\n\nIt cost \xa35m \x93so far\x94.\n".encode("latin-1"))
    result = load_corpus([tmp_path])
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert set(reasons) == {"binary.txt", "empty.md"}
    assert "binary" in reasons["binary.txt"] and "empty" in reasons["empty.md"]
    texts = " ".join(c.text for c in result.chunks)
    assert "Essex Police is good" in texts
    assert "£5m “so far”" in texts


def test_file_without_manifest_gets_inferred_metadata(tmp_path):
    text = (
        "PEEL: Police effectiveness 2017\n\nAn inspection of Kent Police\n\n"
        "Introduction\n\nKent Police is good at keeping people safe. Kent Police works with partners.\n"
    )
    (tmp_path / "kent-2017.txt").write_text(text, encoding="utf-8")
    result = load_corpus([tmp_path])
    (meta,) = result.documents
    assert meta.doc_id == "kent-2017"
    assert meta.force == "Kent Police"
    assert meta.years == [2017]
    assert meta.doc_type == "peel-report"
    assert {"title", "force", "years"} <= set(meta.inferred)


def test_web_summary_chunks_point_at_the_report_they_repeat(corpus):
    by_id = {c.chunk_id: c for c in corpus.chunks}
    summary = [c for c in corpus.chunks if c.doc_id == "essex-peel-2018-19-web-summary"]
    dups = [c for c in summary if c.dup_of]
    assert len(dups) >= len(summary) // 2
    for c in dups:
        original = by_id[c.dup_of]
        assert original.doc_id == "essex-peel-2018-19-report"
        words = set(re.findall(r"[a-z]+", c.text.lower()))
        assert len(words & set(re.findall(r"[a-z]+", original.text.lower()))) / len(words) > 0.5
    # Nothing in the full report is marked as a copy of the summary.
    assert not any(c.dup_of and by_id[c.dup_of].doc_id.endswith("web-summary") for c in corpus.chunks)


def test_read_document_names_unsupported_types(tmp_path):
    p = tmp_path / "notes.docx"
    p.write_bytes(b"PK\x03\x04")
    from ingest.pipeline import ReadError

    with pytest.raises(ReadError, match="unsupported file type"):
        read_document(p)
