"""The engine room's read helpers and the one statement of the filter rules, on a small
synthetic index built with stand-in vectors (the model is loaded, never run)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from index.engine import Filters, IndexOpenError, Searcher, build_index, index_exists, read_chunks
from index.engine.filters import FilterIndex
from index.engine.versions import current_folder
from index.models.embedder import load_model
from ingest.records import Chunk

# doc_id: (force, years, doc_type); every chunk of a document carries its metadata
_DOCS = {
    "essex-2016": ("Essex", [2016], "peel_report"),
    "essex-2018": ("Essex", [2018, 2019], "peel_report"),
    "kent-2017": ("Kent", [2017], "peel_report"),
    "kent-news": ("kent ", [2019], "news"),
    "plan": ("Surrey", [2015, 2017], "crime_plan"),
    "undated": (None, [], "guidance"),
}


def _chunks() -> list[Chunk]:
    out = []
    for doc_id, (force, years, doc_type) in _DOCS.items():
        for pos in range(2):
            text = f"{doc_id} passage {pos} about custody, victims and call handling."
            out.append(Chunk(
                chunk_id=f"{doc_id}:{pos}", doc_id=doc_id, title=doc_id, force=force,
                # a document's years spread over its chunks: the first has only the earliest
                years=list(years[:1]) if pos == 0 else list(years), doc_type=doc_type,
                section=[], text=text, char_start=0, char_end=len(text), page=1,
                n_tokens=len(text.split()), source=f"data/{doc_id}.txt", position=pos,
            ))
    return out


CHUNKS = _chunks()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    dims = load_model().dims
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("engine") / "index"
    build_index(
        CHUNKS, path, progress=False,
        vectors=rng.normal(size=(len(CHUNKS), dims)).astype(np.float32),
        sentence_encoder=lambda texts: rng.normal(size=(len(texts), dims)).astype(np.float32),
    )
    return path


def _filter_spread() -> list[Filters]:
    years = [(None, None), (2016, None), (None, 2016), (2017, 2017), (2019, 2025), (2020, None), (2015, 2018)]
    forces = [None, ["essex"], ["Kent"], ["Kent", "Nowhere"], []]
    types = [None, ["peel_report"], ["NEWS", "crime_plan"]]
    ids = [None, ["essex-2018", "undated"], ["kent-2017"]]
    return [
        Filters(year_from=lo, year_to=hi, forces=f, doc_types=t, doc_ids=d)
        for (lo, hi), f, t, d in itertools.product(years, forces, types, ids)
    ]


def test_allows_document_agrees_with_its_chunks(built):
    s = Searcher.open(built)
    docs = s.documents()
    assert {d["doc_id"] for d in docs} == set(_DOCS)
    mask_of = FilterIndex(s.chunks)
    for f in _filter_spread():
        mask = mask_of.mask(f)
        for doc in docs:
            chunks = s.doc_chunks(doc["doc_id"])
            any_chunk = any(f.matches(c) for c in chunks)
            assert f.allows_document(doc) == any_chunk, (f, doc["doc_id"])
            if mask is not None:  # and the vectorised rules say the same per chunk
                rows = [s.chunks.index(c) for c in chunks]
                assert [bool(mask[r]) for r in rows] == [f.matches(c) for c in chunks], f


def test_allows_document_on_a_bare_summary():
    doc = {"doc_id": "x", "years": [2016, 2018], "force": "Essex", "doc_type": "peel_report"}
    assert Filters(year_from=2017, year_to=2018, forces="essex").allows_document(doc)
    assert not Filters(year_from=2017, year_to=2017).allows_document(doc)
    assert not Filters(forces=["Essex"]).allows_document({"doc_id": "y", "years": []})
    assert not Filters(year_from=2000).allows_document({"doc_id": "y"})
    assert Filters().allows_document({})


def test_index_exists_and_read_chunks(built, tmp_path):
    assert index_exists(built)
    assert [c.to_dict() for c in read_chunks(built)] == [c.to_dict() for c in CHUNKS]
    missing = tmp_path / "nothing"
    assert not index_exists(missing)
    with pytest.raises(IndexOpenError, match="No index at"):
        read_chunks(missing)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    assert not index_exists(tmp_path / "other")


def test_read_chunks_of_a_legacy_folder_and_on_damage(built, tmp_path):
    import shutil

    path = tmp_path / "index"
    shutil.copytree(current_folder(built), path)  # the flat layout of indexes written before versions
    assert index_exists(path)
    assert len(read_chunks(path)) == len(CHUNKS)
    with open(path / "chunks.jsonl", "a", encoding="utf-8") as f:
        f.write("{not json\n")
    with pytest.raises(IndexOpenError, match="cannot be read.*peel ingest --rebuild"):
        read_chunks(path)
    (path / "chunks.jsonl").write_text(json.dumps({"chunk_id": "a"}) + "\n")
    with pytest.raises(IndexOpenError, match="cannot be read"):
        read_chunks(path)
