"""The index folder and the Searcher, on small synthetic chunks and the real packaged model."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import json
import shutil
import threading
from pathlib import Path

import faiss
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index import Filters, IndexOpenError, Searcher, build_index
from index.engine import build as store
from index.engine import layout
from index.engine.bm25 import BM25Index, tokenize
from index.engine.filters import FilterIndex
from index.engine.versions import current_folder
from index.models.embedder import load_model
from index.engine import sentence_vectors as evidence
from ingest.sentences import evidence_spans
from ingest.records import Chunk, corpus_fingerprint

# --- synthetic corpus -------------------------------------------------------------------

_DOCS = {
    # doc_id: (title, force, years, doc_type)
    "essex-2016": ("Essex PEEL 2016: Effectiveness", "Essex", [2016], "peel_report"),
    "essex-2018": ("Essex PEEL 2018/19", "Essex", [2018, 2019], "peel_report"),
    "kent-2017": ("Kent PEEL 2017: Legitimacy", "Kent", [2017], "peel_report"),
    "essex-news": ("Inspectors praise Essex call handling", "Essex", [2019], "news"),
    "essex-plan": ("Police and crime plan progress", "Essex", [2016, 2017], "crime_plan"),
    "undated": ("Guidance note", None, [], "guidance"),
}

_TEXTS = [
    # (doc_id, section, text, dup_of)
    ("essex-2016", ["Protecting vulnerable people"], "Officers identify vulnerable victims of domestic abuse at the first call and refer them to specialist support services.", None),
    ("essex-2016", ["Protecting vulnerable people", "Missing children"], "The force does not always respond quickly when children go missing from care homes, and return interviews are often late.", None),
    ("essex-2016", ["Investigating crime"], "Investigations are supervised well and most victims are kept informed of progress.", None),
    ("essex-2016", ["Legitimacy", "Stop and search"], "Officers record the grounds for stop and search encounters, but the force does not analyse why black people are searched more often.", None),
    ("essex-2018", ["Legitimacy", "Stop and search"], "Officers record the grounds for stop and search encounters, but the force does not analyse why black people are searched more often.", "essex-2016:3"),
    ("essex-2018", ["Call handling"], "Emergency 999 calls are answered promptly, but non-emergency 101 calls wait far too long in the control room.", None),
    ("essex-2018", ["Neighbourhood policing"], "Neighbourhood teams are often taken away from local problem solving to cover response shifts.", None),
    ("essex-2018", ["Custody"], "Detainees in custody are treated with respect and their welfare is checked regularly.", None),
    ("kent-2017", ["Legitimacy", "Stop and search"], "Kent publishes stop and search data monthly and an external panel scrutinises body-worn video footage.", None),
    ("kent-2017", ["Custody"], "Custody suites in Kent are clean and safe, and mental health nurses are on site around the clock.", None),
    ("essex-news", [], "Inspectors said call handlers in the force control room now answer emergency calls faster than the national average.", None),
    ("essex-plan", ["Priority 2"], "The commissioner funded extra domestic abuse advocates to support victims through court.", None),
    ("essex-plan", ["Priority 5"], "Rural crime teams target theft of farm machinery and fly-tipping in the countryside.", None),
    ("undated", [], "Guidance on recording crime accurately so that victims receive the service they need.", None),
]


def make_chunks(texts=_TEXTS, docs=_DOCS) -> list[Chunk]:
    chunks = []
    position: dict[str, int] = {}
    for doc_id, section, text, dup_of in texts:
        title, force, years, doc_type = docs[doc_id]
        pos = position.get(doc_id, 0)
        position[doc_id] = pos + 1
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}:{pos}",
                doc_id=doc_id,
                title=title,
                force=force,
                years=list(years),
                doc_type=doc_type,
                section=list(section),
                text=text,
                char_start=pos * 1000,
                char_end=pos * 1000 + len(text),
                page=pos + 1,
                n_tokens=len(text.split()),
                source=f"data/{doc_id}.txt",
                position=pos,
                dup_of=dup_of,
            )
        )
    return chunks


CHUNKS = make_chunks()
BY_ID = {c.chunk_id: c for c in CHUNKS}


@pytest.fixture(scope="session")
def embedder():
    """The real packaged model, loaded once for the whole session."""
    emb = load_model()
    emb.encode(["warm"])
    return emb


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder):
    path = tmp_path_factory.mktemp("idx") / "index"
    report = build_index(CHUNKS, path, progress=False, chunker_settings={"max_tokens": 200})
    return path, report


@pytest.fixture(scope="module")
def searcher(built):
    return Searcher.open(built[0])


# --- BM25 -------------------------------------------------------------------------------

QUERIES = [
    "stop and search",
    "domestic abuse victims",
    "custody welfare",
    "999 emergency calls control room",
    "missing children",
    "farm machinery theft",
]


def test_bm25_scores_equal_rank_bm25_okapi():
    corpus_tokens = [tokenize(c.embed_text()) for c in CHUNKS]
    ours = BM25Index.from_tokens(corpus_tokens)
    # epsilon=0: rank_bm25 floors negative idf at 0, as bm25s's Robertson idf does.
    ref = BM25Okapi(corpus_tokens, k1=1.5, b=0.75, epsilon=0.0)
    for q in QUERIES:
        toks = tokenize(q)
        assert toks, q
        np.testing.assert_allclose(ours.scores(toks), ref.get_scores(toks), rtol=1e-5, atol=1e-6)


def test_bm25_equals_default_rank_bm25_for_terms_in_under_half_the_chunks():
    corpus_tokens = [tokenize(c.embed_text()) for c in CHUNKS]
    ours = BM25Index.from_tokens(corpus_tokens)
    ref = BM25Okapi(corpus_tokens, k1=1.5, b=0.75)  # default epsilon=0.25
    n = len(corpus_tokens)
    for q in QUERIES:
        toks = tokenize(q)
        df = [sum(t in doc for doc in corpus_tokens) for t in toks]
        assert all(d < n / 2 for d in df)  # the condition under which the two agree exactly
        np.testing.assert_allclose(ours.scores(toks), ref.get_scores(toks), rtol=1e-5, atol=1e-6)


def test_bm25_search_ranks_like_rank_bm25(searcher):
    corpus_tokens = [tokenize(c.embed_text()) for c in searcher.chunks]
    ref = BM25Okapi(corpus_tokens, k1=1.5, b=0.75, epsilon=0.0)
    for q in QUERIES:
        scores = ref.get_scores(tokenize(q))
        expected = [searcher.chunks[i].chunk_id for i in np.argsort(-scores, kind="stable") if scores[i] > 0]
        got = searcher.search(q, k=len(CHUNKS), mode="bm25", fold=False)
        assert [h.chunk_id for h in got] == expected
        assert [h.ranks["bm25"] for h in got] == list(range(1, len(got) + 1))
        for h in got:
            assert h.score == pytest.approx(scores[searcher._row[h.chunk_id]], rel=1e-5)


def test_expansion_terms_reach_bm25(searcher):
    plain = {h.chunk_id for h in searcher.search("custody", k=20, mode="bm25")}
    assert "essex-plan:1" not in plain
    expanded = {h.chunk_id for h in searcher.search("custody", k=20, mode="bm25", expansions=["rural crime"])}
    assert "essex-plan:1" in expanded and plain <= expanded


# --- filters ----------------------------------------------------------------------------

FILTERS = [
    Filters(forces=["Kent"]),
    Filters(forces=["kent"]),  # case-insensitive
    Filters(year_from=2019),
    Filters(year_to=2016),
    Filters(year_from=2017, year_to=2017),
    Filters(doc_types=["news", "crime_plan"]),
    Filters(doc_ids=["essex-2018"], year_from=2018),
    Filters(forces=["Essex"], year_from=2016, year_to=2016, doc_types=["peel_report"]),
    Filters(forces=["Nowhere"]),
]


def test_filter_mask_matches_per_chunk_semantics(searcher):
    for f in FILTERS:
        expected = [f.matches(c) for c in searcher.chunks]
        assert FilterIndex(searcher.chunks).mask(f).tolist() == expected, f
    # The year semantics themselves: any year in range; chunks with no years never match.
    assert Filters(year_from=2019).matches(BY_ID["essex-2018:0"])  # years [2018, 2019]
    assert Filters(year_to=2018).matches(BY_ID["essex-2018:0"])
    assert not Filters(year_from=2020).matches(BY_ID["essex-2018:0"])
    assert not Filters(year_from=1900).matches(BY_ID["undated:0"])
    assert Filters().matches(BY_ID["undated:0"])


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
@pytest.mark.parametrize("f", FILTERS, ids=str)
def test_filtered_search_returns_every_match_and_nothing_else(searcher, mode, f):
    matches = {c.chunk_id for c in searcher.chunks if f.matches(c)}
    k = len(CHUNKS) + 5  # more than can possibly match
    hits = searcher.search("police response to victims", k=k, mode=mode, filters=f, fold=False)
    assert {h.chunk_id for h in hits} <= matches
    assert len(hits) == len(matches)  # the retrievers ranked the whole filtered set


@pytest.mark.parametrize("f", FILTERS, ids=str)
def test_filtered_bm25_returns_every_matching_passage_and_nothing_else(searcher, f):
    q = "stop and search calls custody victims"
    corpus_tokens = [tokenize(c.embed_text()) for c in searcher.chunks]
    scores = BM25Okapi(corpus_tokens, k1=1.5, b=0.75, epsilon=0.0).get_scores(tokenize(q))
    expected = {c.chunk_id for c, s in zip(searcher.chunks, scores) if s > 0 and f.matches(c)}
    hits = searcher.search(q, k=len(CHUNKS) + 5, mode="bm25", filters=f, fold=False)
    assert {h.chunk_id for h in hits} == expected
    assert len(hits) == len(expected)


def test_filter_is_applied_before_top_k_not_after(searcher):
    q = "custody detainees welfare respect"
    kent = Filters(forces=["Kent"])
    for mode in ("bm25", "dense", "hybrid"):
        # With one candidate per retriever, the unfiltered search sees only Essex's passage ...
        top = searcher.search(q, k=1, mode=mode, candidates=1)
        assert [h.chunk_id for h in top] == ["essex-2018:3"], mode
        # ... so a filter applied after retrieval would find nothing; applied inside the
        # retrievers, it ranks Kent's chunks and returns Kent's custody passage.
        hits = searcher.search(q, k=1, mode=mode, candidates=1, filters=kent)
        assert [h.chunk_id for h in hits] == ["kent-2017:1"], mode
    for mode in ("dense", "hybrid"):
        hits = searcher.search(q, k=2, mode=mode, candidates=2, filters=kent)
        assert sorted(h.chunk_id for h in hits) == ["kent-2017:0", "kent-2017:1"]


def test_filter_with_no_match_returns_nothing(searcher):
    assert searcher.search("custody", filters=Filters(forces=["Nowhere"])) == []
    assert searcher.search("custody", filters=Filters(year_from=2030)) == []


# --- hits, folding, corpus access -------------------------------------------------------


def test_hybrid_hits_carry_both_retrievers_and_fused_ranks(searcher):
    hits = searcher.search("stop and search data published monthly", k=5, fusion="rrf")
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0].chunk_id == "kent-2017:0"
    assert set(hits[0].ranks) == {"bm25", "dense"}
    # dense score: (1 - w) · cos(query, chunk) + w · best cos(query, one of its sentences),
    # each vector made by the model here, not read from the index
    chunk = searcher.get("kent-2017:0")
    qv = searcher.embedder.encode_query("stop and search data published monthly")
    chunk_cos = float(qv @ searcher.embedder.encode([chunk.embed_text()])[0])
    sentences = [chunk.text[a:b] for a, b in evidence_spans(chunk.text)]
    best_sentence = float(np.max(searcher.embedder.encode(sentences) @ qv))
    w = evidence.SENTENCE_WEIGHT
    assert 0 < w < 1
    assert hits[0].scores["dense"] == pytest.approx((1 - w) * chunk_cos + w * best_sentence, abs=1e-5)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    # fused RRF score = sum of w/(60 + rank) over the retrievers that found it
    h = hits[0]
    w = dict(zip(("bm25", "dense"), searcher.weights or (1.0, 1.0)))
    assert h.score == pytest.approx(sum(w[name] / (60 + r) for name, r in h.ranks.items()))


def test_duplicates_fold_into_one_hit_that_cites_every_document(searcher):
    q = "why black people are searched more often"
    for mode in ("bm25", "dense", "hybrid"):
        hits = searcher.search(q, k=3, mode=mode)
        ids = [h.chunk_id for h in hits]
        assert len({"essex-2016:3", "essex-2018:0"} & set(ids)) == 1, (mode, ids)
        top = hits[0]
        assert top.chunk_id in ("essex-2016:3", "essex-2018:0")
        other = "essex-2018:0" if top.chunk_id == "essex-2016:3" else "essex-2016:3"
        assert [a["chunk_id"] for a in top.also_in] == [other]
        entry = top.also_in[0]
        assert entry["doc_id"] == BY_ID[other].doc_id and entry["year"] == BY_ID[other].year
        assert set(entry) >= {"chunk_id", "doc_id", "title", "year", "section", "page", "char_start", "char_end"}
        # folding does not cost a result: still k hits when k are available
        assert len(hits) == 3
        unfolded = [h.chunk_id for h in searcher.search(q, k=3, mode=mode, fold=False)]
        assert {"essex-2016:3", "essex-2018:0"} <= set(unfolded)


def test_original_lists_duplicates_that_did_not_rank(searcher):
    # With one candidate, only one copy is retrieved at all; the hit still cites both.
    hits = searcher.search("black people searched", k=1, mode="bm25", candidates=1)
    assert len(hits) == 1
    assert {hits[0].chunk_id, *(a["chunk_id"] for a in hits[0].also_in)} == {"essex-2016:3", "essex-2018:0"}


def test_also_in_respects_the_filter(searcher):
    hits = searcher.search("black people searched", k=3, filters=Filters(year_to=2016))
    assert hits[0].chunk_id == "essex-2016:3"
    assert hits[0].also_in == []  # the 2018 copy is outside the filter


def test_corpus_access(searcher, built):
    assert len(searcher.chunks) == len(CHUNKS)
    assert searcher.get("kent-2017:1").text == BY_ID["kent-2017:1"].text
    assert searcher.get("nope") is None
    assert [c.position for c in searcher.doc_chunks("essex-2018")] == [0, 1, 2, 3]
    assert searcher.doc_chunks("nope") == []
    docs = {d["doc_id"]: d for d in searcher.documents()}
    assert set(docs) == set(_DOCS)
    assert docs["essex-2018"]["years"] == [2018, 2019] and docs["essex-2018"]["year"] == 2019
    assert docs["essex-plan"]["doc_type"] == "crime_plan" and docs["kent-2017"]["force"] == "Kent"
    assert docs["essex-2016"]["n_chunks"] == 4
    m = searcher.manifest
    assert m["format_version"] == store.FORMAT_VERSION
    assert m["chunker"] == {"max_tokens": 200}
    assert m["dims"] == 384 and m["dense"]["kind"] == "flat"
    assert m["counts"]["chunks"] == len(CHUNKS) and m["counts"]["documents"] == len(_DOCS)
    assert m["corpus_fingerprint"] == corpus_fingerprint(CHUNKS)
    assert m["model"]["weights_sha256"] == searcher.embedder.weights_sha256


def test_document_metadata_and_source_texts_are_kept(tmp_path, embedder):
    """The CLI passes DocumentMeta and source texts; documents() and doc_text() give them back."""
    from ingest.records import DocumentMeta

    metas = [
        DocumentMeta(doc_id=d, title=t, force=f, years=y, doc_type=ty, publisher="HMICFRS",
                     published=f"{y[0]}-03-01" if y else None, url=f"https://example.org/{d}")
        for d, (t, f, y, ty) in _DOCS.items()
    ]
    texts = {d: f"Full text of {d}." for d in _DOCS}
    path = tmp_path / "index"
    build_index(CHUNKS, path, progress=False, documents=metas, texts=texts)
    s = Searcher.open(path)
    docs = {d["doc_id"]: d for d in s.documents()}
    assert docs["kent-2017"]["publisher"] == "HMICFRS"
    assert docs["kent-2017"]["url"] == "https://example.org/kent-2017"
    assert docs["kent-2017"]["n_chunks"] == 2 and docs["kent-2017"]["years"] == [2017]
    assert s.doc_text("essex-news") == "Full text of essex-news."
    assert s.doc_text("nope") is None
    # an unchanged rebuild without them drops them (the index mirrors what it was given)
    build_index(CHUNKS, path, progress=False)
    s = Searcher.open(path)
    assert s.doc_text("kent-2017") is None
    assert "publisher" not in {k for d in s.documents() for k in d}


def test_search_many_equals_search(searcher):
    queries = ["custody", "domestic abuse", "call handling"]
    filters = [None, Filters(year_to=2016), Filters(forces=["Essex"])]
    many = searcher.search_many(queries, k=4, filters=filters)
    for q, f, hits in zip(queries, filters, many):
        one = searcher.search(q, k=4, filters=f)
        assert [(h.chunk_id, round(h.score, 6)) for h in hits] == [(h.chunk_id, round(h.score, 6)) for h in one]


def test_concurrent_searches_give_the_same_results(searcher):
    queries = QUERIES * 3
    expected = {q: [h.chunk_id for h in searcher.search(q, k=5)] for q in QUERIES}
    searcher.embedder._cache.clear()  # make the threads encode concurrently
    errors, results = [], []

    def worker(qs):
        try:
            for q in qs:
                results.append((q, [h.chunk_id for h in searcher.search(q, k=5)]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(queries[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == len(queries)
    for q, ids in results:
        assert ids == expected[q]


def test_bad_arguments(searcher):
    with pytest.raises(ValueError):
        searcher.search("x", mode="fuzzy")
    with pytest.raises(ValueError):
        searcher.search("x", fusion="borda")
    assert searcher.search("   ") == []
    assert searcher.search("custody", k=0) == []


def test_weighted_fusion_setting(built):
    s = Searcher.open(built[0], fusion="weighted")
    hits = s.search("stop and search data published monthly", k=3)
    assert hits[0].chunk_id == "kent-2017:0"
    assert 0 < hits[0].score <= 2.0  # two min-max normalised scores, equal weights


# --- the index folder -------------------------------------------------------------------


def test_no_pickle_anywhere_in_the_index(built):
    path = built[0]
    assert sorted(p.name for p in path.iterdir()) == ["CURRENT", "versions", "writer.lock"]
    assert (path / "CURRENT").read_text() == current_folder(path).name + "\n"
    seen = set()
    for p in current_folder(path).rglob("*"):
        if not p.is_file():
            continue
        seen.add(p.suffix)
        head = p.read_bytes()[:2]
        assert head[:1] != b"\x80", f"{p.name} looks like a pickle"
        if p.suffix == ".npy":
            np.load(p, allow_pickle=False)
        elif p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".jsonl":
            [json.loads(line) for line in p.read_text().splitlines()]
        elif p.suffix == ".faiss":
            faiss.read_index(str(p))
        else:
            pytest.fail(f"unexpected file type in the index: {p.name}")
    assert {".npy", ".json", ".jsonl", ".faiss"} <= seen


def _copy_index(built, tmp_path) -> Path:
    path = tmp_path / "index"
    shutil.copytree(built[0], path)
    return path


def _model_inputs(chunks) -> set[str]:
    """Every text the build embeds: chunk texts with their heading paths, and sentences."""
    return {c.embed_text() for c in chunks} | {
        c.text[a:b] for c in chunks for a, b in evidence_spans(c.text)
    }


def test_rebuild_reuses_cached_embeddings(built, tmp_path):
    path = _copy_index(built, tmp_path)
    assert built[1].n_embedded == len(_model_inputs(CHUNKS))

    same = build_index(CHUNKS, path, progress=False)
    assert same.n_embedded == 0 and same.n_cached == len(CHUNKS)

    extra_docs = {**_DOCS, "surrey-2019": ("Surrey PEEL 2019", "Surrey", [2019], "peel_report")}
    extra = [
        ("surrey-2019", ["Custody"], "Surrey's custody staff check detainees every thirty minutes.", None),
        ("surrey-2019", ["Call handling"], "Surrey answers most 101 calls within ten minutes.", None),
    ]
    grown = make_chunks(_TEXTS + extra, extra_docs)
    added = build_index(grown, path, progress=False)
    assert added.n_embedded == len(_model_inputs(grown) - _model_inputs(CHUNKS)) == 4
    assert added.n_cached == len(CHUNKS)
    s = Searcher.open(path)
    assert s.get("surrey-2019:0") is not None
    assert s.search("Surrey custody", k=1, filters=Filters(forces=["Surrey"]))[0].doc_id == "surrey-2019"

    shrunk = [c for c in CHUNKS if c.doc_id != "kent-2017"]
    removed = build_index(shrunk, path, progress=False)
    assert removed.n_embedded == 0
    s = Searcher.open(path)
    assert s.get("kent-2017:0") is None and s.doc_chunks("kent-2017") == []
    assert "kent-2017" not in {d["doc_id"] for d in s.documents()}
    assert all(h.doc_id != "kent-2017" for h in s.search("Kent stop and search", k=20, fold=False))
    # the removed document's vectors left the cache too
    keys = json.loads((current_folder(path) / layout.CACHE_KEYS).read_text())["keys"]
    assert len(keys) == len(_model_inputs(shrunk))
    assert np.load(current_folder(path) / layout.CACHE_VECTORS, allow_pickle=False).shape == (len(keys), 384)


def test_hnsw_path_agrees_with_flat(built, tmp_path, searcher):
    path = tmp_path / "hnsw"
    report = build_index(CHUNKS, path, progress=False, hnsw_threshold=0)
    assert report.dense_kind == "hnsw" and report.n_embedded == len(_model_inputs(CHUNKS))
    hnsw = Searcher.open(path)
    assert isinstance(hnsw._dense.index, faiss.IndexHNSWFlat)
    assert hnsw.manifest["dense"]["kind"] == "hnsw"
    for q in QUERIES:
        flat_hits = searcher.search(q, k=8, mode="dense", fold=False)
        hnsw_hits = hnsw.search(q, k=8, mode="dense", fold=False)
        assert [h.chunk_id for h in hnsw_hits] == [h.chunk_id for h in flat_hits]
        np.testing.assert_allclose([h.score for h in hnsw_hits], [h.score for h in flat_hits], atol=1e-5)
    for f in FILTERS:
        matches = {c.chunk_id for c in CHUNKS if f.matches(c)}
        hits = hnsw.search("police", k=len(CHUNKS) + 5, mode="dense", filters=f, fold=False)
        assert {h.chunk_id for h in hits} == matches


def test_hnsw_selector_fallback_fills_k_from_a_tiny_allowed_set(tmp_path):
    from index.engine.dense import DenseIndex

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3000, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    flat, hnsw = DenseIndex.build(vecs), DenseIndex.build(vecs, hnsw_threshold=0)
    mask = np.zeros(3000, dtype=bool)
    mask[rng.choice(3000, 40, replace=False)] = True
    for q in vecs[:5]:
        want = flat.search(q, 30, mask)
        got = hnsw.search(q, 30, mask)
        assert len(got) == len(want) == 30
        assert all(mask[i] for i, _ in got)
        assert [i for i, _ in got] == [i for i, _ in want]


# --- opening: plain errors --------------------------------------------------------------


def test_missing_index_message(tmp_path):
    where = tmp_path / "none"
    with pytest.raises(IndexOpenError) as err:
        Searcher.open(where)
    assert str(err.value) == f"No index at {where}. Build one with: peel ingest [PATH…] --index {where}"


def test_format_version_mismatch_message(built, tmp_path):
    path = _copy_index(built, tmp_path)
    manifest = json.loads((current_folder(path) / "manifest.json").read_text())
    manifest["format_version"] = 99
    (current_folder(path) / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexOpenError) as err:
        Searcher.open(path)
    msg = str(err.value)
    assert "format version 99" in msg
    assert msg.endswith(f"Rebuild it with: peel ingest --rebuild --index {path}")
    assert "\n" not in msg and err.value.__cause__ is None


def test_model_mismatch_message(built, tmp_path):
    other = tmp_path / "other-model"
    other.mkdir()
    (other / "modules.json").write_text("[]")
    (other / "model.safetensors").write_bytes(b"not the same weights")
    with pytest.raises(IndexOpenError) as err:
        Searcher.open(built[0], model=str(other))
    assert str(err.value) == (
        f"This index was built with model sentence-transformers/all-MiniLM-L6-v2; "
        f"you asked for {other.resolve()}. Rebuild it with: peel ingest --rebuild --index {built[0]}"
    )
    assert err.value.__cause__ is None
    with pytest.raises(IndexOpenError) as err:
        Searcher.open(built[0], model=str(tmp_path / "no-such-model"))
    assert "is not a folder on this machine" in str(err.value)
    # the packaged model, named or by path, is the index's model
    assert len(Searcher.open(built[0], model="sentence-transformers/all-MiniLM-L6-v2")) == len(CHUNKS)
    assert len(Searcher.open(built[0], model=str(load_model().path))) == len(CHUNKS)


def test_changed_model_weights_message(built, tmp_path):
    path = _copy_index(built, tmp_path)
    manifest = json.loads((current_folder(path) / "manifest.json").read_text())
    # As if the packaged weights had been replaced since the build (new size/mtime, new hash).
    manifest["model"]["weights_sha256"] = "0" * 64
    manifest["model"]["weights"][0]["mtime_ns"] = 1
    (current_folder(path) / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexOpenError) as err:
        Searcher.open(path)
    assert str(err.value) == (
        "This index was built with model sentence-transformers/all-MiniLM-L6-v2, whose weight "
        f"files have changed since. Rebuild it with: peel ingest --rebuild --index {path}"
    )


def test_refuses_to_replace_a_folder_that_is_not_an_index(tmp_path, embedder):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(ValueError):
        build_index(CHUNKS[:2], precious, progress=False)
    assert (precious / "thesis.txt").read_text() == "do not delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]
    with pytest.raises(IndexOpenError, match="that folder holds other files"):
        Searcher.open(precious)


# --- publishing a version (more in tests/test_versions.py) ------------------------------


def _fingerprint(path: Path) -> str:
    return json.loads((current_folder(path) / "manifest.json").read_text())["corpus_fingerprint"]


def test_leftover_temp_folders_and_unpublished_versions_are_cleaned_by_the_next_build(built, tmp_path):
    path = _copy_index(built, tmp_path)
    stale = path / "versions" / ".tmp-999999999-abcdef"  # a dead build's half-written folder
    stale.mkdir()
    (stale / "chunks.jsonl").write_text("{not json")
    unpublished = path / "versions" / "29990101T000000.000000Z-abcdef"  # died before CURRENT
    shutil.copytree(current_folder(path), unpublished)
    (unpublished / "chunks.jsonl").write_text("{not json")
    pointer = path / ".CURRENT.tmp-999999999"
    pointer.write_text("29990101T000000.000000Z-abcdef\n")
    assert len(Searcher.open(path)) == len(CHUNKS)  # CURRENT names the complete index
    report = build_index(CHUNKS[:5], path, progress=False)
    assert report.n_embedded == 0
    assert not stale.exists() and not unpublished.exists() and not pointer.exists()
    assert len(report.recovered) == 3, report.recovered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    assert len(Searcher.open(path)) == 5


def test_failed_build_leaves_the_previous_index_intact(built, tmp_path, monkeypatch):
    path = _copy_index(built, tmp_path)
    before = _fingerprint(path)
    versions = sorted(p.name for p in (path / "versions").iterdir())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.dense_mod.DenseIndex, "save", boom)
    with pytest.raises(OSError):
        build_index(CHUNKS[:3], path, progress=False)
    assert _fingerprint(path) == before
    assert len(Searcher.open(path)) == len(CHUNKS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    assert sorted(p.name for p in (path / "versions").iterdir()) == versions  # no temp folder left
