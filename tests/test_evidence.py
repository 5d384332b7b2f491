"""Sentence-level dense evidence (index.engine.sentence_vectors): spans, the stored table, and what it buys."""

from __future__ import annotations

import numpy as np
import pytest

from index import api
from index.engine import sentence_vectors as evidence
from index.engine.sentence_vectors import SentenceTable
from ingest.sentences import MAX_CHARS, evidence_spans
from index.engine.searcher import Searcher
from index.engine.build import build_index
from ingest.records import Chunk

# An answering sentence buried among unrelated ones, and a passage that is vaguely about the
# same subject throughout but answers nothing.
BURIED = [
    "The estates team sold two police stations and refurbished the headquarters canteen.",
    "Fleet vehicles are replaced every five years under a new leasing contract.",
    "The force moved its payroll to a shared finance system with a neighbouring force.",
    "Firearms licensing applications are processed within the national target.",
    "Callers to the 101 non-emergency number waited twenty minutes on average before an answer.",
    "The custody suites were repainted and new cell call buttons were fitted.",
    "Procurement of body-worn video cameras was completed in March.",
    "The dog unit and the mounted section now share a training ground.",
]
VAGUE = [
    "The control room handles both emergency and non-emergency demand from the public.",
    "Its staffing levels and shift patterns were reviewed during the year.",
    "Public contact and call handling remain priorities in the police and crime plan.",
]
QUESTION = "How long did people phoning the non-emergency line have to wait?"


def _chunk(chunk_id: str, text: str, position: int) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id="report", title="Annual report", force="Essex",
                 years=[2017], doc_type="peel_report", section=["Contact"], text=text,
                 char_start=0, char_end=len(text), page=None, n_tokens=len(text) // 4,
                 source="report.txt", position=position)


@pytest.fixture(scope="module")
def two_chunk_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("evidence") / "index"
    chunks = [_chunk("report:buried", "\n".join(BURIED), 0), _chunk("report:vague", "\n".join(VAGUE), 1)]
    build_index(chunks, path, progress=False)
    return Searcher.open(path)


def test_buried_answer_outranks_a_vaguely_related_passage(two_chunk_index, monkeypatch):
    # Chunk vectors alone put the vague passage first; its best sentence lifts the other.
    monkeypatch.setattr(evidence, "SENTENCE_WEIGHT", 0.0)
    assert [h.chunk_id for h in two_chunk_index.search(QUESTION, k=2, mode="dense")] == [
        "report:vague", "report:buried"]
    monkeypatch.undo()
    for mode in ("dense", "hybrid"):
        assert two_chunk_index.search(QUESTION, k=2, mode=mode)[0].chunk_id == "report:buried", mode


def test_spans_skip_one_word_lines_and_fall_back_to_the_whole_text():
    text = "Good\nThe force is good at protecting vulnerable people. It works well with partners."
    spans = evidence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "The force is good at protecting vulnerable people.", "It works well with partners."]
    assert evidence_spans("  Outstanding  ") == [(2, 13)]
    assert evidence_spans("   ") == []


def test_best_similarity_matches_a_brute_force_max():
    rng = np.random.default_rng(3)
    counts = [2, 0, 5, 1]
    vecs = rng.normal(size=(sum(counts), 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    table = SentenceTable(offsets, np.zeros((len(vecs), 2), np.int32), vecs)
    q = rng.normal(size=8).astype(np.float32)
    got = table.best_similarity([3, 0, 1, 2], q)
    want = [max(vecs[offsets[r]:offsets[r + 1]] @ q) if counts[r] else np.nan for r in (3, 0, 1, 2)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.isnan(got[2])
    with pytest.raises(ValueError):
        SentenceTable(offsets, np.zeros((3, 2), np.int32), vecs)


def test_index_stores_the_models_vector_of_every_evidence_sentence(bundled_searcher):
    s = bundled_searcher
    rng = np.random.default_rng(0)
    rows = rng.choice(len(s.chunks), size=12, replace=False)
    texts, stored = [], []
    for row in rows:
        chunk = s.chunks[int(row)]
        by_span = s.sentence_vectors(chunk.chunk_id)
        assert sorted(by_span) == evidence_spans(chunk.text)
        for (a, b), vec in by_span.items():
            texts.append(chunk.text[a:b][: MAX_CHARS])
            stored.append(vec)
    fresh = s.embedder.encode(texts)
    cos = np.sum(fresh * np.stack(stored), axis=1)
    assert cos.min() > 0.9999


def test_ask_scores_sentences_from_the_index_without_running_the_model(bundled_index, monkeypatch):
    # A fresh searcher whose model records what it is asked to embed: only question
    # variants, never a sentence of a passage (the index already holds those).
    searcher = api.open_index(bundled_index)
    encoded: list[str] = []
    real_encode = searcher.embedder.encode

    def recording(texts, *args, **kwargs):
        encoded.extend(texts)
        return real_encode(texts, *args, **kwargs)

    monkeypatch.setattr(searcher.embedder, "encode", recording)
    answer = api.ask(searcher, "What was the average wait for a 101 call in August 2017?")
    sentences = [e.sentence for _, group in answer.groups for e in group]
    assert answer.strong
    assert any("4 minutes 38 seconds" in s for s in sentences)
    assert encoded and len(encoded) <= 3, encoded
    assert not any(text in chunk.text for text in encoded for chunk in searcher.chunks)
