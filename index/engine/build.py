"""Building the index folder for a list of chunks, atomically.

What the folder holds is in `index.engine.layout`; how a new version is published without a
reader ever seeing half of it, and old ones removed, is in `index.engine.versions`; one
writer at a time is `index.engine.folder`; reuse of the previous index's vectors is
`index.engine.cache`.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from index.engine import bm25 as bm25_mod
from index.engine import dense as dense_mod
from index.engine import sentence_vectors as evidence_mod
from index.engine.cache import cache_key, load_cache, save_cache
from index.engine.files import known_weights
from index.engine.folder import fsync_tree, one_writer, signals_deferred
from index.engine.layout import (
    BM25_DIR,
    CHUNKS,
    DENSE,
    DOCUMENTS,
    FORMAT_VERSION,
    MANIFEST,
    TEXTS,
    is_index_folder,
    not_an_index,
    write_json,
)
from index.engine.versions import clean_stale, collect_garbage, publish, temp_folder
from index.models.embedder import Embedder, load_model
from ingest.atomic import fsync_dir
from ingest.records import Chunk, corpus_fingerprint

# texts, batch_size=, progress= → (n, dims) L2-normalised float32, as `Embedder.encode`
Encoder = Callable[..., np.ndarray]


@dataclass
class BuildReport:
    counts: dict[str, int]
    n_embedded: int  # texts sent through the model in this build
    n_cached: int  # chunks whose vector came from the previous index's cache
    seconds: float
    path: Path
    model: str = ""
    dense_kind: str = "flat"
    recovered: list[str] = field(default_factory=list)  # notes on stale folders and old versions removed
    version: str = ""  # the id of the version published


def _prepare_target(index_dir: Path) -> list[str]:
    """Refuse a folder that is not an index and clear dead builds' leftovers; returns notes
    on what was cleaned up."""
    if not is_index_folder(index_dir):
        raise ValueError(not_an_index(index_dir))
    index_dir.mkdir(parents=True, exist_ok=True)
    return clean_stale(index_dir)


@dataclass
class _Embedded:
    vectors: np.ndarray  # one row per chunk
    sentences: evidence_mod.SentenceTable
    cache_keys: list[str]
    cache_vectors: np.ndarray  # one row per cache key
    n_embedded: int
    n_cached: int


def _embed(
    chunks: Sequence[Chunk],
    index_dir: Path,
    embedder: Embedder,
    vectors: np.ndarray | None,
    sentence_encoder: Callable[[list[str]], np.ndarray] | None,
    batch_size: int,
    progress: bool | Callable[[int, int], None],
    encoder: Encoder | None = None,
) -> _Embedded:
    """Every chunk's and evidence sentence's vector: from the previous index's cache, the
    given ``vectors`` / ``sentence_encoder``, or else the model (only for what is new)."""
    model_id = embedder.model_id
    embed_texts = [c.embed_text() for c in chunks]
    keys = [cache_key(model_id, t) for t in embed_texts]
    n_chunk_keys = len(keys)
    # Sentence evidence goes through the same cache: a rebuild embeds only new sentences.
    sent_spans, sent_texts, sent_offsets = evidence_mod.SentenceTable.from_chunks([c.text for c in chunks])
    keys += [cache_key(model_id, t) for t in sent_texts]
    embed_texts += sent_texts
    precomputed = vectors is not None
    previous = {} if precomputed else load_cache(index_dir, model_id)
    if precomputed:
        given = np.asarray(vectors, dtype=np.float32)
        if given.ndim != 2 or len(given) != len(chunks):
            raise ValueError(f"vectors must have one row per chunk: {given.shape} for {len(chunks)} chunks")
        if given.shape[1] != embedder.dims:  # queries would be encoded by this model
            raise ValueError(f"vectors have {given.shape[1]} dimensions; the model {embedder.name} makes {embedder.dims}")
        norms = np.linalg.norm(given, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        given = given / norms
        for k, v in zip(keys, given):
            previous.setdefault(k, v)
    unique_keys = list(dict.fromkeys(keys))
    vectors_by_key: dict[str, np.ndarray] = {k: previous[k] for k in unique_keys if k in previous}
    first_text: dict[str, str] = {}
    for k, t in zip(keys, embed_texts):
        first_text.setdefault(k, t)
    if sentence_encoder is not None:
        sentence_keys = set(keys[n_chunk_keys:]) - set(keys[:n_chunk_keys])
        given_todo = [k for k in unique_keys if k in sentence_keys and k not in vectors_by_key]
        if given_todo:
            got = np.asarray(sentence_encoder([first_text[k] for k in given_todo]), dtype=np.float32)
            got = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
            vectors_by_key.update(zip(given_todo, got))
    todo = [k for k in unique_keys if k not in vectors_by_key]
    if todo:
        encode = encoder or embedder.encode
        new = encode([first_text[k] for k in todo], batch_size=batch_size, progress=progress)
        vectors_by_key.update(zip(todo, new))
    dims = int(next(iter(vectors_by_key.values())).shape[0])
    sentences = evidence_mod.SentenceTable(
        sent_offsets,
        np.asarray(sent_spans, dtype=np.int32).reshape(-1, 2),
        np.stack([vectors_by_key[k] for k in keys[n_chunk_keys:]]).astype(np.float32)
        if len(keys) > n_chunk_keys
        else np.zeros((0, dims), np.float32),
    )
    return _Embedded(
        vectors=np.stack([vectors_by_key[k] for k in keys[:n_chunk_keys]]).astype(np.float32),
        sentences=sentences,
        cache_keys=unique_keys,
        cache_vectors=np.stack([vectors_by_key[k] for k in unique_keys]).astype(np.float32),
        n_embedded=len(todo),
        n_cached=0 if precomputed else sum(1 for k in keys[:n_chunk_keys] if k in previous),
    )


def _manifest(
    tmp: Path,
    chunks: Sequence[Chunk],
    embedder: Embedder,
    fingerprint: dict[str, Any],
    dims: int,
    counts: dict[str, int],
    dense_kind: str,
    chunker_settings: dict | None,
    hnsw_threshold: int | None,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {
            "name": embedder.name,
            "path": str(embedder.path),
            "default": embedder.is_default,
            "id": embedder.model_id,
            "weights_sha256": fingerprint["sha256"],
            "weights": fingerprint["files"],
        },
        "dims": dims,
        "chunker": chunker_settings or {},
        "corpus_fingerprint": corpus_fingerprint(chunks),
        "counts": counts,
        "bm25": {
            "library": "bm25s",
            "method": bm25_mod.METHOD,
            "idf_method": bm25_mod.IDF_METHOD,
            "k1": bm25_mod.K1,
            "b": bm25_mod.B,
            "tokenizer": bm25_mod.tokenizer_settings(),
        },
        "dense": {
            "kind": dense_kind,
            "metric": "inner_product",
            "hnsw_threshold": dense_mod.HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold,
            "hnsw_m": dense_mod.HNSW_M,
            "ef_construction": dense_mod.EF_CONSTRUCTION,
            "ef_search": dense_mod.EF_SEARCH,
        },
        "files": sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()),
    }


def build_index(
    chunks: Sequence[Chunk],
    index_dir: Path | str,
    *,
    model: str | None = None,
    progress: bool | Callable[[int, int], None] = True,
    chunker_settings: dict | None = None,
    hnsw_threshold: int | None = None,
    batch_size: int = 32,
    documents: Sequence[Any] | None = None,
    texts: Mapping[str, str] | None = None,
    vectors: np.ndarray | None = None,
    sentence_encoder: Callable[[list[str]], np.ndarray] | None = None,
    encoder: Encoder | None = None,
) -> BuildReport:
    """Build the index for ``chunks`` and publish it as the index folder's current version,
    atomically (`index.engine.versions`); versions retired longer ago than the grace period
    are then removed.

    Vectors of chunks whose embed text is unchanged are taken from the previous index's
    cache; only new texts go through the model. ``hnsw_threshold`` overrides
    `index.engine.dense.HNSW_THRESHOLD` (chunks above it use HNSW). ``documents`` (DocumentMeta
    or its dict) and ``texts`` (doc_id → the text chunk offsets refer to) are stored as
    they are, for `Searcher.documents` and `Searcher.doc_text`. ``vectors`` (one row per chunk,
    from this model, computed elsewhere: benchmarks, bulk pipelines) are used as given instead
    of the model and the cache; they are L2-normalised here and cached like embedded ones.
    ``sentence_encoder`` (texts → one vector each) likewise stands in for the model for the
    sentences of `index.engine.sentence_vectors` that are not in the cache (the benchmarks' scaled corpus).
    ``encoder`` embeds the texts the cache lacks instead of this process's model, with
    `Embedder.encode`'s signature and the same model (`index.models.cluster`: on Dask workers).
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir).expanduser().absolute()
    chunks = list(chunks)
    if not chunks:
        raise ValueError("No chunks to index.")
    seen: set[str] = set()
    for c in chunks:
        if c.chunk_id in seen:
            raise ValueError(f"Duplicate chunk_id {c.chunk_id!r}: chunk ids must be unique.")
        seen.add(c.chunk_id)

    embedder = load_model(model)
    fingerprint = embedder.fingerprint(known_weights(index_dir, embedder))
    notes = _prepare_target(index_dir)
    emb = _embed(chunks, index_dir, embedder, vectors, sentence_encoder, batch_size, progress, encoder)
    dims = int(emb.cache_vectors.shape[1])

    tmp = temp_folder(index_dir)
    try:
        # inside the try: Ctrl-C is delivered right after os.mkdir returns, and the folder
        # made just before it must go too (seen in CI with a signal sent as it appeared)
        tmp.mkdir()
        with open(tmp / CHUNKS, "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")

        bm25 = bm25_mod.BM25Index.build([c.embed_text() for c in chunks])
        (tmp / BM25_DIR).mkdir()
        bm25.save(tmp / BM25_DIR)

        dense = dense_mod.DenseIndex.build(emb.vectors, hnsw_threshold)
        dense.save(tmp / DENSE)
        emb.sentences.save(tmp)

        save_cache(tmp, embedder.model_id, emb.cache_keys, emb.cache_vectors)
        if documents is not None:
            write_json(
                tmp / DOCUMENTS,
                [d.to_dict() if hasattr(d, "to_dict") else dict(d) for d in documents],
            )
        if texts is not None:
            with open(tmp / TEXTS, "w", encoding="utf-8") as f:
                for doc_id, text in texts.items():
                    f.write(json.dumps({"doc_id": doc_id, "text": text}, ensure_ascii=False) + "\n")

        counts = {
            "chunks": len(chunks),
            "documents": len(dict.fromkeys(c.doc_id for c in chunks)),
            "duplicates": sum(1 for c in chunks if c.dup_of),
            "vocabulary": len(bm25.vocab),
            "distinct_texts": len(emb.cache_keys),
            "sentences": len(emb.sentences.vectors),
        }
        manifest = _manifest(
            tmp, chunks, embedder, fingerprint, dims, counts, dense.kind, chunker_settings, hnsw_threshold
        )
        write_json(tmp / MANIFEST, manifest)  # written last: a folder without it is incomplete
        fsync_tree(tmp)
        fsync_dir(tmp.parent)
        # One writer publishes at a time (a no-op wait inside api.build's and library's own
        # hold of it), and Ctrl-C waits for the rename and the pointer to be done.
        with one_writer(index_dir):
            with signals_deferred():
                version, published_notes = publish(index_dir, tmp)
            notes += published_notes + collect_garbage(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    return BuildReport(
        counts=counts,
        n_embedded=emb.n_embedded,
        n_cached=emb.n_cached,
        seconds=time.perf_counter() - t0,
        path=index_dir,
        model=embedder.name,
        dense_kind=dense.kind,
        recovered=notes,
        version=version,
    )
