"""The corpora the benchmarks run on.

* The **bundled corpus** (``data/``), indexed the way ``peel ingest`` does it
  (`index.api.build`) into ``benchmarks/cache/bundled-index``; rebuilt when
  the data change, with the product's own embedding cache so unchanged passages are not
  embedded again.
* A **scaled corpus** of N chunks built from the real ones. The real chunks come first,
  unchanged, with their real vectors. Every synthetic chunk copies the heading path of a
  real chunk and is filled to that chunk's length with whole sentences: a run of
  consecutive sentences from it (at most 60% of them), then runs of one to three
  consecutive sentences from other random chunks; no synthetic chunk repeats a real one or
  another synthetic one. So vocabulary, term statistics and lengths stay those of real
  inspection reports, and passages are topical but never copies (copies would give
  thousands of identical vectors, which no real corpus has and which ANN search handles
  badly: an earlier version without these rules measured HNSW recall@10 of 0.5). Synthetic chunks are
  grouped into reports of ~250 chunks, each with a police force (the 43 of England and
  Wales), an inspection year (2014–2023) and a document type, so filters have something to
  select.

  Vectors: embedding 100k chunks takes about an hour on 2 cores, so each synthetic chunk's
  vector is the L2-normalised mean of the model's vectors of the real sentences it was
  built from (``sentence-mean``). Every distinct real sentence (~2,200) is embedded once
  and cached in ``benchmarks/cache/``. Without that cache (a quick run on a fresh machine),
  the vector is the normalised mean of its source chunks' real vectors, weighted by the
  sentences taken from each (``chunk-mean``). The method is recorded with the results, and
  the full run measures how close sentence-mean vectors are to real embeddings of the same
  synthetic texts on a sample.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ingest.records import Chunk

from .common import CACHE, DATA

FORCES = (
    "Avon and Somerset Constabulary", "Bedfordshire Police", "Cambridgeshire Constabulary",
    "Cheshire Constabulary", "City of London Police", "Cleveland Police", "Cumbria Constabulary",
    "Derbyshire Constabulary", "Devon and Cornwall Police", "Dorset Police", "Durham Constabulary",
    "Dyfed-Powys Police", "Essex Police", "Gloucestershire Constabulary", "Greater Manchester Police",
    "Gwent Police", "Hampshire Constabulary", "Hertfordshire Constabulary", "Humberside Police",
    "Kent Police", "Lancashire Constabulary", "Leicestershire Police", "Lincolnshire Police",
    "Merseyside Police", "Metropolitan Police Service", "Norfolk Constabulary", "North Wales Police",
    "North Yorkshire Police", "Northamptonshire Police", "Northumbria Police", "Nottinghamshire Police",
    "South Wales Police", "South Yorkshire Police", "Staffordshire Police", "Suffolk Constabulary",
    "Surrey Police", "Sussex Police", "Thames Valley Police", "Warwickshire Police", "West Mercia Police",
    "West Midlands Police", "West Yorkshire Police", "Wiltshire Police",
)
YEAR_SETS = ([2014], [2015], [2016], [2017], [2018, 2019], [2019], [2021, 2022], [2022], [2023])
CHUNKS_PER_REPORT = 250


# --- the bundled corpus ------------------------------------------------------------------


def bundled_index(folder: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The bundled corpus's index, built as ``peel ingest`` builds it (with the adapted
    model when there is one); reused when current.

    Rebuilding into the same folder reuses its embedding cache, so after the first time
    this embeds nothing unless data/ changed."""
    from index import api
    from index.paths import default_model

    folder = folder or CACHE / "bundled-index"
    folder.parent.mkdir(parents=True, exist_ok=True)
    summary = api.build([DATA], folder, model=default_model()).summary()
    return folder, summary


def read_index_chunks(folder: Path) -> list[Chunk]:
    from index.engine.versions import current_folder

    with open(current_folder(folder) / "chunks.jsonl", encoding="utf-8") as f:
        return [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]


def read_index_vectors(folder: Path) -> np.ndarray:
    from index.engine.dense import DenseIndex
    from index.engine.versions import current_folder

    return np.array(DenseIndex.load(current_folder(folder) / "dense.faiss").vectors)


# --- sentences and their vectors ---------------------------------------------------------


def chunk_sentences(chunks: Sequence[Chunk]) -> list[list[str]]:
    """Each chunk's sentences (the product's own splitter), verbatim."""
    from ingest.sentences import split_sentences

    out = []
    for c in chunks:
        sents = [c.text[a:b] for a, b in split_sentences(c.text)]
        out.append([s for s in sents if s.strip()] or [c.text])
    return out


def _sentence_cache_path(model_id: str, sentences: Sequence[str]) -> Path:
    h = hashlib.sha256(model_id.encode())
    for s in sentences:
        h.update(b"\x00" + s.encode())
    return CACHE / f"sentence-vectors-{h.hexdigest()[:20]}.npy"


def sentence_vectors(sentences: Sequence[str], *, compute: bool, embedder=None) -> tuple[np.ndarray | None, dict]:
    """Model vectors of ``sentences`` (distinct), from the cache or (``compute``) embedded now."""
    from index.models.embedder import load_model

    embedder = embedder or load_model(None)
    path = _sentence_cache_path(embedder.model_id, sentences)
    info: dict[str, Any] = {"n": len(sentences), "cache": str(path.relative_to(CACHE.parent.parent))}
    if path.exists():
        vecs = np.load(path, allow_pickle=False)
        if vecs.shape[0] == len(sentences):
            info["from_cache"] = True
            return vecs, info
    if not compute:
        return None, info
    import time

    t0 = time.perf_counter()
    vecs = embedder.encode(list(sentences), batch_size=32)
    info.update(from_cache=False, embed_seconds=round(time.perf_counter() - t0, 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs.astype(np.float32), allow_pickle=False)
    return vecs, info


# --- the scaled corpus -------------------------------------------------------------------


@dataclass
class ScaledCorpus:
    chunks: list[Chunk]
    vectors: np.ndarray
    sources: list[list[int]]  # per synthetic chunk: the global sentence ids it was built from
    info: dict[str, Any] = field(default_factory=dict)
    encode_sentences: Any = None  # stand-in model for evidence sentences (see sentence_encoder)


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    n[n == 0] = 1.0
    return (v / n).astype(np.float32)


def _compose(rng: random.Random, template: int, target: int, chunk_sids: list[list[int]],
             sent_text: list[str], n_chunks: int) -> tuple[list[int], dict[int, int]]:
    """Sentence ids for one synthetic chunk of about ``target`` characters: a run of
    consecutive sentences of the template chunk (at most 60% of them), then runs of at most
    three consecutive sentences from other random chunks. Returns the ids and, per source
    chunk, how many sentences came from it."""
    picked: list[int] = []
    weights: dict[int, int] = {}
    length = 0
    src = template
    while length < target and len(picked) < 40:
        sids = chunk_sids[src]
        if src == template and not picked:
            run = max(1, int(len(sids) * 0.6))
        else:
            run = rng.randint(1, 3)
        start = rng.randrange(len(sids))
        for sid in sids[start : start + run]:
            add = len(sent_text[sid]) + 1
            if picked and length + add - target > target - length:
                return picked, weights  # the next sentence would overshoot more than it fills
            picked.append(sid)
            weights[src] = weights.get(src, 0) + 1
            length += add
            if length >= target:
                return picked, weights
        src = rng.randrange(n_chunks)
    return picked, weights


def build_scaled(
    real: Sequence[Chunk],
    real_vectors: np.ndarray,
    n: int,
    *,
    sentence_vecs: np.ndarray | None,
    sentences: list[list[str]] | None = None,
    seed: int = 13,
) -> ScaledCorpus:
    """``n`` chunks: the ``real`` ones, then synthetic ones recombined from their sentences."""
    rng = random.Random(seed)
    sentences = sentences if sentences is not None else chunk_sentences(real)
    # global ids of distinct sentences, and each chunk's sentence ids in order
    distinct: dict[str, int] = {}
    chunk_sids: list[list[int]] = []
    for sents in sentences:
        chunk_sids.append([distinct.setdefault(s, len(distinct)) for s in sents])
    sent_text = list(distinct)
    types = [c.doc_type for c in real]

    chunks: list[Chunk] = list(real)
    vectors = np.zeros((max(n, len(real)), real_vectors.shape[1]), dtype=np.float32)
    vectors[: len(real)] = real_vectors
    sources: list[list[int]] = []
    n_syn = max(0, n - len(real))
    report: dict[str, Any] = {}
    seen: set[tuple[int, ...]] = {tuple(sids) for sids in chunk_sids}
    for i in range(n_syn):
        r = i // CHUNKS_PER_REPORT
        if i % CHUNKS_PER_REPORT == 0:
            force = FORCES[r % len(FORCES)]
            years = list(rng.choice(YEAR_SETS))
            doc_type = rng.choice(types)
            report = {
                "doc_id": f"syn-{r:04d}",
                "title": f"{force}: PEEL {'/'.join(map(str, years))} ({doc_type}, synthetic)",
                "force": force,
                "years": years,
                "doc_type": doc_type,
            }
        for _attempt in range(20):  # never repeat a real chunk or an earlier synthetic one
            template = rng.randrange(len(real))
            picked, weights = _compose(rng, template, len(real[template].text), chunk_sids, sent_text, len(real))
            if tuple(picked) not in seen:
                break
        seen.add(tuple(picked))
        text = " ".join(sent_text[s] for s in picked)
        position = i % CHUNKS_PER_REPORT
        chunks.append(Chunk(
            chunk_id=f"syn{i:06d}",
            doc_id=report["doc_id"],
            title=report["title"],
            force=report["force"],
            years=report["years"],
            doc_type=report["doc_type"],
            section=list(real[template].section),
            text=text,
            char_start=0,
            char_end=len(text),
            page=None,
            n_tokens=max(1, round(len(text) / 4.6)),  # estimate (cl100k averages ~4.6 chars a token here)
            source="synthetic",
            position=position,
        ))
        sources.append(picked)
        if sentence_vecs is not None:
            vectors[len(real) + i] = sentence_vecs[picked].mean(axis=0)
        else:
            w = np.array(list(weights.values()), dtype=np.float32)
            vectors[len(real) + i] = (real_vectors[list(weights)] * w[:, None]).sum(axis=0)
    vectors[len(real):] = _normalise(vectors[len(real):])
    info = {
        "n_chunks": len(chunks),
        "n_real": len(real),
        "n_synthetic": n_syn,
        "n_reports": len({c.doc_id for c in chunks}),
        "distinct_real_sentences": len(sent_text),
        "seed": seed,
        "vectors": "sentence-mean" if sentence_vecs is not None else "chunk-mean",
        "mean_chars": round(float(np.mean([len(c.text) for c in chunks])), 1),
        "real_mean_chars": round(float(np.mean([len(c.text) for c in real])), 1),
    }
    return ScaledCorpus(chunks, vectors[: len(chunks)], sources, info)


def sentence_encoder(
    sentences: list[list[str]], sentence_vecs: np.ndarray | None, real_vectors: np.ndarray, info: dict[str, Any]
):
    """Stand-in for the model on the scaled corpus's evidence sentences (`index.engine.sentence_vectors`):
    a real sentence gets its own vector (``sentence-mean``) or its chunk's (``chunk-mean``);
    text the splitter cut differently gets the mean vector. Only the values of the sentence
    re-scoring change with this, not the work a query does. Counts go to ``info``."""
    known: dict[str, np.ndarray] = {}
    flat = distinct_sentences(sentences)
    if sentence_vecs is not None:
        known = dict(zip(flat, sentence_vecs))
    else:
        for row, sents in enumerate(sentences):
            for s in sents:
                known.setdefault(s, real_vectors[row])
    mean = _normalise(np.mean(np.stack(list(known.values())), axis=0, keepdims=True))[0]

    def encode(texts: list[str]) -> np.ndarray:
        hits = [known.get(t) for t in texts]
        info["sentences_known"] = info.get("sentences_known", 0) + sum(v is not None for v in hits)
        info["sentences_other"] = info.get("sentences_other", 0) + sum(v is None for v in hits)
        return np.stack([mean if v is None else v for v in hits]).astype(np.float32)

    return encode


def distinct_sentences(sentences: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(s for sents in sentences for s in sents))


def fidelity(corpus: ScaledCorpus, n_sample: int, embedder, seed: int = 5) -> dict[str, Any]:
    """Cosine between the approximate vector and a real embedding of the same synthetic
    chunk's text (heading path + text), on a random sample."""
    rng = random.Random(seed)
    n_real = corpus.info["n_real"]
    rows = rng.sample(range(n_real, len(corpus.chunks)), min(n_sample, len(corpus.chunks) - n_real))
    if not rows:
        return {}
    real = embedder.encode([corpus.chunks[r].embed_text() for r in rows], batch_size=32)
    approx = corpus.vectors[rows]
    cos = (real * approx).sum(axis=1)
    return {
        "n_sample": len(rows),
        "cosine_mean": round(float(cos.mean()), 4),
        "cosine_p5": round(float(np.percentile(cos, 5)), 4),
        "cosine_min": round(float(cos.min()), 4),
        "note": "cosine(real embedding of the synthetic text, the vector used in the benchmark)",
    }


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["ScaledCorpus", "build_scaled", "bundled_index", "chunk_sentences", "distinct_sentences",
           "fidelity", "read_index_chunks", "read_index_vectors", "sentence_vectors", "remove"]
