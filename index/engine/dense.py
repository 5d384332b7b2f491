"""Dense retrieval with FAISS over normalised vectors (inner product = cosine).

* Up to `HNSW_THRESHOLD` chunks: ``IndexFlatIP`` (exact).
* Above it: ``IndexHNSWFlat(d, HNSW_M, METRIC_INNER_PRODUCT)``, efConstruction
  `EF_CONSTRUCTION`, efSearch `EF_SEARCH` (raised to k when k is larger).

Filters are applied inside the search with an ID selector passed in ``SearchParameters``
(``IDSelectorBitmap`` built from the filter's boolean mask: O(1) membership per
candidate), so the top-k comes from the allowed rows. Flat search with a selector is exact.
HNSW with a very selective filter can run out of graph before it has found k allowed rows;
when it returns fewer than ``min(k, allowed)``, the search is redone exactly over the
allowed rows, so a filtered search always fills k when k rows are allowed. A filter that
allows at most `EXACT_FILTERED_MAX` rows skips the graph altogether: the allowed rows are
scanned exactly in the HNSW index's own flat storage, which is both exact and faster than a
walk through a graph that is mostly disallowed (measured on 100k random 384-d rows: 0.8 ms
vs 3.6 ms with 1% allowed; 7.6 ms vs 5.2 ms with 20%, hence the cut-off).
"""

from __future__ import annotations

import threading
from pathlib import Path

import faiss
import numpy as np

HNSW_THRESHOLD = 20_000
HNSW_M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 256  # recall@10 vs exact search at 100k chunks: 0.97 with 128, 0.99 with 256, for
# ~0.5 ms more per query (benchmarks/, `python -m benchmarks`: comparisons.faiss_scaled)
EXACT_FILTERED_MAX = 10_000  # HNSW + a filter allowing at most this many rows: exact scan instead


def build_faiss(vectors: np.ndarray, hnsw_threshold: int | None = None) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    threshold = HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold
    if n > threshold:
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.hnsw.efSearch = EF_SEARCH
    else:
        index = faiss.IndexFlatIP(d)
    if n:
        index.add(vectors)
    return index


def index_kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


class DenseIndex:
    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self.kind = index_kind(index)
        self.n = int(index.ntotal)
        self.dims = int(index.d)
        self._vectors: np.ndarray | None = None
        self._vectors_lock = threading.Lock()

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int | None = None) -> "DenseIndex":
        return cls(build_faiss(vectors, hnsw_threshold))

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = EF_SEARCH
        return cls(index)

    @property
    def vectors(self) -> np.ndarray:
        """All stored vectors (rows in index order); reconstructed once, on demand."""
        if self._vectors is None:
            with self._vectors_lock:
                if self._vectors is None:
                    vecs = self.index.reconstruct_n(0, self.n) if self.n else np.zeros((0, self.dims), np.float32)
                    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
                    vecs.flags.writeable = False
                    self._vectors = vecs
        return self._vectors

    def _params(self, k: int, mask: np.ndarray | None):
        sel = None
        keep = None
        if mask is not None:
            keep = np.packbits(mask.astype(np.uint8), bitorder="little")
            sel = faiss.IDSelectorBitmap(len(keep), faiss.swig_ptr(keep))  # n = bytes
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(EF_SEARCH, k))
            if sel is not None:
                params.sel = sel
        elif sel is not None:
            params = faiss.SearchParameters(sel=sel)
        else:
            params = None
        return params, (sel, keep)  # keep the selector and its bitmap alive during search

    def _exact(self, query: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[int, float]]:
        scores = self.vectors[rows] @ query
        if len(rows) > k:
            part = np.argpartition(-scores, k - 1)[:k]
            rows, scores = rows[part], scores[part]
        order = np.lexsort((rows, -scores))
        return [(int(rows[i]), float(scores[i])) for i in order]

    def search_batch(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Top-k (row, cosine) per query among the allowed rows, best first."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        n_allowed = self.n if mask is None else int(mask.sum())
        k = min(k, n_allowed)
        if k <= 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        if self.kind == "hnsw" and mask is not None and n_allowed <= EXACT_FILTERED_MAX:
            # a selective filter: exact scan of the allowed rows in the graph's flat storage
            _params, alive = self._params(k, mask)
            storage = faiss.downcast_index(self.index.storage)
            D, I = storage.search(queries, k, params=faiss.SearchParameters(sel=alive[0]))
        else:
            params, _alive = self._params(k, mask)
            if params is None:
                D, I = self.index.search(queries, k)
            else:
                D, I = self.index.search(queries, k, params=params)
        out: list[list[tuple[int, float]]] = []
        for qi in range(len(queries)):
            valid = I[qi] >= 0
            res = [(int(i), float(d)) for i, d in zip(I[qi][valid], D[qi][valid])]
            res.sort(key=lambda item: (-item[1], item[0]))  # deterministic order for ties
            if len(res) < k and self.kind == "hnsw":
                # HNSW ran out of graph inside a selective filter: search the allowed rows exactly.
                # (Flat search with a selector is exact and always fills k.)
                rows = np.arange(self.n) if mask is None else np.flatnonzero(mask)
                res = self._exact(queries[qi], k, rows)
            out.append(res)
        return out

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        return self.search_batch(query[None, :] if query.ndim == 1 else query, k, mask)[0]
