"""The read side: one `Searcher` per index folder, shared by every thread of the app.

``search`` is pure retrieval: the caller (``index.query.parse``) parses the question into a
`Filters` and expansion terms. Hybrid mode takes the top ``candidates`` of BM25 and of the
dense index, both *within* the filter, fuses them (weighted min-max by default, RRF as an
option) and folds near-duplicates so one hit cites every document its passage appears in.
The dense candidates are re-scored with their best sentence (`index.engine.sentence_vectors`).

A Searcher is immutable after ``open``; every query works on local state only, and the
model's ``encode`` is serialised by a lock inside the embedder, so concurrent searches
from many threads are safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from index.engine import fusion as fusion_mod
from index.engine.bm25 import query_tokens
from index.engine.files import IndexFiles, open_index
from index.engine.filters import FilterIndex, Filters
from index.models.embedder import Embedder
from index.records import Hit
from ingest.records import Chunk

MODES = ("hybrid", "bm25", "dense")
FUSIONS = ("rrf", "weighted")


def _also_in_entry(c: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "title": c.title,
        "year": c.year,
        "section": list(c.section),
        "page": c.page,
        "char_start": c.char_start,
        "char_end": c.char_end,
        "source": c.source,
    }


# Hybrid fusion default, chosen with `peel eval --tune` on the dev split and kept because it
# won on the held-out test split (MRR@10 0.78 vs 0.68 for RRF k=60; hit@5 0.875 vs 0.775):
# min-max normalised scores, dense weighted above BM25, so BM25's confident ranks on
# lay-language questions no longer outvote dense's right ones.
DEFAULT_FUSION = "weighted"
DEFAULT_WEIGHTS = (0.3, 0.7)  # (bm25, dense)


def _dense_query(query: str, expansions: Sequence[str] | None) -> str:
    """The question with its glossary expansions appended: 'DVPO use' also means the full name."""
    extra = [e for e in (expansions or []) if e.casefold() not in query.casefold()]
    return f"{query} ({'; '.join(extra)})" if extra else query


class Searcher:
    """Hybrid (BM25 + dense) search over one index folder."""

    def __init__(
        self,
        files: IndexFiles,
        *,
        fusion: str = DEFAULT_FUSION,
        rrf_k: int = fusion_mod.RRF_K,
        weights: Sequence[float] | None = DEFAULT_WEIGHTS,
        norm: str = "minmax",
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"Unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}")
        self.path: Path = files.path  # the version folder read
        self.version: str = files.version  # its id (`index.api.index_version` when opened)
        self._manifest = files.manifest
        self._chunks: tuple[Chunk, ...] = tuple(files.chunks)
        self._bm25 = files.bm25
        self._dense = files.dense
        self._sentences = files.sentences
        self.embedder: Embedder = files.embedder
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.weights = list(weights) if weights is not None else None  # (bm25, dense)
        self.norm = norm

        n = len(self._chunks)
        self._row: dict[str, int] = {c.chunk_id: i for i, c in enumerate(self._chunks)}
        self._filters = FilterIndex(self._chunks)

        by_doc: dict[str, list[int]] = {}
        for i, c in enumerate(self._chunks):
            by_doc.setdefault(c.doc_id, []).append(i)
        self._doc_rows = {
            d: sorted(rows, key=lambda r: (self._chunks[r].position, r)) for d, rows in by_doc.items()
        }

        # Near-duplicate groups: every chunk points at the root of its dup_of chain.
        root = np.arange(n)
        for i, c in enumerate(self._chunks):
            r, seen = i, {i}
            while True:
                target = self._chunks[r].dup_of
                nxt = self._row.get(target) if target else None
                if nxt is None or nxt in seen:
                    break
                seen.add(nxt)
                r = nxt
            root[i] = r
        self._root = root
        groups: dict[int, list[int]] = {}
        for i in range(n):
            groups.setdefault(int(root[i]), []).append(i)
        # root first, then the others in index order
        self._groups = {
            g: sorted(rows, key=lambda r: (r != g, r)) for g, rows in groups.items() if len(rows) > 1
        }
        self._documents = self._summarise_documents(files.documents)
        self._texts: dict[str, str] = files.texts or {}

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        index_dir: Path | str,
        model: str | None = None,
        *,
        fusion: str = DEFAULT_FUSION,
        rrf_k: int = fusion_mod.RRF_K,
        weights: Sequence[float] | None = DEFAULT_WEIGHTS,
        norm: str = "minmax",
    ) -> "Searcher":
        """Open an index folder. Raises `IndexOpenError` with a plain message when there is
        no index, it is damaged, of another format version, or built with another model."""
        return cls(open_index(index_dir, model), fusion=fusion, rrf_k=rrf_k, weights=weights, norm=norm)

    # --- the corpus ---------------------------------------------------------------------

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return self._chunks

    @property
    def manifest(self) -> dict[str, Any]:
        return self._manifest

    def __len__(self) -> int:
        return len(self._chunks)

    def get(self, chunk_id: str) -> Chunk | None:
        row = self._row.get(chunk_id)
        return self._chunks[row] if row is not None else None

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """The document's chunks in reading order (by position)."""
        return [self._chunks[r] for r in self._doc_rows.get(doc_id, [])]

    def _summarise_documents(self, metas: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for c in self._chunks:
            d = out.get(c.doc_id)
            if d is None:
                d = out[c.doc_id] = {
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "years": set(),
                    "doc_type": c.doc_type,
                    "force": c.force,
                    "source": c.source,
                    "n_chunks": 0,
                }
            d["years"].update(c.doc_years or c.years)  # the period; passages may name other years
            d["n_chunks"] += 1
        by_id = {m.get("doc_id"): m for m in (metas or []) if isinstance(m, dict)}
        docs = []
        for d in out.values():
            years = sorted(d["years"])
            # The ingest metadata (publisher, published, url …) where the build was given it;
            # what the chunks say about title/force/type/years wins, so filters and menus agree.
            docs.append({**by_id.get(d["doc_id"], {}), **d, "years": years, "year": years[-1] if years else None})
        return docs

    def documents(self) -> list[dict[str, Any]]:
        """One summary per document, in index order: doc_id, title, years, year, doc_type,
        force, source, n_chunks, plus the ingest metadata (publisher, published, url, …)
        when the index was built with it. What the app's filter menus are made from."""
        return [{**d, "years": list(d["years"])} for d in self._documents]

    def doc_text(self, doc_id: str) -> str | None:
        """The text a document's chunk offsets refer to (None if the index has no texts)."""
        return self._texts.get(doc_id)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Normalised query vectors from the index's model (cached, thread-safe)."""
        return self.embedder.encode_queries(queries)

    def prime(self, queries: Sequence[str], expansions: Sequence[str] | None = None) -> None:
        """Encode the dense side of several coming searches in one batch (they share
        ``expansions``), so those searches find their vectors in the query cache. A
        change-over-time question is searched as asked and as its topic: one batch of two
        costs less than two encodes one after the other."""
        texts = [_dense_query(q, expansions) for q in queries if q.strip()]
        if texts:
            self.embedder.encode_queries(list(dict.fromkeys(texts)))

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Normalised passage/sentence vectors from the index's model."""
        return self.embedder.encode(texts, batch_size=batch_size)

    def sentence_vectors(self, chunk_id: str) -> dict[tuple[int, int], np.ndarray] | None:
        """The vectors stored for a chunk's evidence sentences, by (start, end) span in its
        text (`index.engine.sentence_vectors.evidence_spans`); None when unknown or not stored."""
        row = self._row.get(chunk_id)
        if row is None or self._sentences is None:
            return None
        spans, vecs = self._sentences.chunk_sentences(row)
        return {(int(a), int(b)): v for (a, b), v in zip(spans, vecs)}

    # --- search -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        expansions: Sequence[str] | None = None,
        fold: bool = True,
        candidates: int = 100,
        *,
        fusion: str | None = None,
        priors: Sequence[tuple[Filters, float]] = (),
    ) -> list[Hit]:
        """The k best passages for ``query`` within ``filters``.

        mode: "hybrid" (BM25 + dense, fused), "bm25" or "dense". ``expansions`` (glossary
        terms) are added to the BM25 query and appended to the text the dense side encodes. With ``fold``, near-duplicates fold into the
        best-ranked copy's ``also_in``. ``fusion`` overrides the Searcher's setting.
        ``priors``: (filters, weight) pairs; passages a filter allows get ``weight`` added to
        their normalised score, and compete as candidates even when others outnumber them.
        They raise passages, never remove one.
        """
        _check(mode, fusion)
        qvec = None
        if mode != "bm25" and query.strip():
            qvec = self.embedder.encode_query(_dense_query(query, expansions))
        return self._search_one(query, qvec, k, mode, filters, expansions, fold, candidates, fusion, priors)

    def search_many(
        self,
        queries: Sequence[str],
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | Sequence[Filters | None] | None = None,
        expansions: Sequence[Sequence[str] | None] | None = None,
        fold: bool = True,
        candidates: int = 100,
        *,
        fusion: str | None = None,
    ) -> list[list[Hit]]:
        """`search` for many queries; query vectors are encoded in one batch.

        ``filters`` is one Filters for all queries or one per query; ``expansions`` is one
        list of terms per query (or None)."""
        _check(mode, fusion)
        queries = list(queries)
        per_filters = (
            list(filters) if isinstance(filters, (list, tuple)) else [filters] * len(queries)
        )
        per_exp = list(expansions) if expansions is not None else [None] * len(queries)
        if len(per_filters) != len(queries) or len(per_exp) != len(queries):
            raise ValueError("filters and expansions must have one entry per query")
        vecs: list[np.ndarray | None] = [None] * len(queries)
        if mode != "bm25":
            todo = [i for i, q in enumerate(queries) if q.strip()]
            if todo:
                encoded = self.embedder.encode_queries([_dense_query(queries[i], per_exp[i]) for i in todo])
                for i, v in zip(todo, encoded):
                    vecs[i] = v
        return [
            self._search_one(q, v, k, mode, f, e, fold, candidates, fusion)
            for q, v, f, e in zip(queries, vecs, per_filters, per_exp)
        ]

    def _search_one(
        self,
        query: str,
        qvec: np.ndarray | None,
        k: int,
        mode: str,
        filters: Filters | None,
        expansions: Sequence[str] | None,
        fold: bool,
        candidates: int,
        fusion: str | None,
        priors: Sequence[tuple[Filters, float]] = (),
    ) -> list[Hit]:
        n = len(self._chunks)
        if k <= 0 or not query.strip() or n == 0:
            return []
        mask = self._filters.mask(_as_filters(filters))
        if mask is not None and not mask.any():
            return []
        tokens = query_tokens(query, expansions) if mode != "dense" else []
        fusion = fusion or self.fusion
        n_cand = max(int(candidates), k)
        boosts = self._prior_masks(priors, mask)
        while True:
            lists: dict[str, list[tuple[int, float]]] = {}
            if mode in ("hybrid", "bm25"):
                lists["bm25"] = _with_preferred(lambda m: self._bm25.search(tokens, n_cand, m), mask, boosts)
            if mode in ("hybrid", "dense") and qvec is not None:
                lists["dense"] = _with_preferred(lambda m: self._dense.search(qvec, n_cand, m), mask, boosts)
                if self._sentences is not None:
                    lists["dense"] = self._sentences.rescore(lists["dense"], qvec)
            if mode == "hybrid":
                names = list(lists)
                weights = None
                if self.weights is not None:
                    by_name = dict(zip(("bm25", "dense"), self.weights))
                    weights = [by_name[name] for name in names]
                fused = fusion_mod.fuse(
                    [lists[name] for name in names],
                    fusion,
                    k=self.rrf_k,
                    weights=weights,
                    norm=self.norm,
                )
            else:
                fused = lists.get(mode, [])
            if boosts:
                fused = _boosted(fused, boosts)
            hits = self._assemble(fused, lists, k, fold, mask)
            truncated = any(len(res) >= n_cand for res in lists.values())
            if len(hits) >= k or not truncated or n_cand >= n:
                return hits
            n_cand = min(n, n_cand * 4)  # folding ate into k: look deeper

    def _prior_masks(self, priors: Sequence[tuple[Filters, float]], mask: np.ndarray | None
                     ) -> list[tuple[np.ndarray, float]]:
        out = []
        for f, weight in priors:
            m = self._filters.mask(_as_filters(f))
            if m is None or weight == 0:
                continue
            out.append((m if mask is None else (m & mask), float(weight)))
        return out

    def _assemble(
        self,
        fused: Sequence[tuple[int, float]],
        lists: dict[str, list[tuple[int, float]]],
        k: int,
        fold: bool,
        mask: np.ndarray | None,
    ) -> list[Hit]:
        per = {
            name: {row: (rank, score) for rank, (row, score) in enumerate(res, start=1)}
            for name, res in lists.items()
        }
        hits: list[Hit] = []
        group_hit: dict[int, Hit] = {}
        ranked_dups: dict[int, list[int]] = {}
        for row, score in fused:
            g = int(self._root[row])
            if fold and g in group_hit:
                ranked_dups[g].append(row)
                continue
            if len(hits) >= k:
                break
            c = self._chunks[row]
            ranks, scores = {}, {}
            for name, table in per.items():
                if row in table:
                    ranks[name], scores[name] = table[row][0], float(table[row][1])
            hit = Hit.from_chunk(c, len(hits) + 1, float(score), ranks=ranks, scores=scores)
            hits.append(hit)
            group_hit[g] = hit
            ranked_dups[g] = []
        if fold:
            for g, hit in group_hit.items():
                members = self._groups.get(g)
                if not members:
                    continue
                own = self._row[hit.chunk_id]
                ordered = list(dict.fromkeys([*ranked_dups[g], *members]))
                hit.also_in = [
                    _also_in_entry(self._chunks[r])
                    for r in ordered
                    if r != own and (mask is None or mask[r])
                ]
        return hits


def _with_preferred(search, mask: np.ndarray | None, boosts: list[tuple[np.ndarray, float]]
                    ) -> list[tuple[int, float]]:
    """One retriever's candidates, plus its best among each preferred set: a prior can only
    raise a passage that is among the candidates."""
    found = dict(search(mask))
    for preferred, _ in boosts:
        if preferred.any():
            found.update(search(preferred))
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def _boosted(fused: Sequence[tuple[int, float]], boosts: list[tuple[np.ndarray, float]]) -> list[tuple[int, float]]:
    """Scores min-max normalised over the candidates, plus each prior's weight where it
    applies; re-ranked."""
    if not fused:
        return []
    scores = np.array([s for _, s in fused], dtype=np.float64)
    lo, hi = float(scores.min()), float(scores.max())
    scores = (scores - lo) / (hi - lo) if hi > lo else np.ones_like(scores)
    rows = np.array([r for r, _ in fused])
    for preferred, weight in boosts:
        scores += weight * preferred[rows]
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    return [(int(rows[i]), float(scores[i])) for i in order]


def _as_filters(filters: Filters | dict | None) -> Filters | None:
    if filters is None or isinstance(filters, Filters):
        return filters
    if isinstance(filters, dict):
        return Filters(**filters)
    raise TypeError(f"filters must be a Filters, a dict or None, not {type(filters).__name__}")


def _check(mode: str, fusion: str | None) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}")
    if fusion is not None and fusion not in FUSIONS:
        raise ValueError(f"Unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}")
