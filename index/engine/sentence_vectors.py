"""Sentence-level dense evidence: every chunk's sentences, embedded once at build time.

A chunk's vector averages everything in it, so one sentence that answers the question is
diluted by the sentences around it. The dense retriever therefore scores a chunk by

    (1 - SENTENCE_WEIGHT) · cos(query, chunk) + SENTENCE_WEIGHT · max cos(query, sentence)

(MaxP-style evidence). The weight was chosen on the dev split of the labelled set
(``peel eval`` with the corpus-adapted model; weights 0–0.6, best mean of Recall@5,
MRR@10 and nDCG@10) and checked on the held-out test split, where it also beats chunk
vectors alone (README, "Evaluation").

The same vectors serve `peel ask`: its answer sentences are the same spans, so answering
needs no sentence embedding at query time.

Files in the index folder (``.npy``, loaded with ``allow_pickle=False``)::

    sentence_offsets.npy   int64 (n_chunks + 1,): chunk i's sentences are rows offsets[i]:offsets[i+1]
    sentence_spans.npy     int32 (n_sentences, 2): (start, end) in the chunk's text
    sentence_vectors.npy   float32 (n_sentences, dims), L2-normalised
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ingest.sentences import evidence_spans, span_text

__all__ = [
    "SENTENCE_WEIGHT",
    "SentenceTable",
]

SENTENCE_WEIGHT = 0.5
OFFSETS = "sentence_offsets.npy"
SPANS = "sentence_spans.npy"
VECTORS = "sentence_vectors.npy"
FILES = (OFFSETS, SPANS, VECTORS)


@dataclass(frozen=True)
class SentenceTable:
    """Sentence spans and vectors of every chunk, in chunk row order."""

    offsets: np.ndarray
    spans: np.ndarray
    vectors: np.ndarray

    @classmethod
    def from_chunks(cls, texts: Sequence[str]) -> tuple[list[tuple[int, int]], list[str], np.ndarray]:
        """(spans, span texts, offsets) for chunk texts; vectors come from the caller."""
        spans: list[tuple[int, int]] = []
        sent_texts: list[str] = []
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        for i, text in enumerate(texts):
            own = evidence_spans(text)
            spans += own
            sent_texts += [span_text(text, sp) for sp in own]
            offsets[i + 1] = len(spans)
        return spans, sent_texts, offsets

    def __post_init__(self) -> None:
        if len(self.spans) != len(self.vectors) or int(self.offsets[-1]) != len(self.spans):
            raise ValueError(
                f"sentence table is inconsistent: {len(self.spans)} spans, {len(self.vectors)} "
                f"vectors, offsets end at {int(self.offsets[-1])}"
            )

    @property
    def n_chunks(self) -> int:
        return len(self.offsets) - 1

    def save(self, folder: Path) -> None:
        np.save(folder / OFFSETS, self.offsets.astype(np.int64), allow_pickle=False)
        np.save(folder / SPANS, self.spans.astype(np.int32).reshape(-1, 2), allow_pickle=False)
        np.save(folder / VECTORS, self.vectors.astype(np.float32), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "SentenceTable":
        def read(name: str) -> np.ndarray:
            try:
                return np.load(folder / name, allow_pickle=False, mmap_mode="r")
            except ValueError:  # an empty array cannot be memory-mapped
                return np.load(folder / name, allow_pickle=False)

        return cls(*(read(name) for name in FILES))

    def chunk_sentences(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(spans, vectors) of chunk ``row``."""
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        return np.asarray(self.spans[a:b]), np.asarray(self.vectors[a:b])

    def best_similarity(self, rows: Sequence[int], query: np.ndarray) -> np.ndarray:
        """For each chunk row, the highest cosine between ``query`` and one of its
        sentences (NaN for a chunk without sentences)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(len(rows), np.nan, dtype=np.float32)
        if len(rows) == 0:
            return out
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        counts = (ends - starts).astype(np.int64)
        if counts.sum() == 0:
            return out
        sent_rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
        sims = np.asarray(self.vectors[sent_rows]) @ query.astype(np.float32)
        owner = np.repeat(np.arange(len(rows)), counts)
        best = np.full(len(rows), -np.inf, dtype=np.float32)
        np.maximum.at(best, owner, sims)
        has = counts > 0
        out[has] = best[has]
        return out

    def rescore(self, ranking: Sequence[tuple[int, float]], query: np.ndarray) -> list[tuple[int, float]]:
        """A dense ranking re-scored with sentence evidence and re-sorted (ties: old order)."""
        if not ranking:
            return []
        rows = [r for r, _ in ranking]
        chunk = np.array([s for _, s in ranking], dtype=np.float32)
        best = self.best_similarity(rows, query)
        best = np.where(np.isnan(best), chunk, best)
        mixed = (1.0 - SENTENCE_WEIGHT) * chunk + SENTENCE_WEIGHT * best
        order = np.lexsort((np.arange(len(rows)), -mixed))
        return [(rows[i], float(mixed[i])) for i in order]
