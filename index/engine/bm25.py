"""Lexical retrieval: BM25 over each chunk's heading path + text, with bm25s.

Scoring variant
---------------
``method="atire"`` (term-frequency part ``tf·(k1+1) / (tf + k1·(1-b+b·|d|/avgdl))``) with
``idf_method="robertson"`` (``log((N-df+0.5)/(df+0.5))``, floored at 0), k1=1.5, b=0.75.
This is bm25s's own recipe for reproducing rank_bm25's ``BM25Okapi``: the scores are equal
(to float32 precision) to ``BM25Okapi(tokens, k1=1.5, b=0.75, epsilon=0)``, and equal to
the default ``BM25Okapi`` (epsilon=0.25) for every query whose terms occur in fewer than
half of the chunks. The one difference left is rank_bm25's epsilon rule: where a term
occurs in more than half the chunks its Robertson idf is negative, and rank_bm25 replaces
it by ``0.25 × mean idf`` of the whole vocabulary, while bm25s floors it at 0. That term
then carries no weight here, which is what its idf says anyway.

Tokenisation (same for chunks, queries and expansion terms): lower-case, words of two or
more word characters (bm25s's default pattern), English stop-words (bm25s's list) removed,
PyStemmer's English (Snowball/Porter2) stemmer.

Files: bm25s's own ``save`` (``*.npy`` written with ``allow_pickle=False`` + JSON vocab and
params), loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Sequence


def _import_bm25s():
    """``import bm25s`` without letting it import numba. bm25s imports numba (and llvmlite)
    whenever it is installed (ranx installs it), only for its optional numba backend; this
    index uses the numpy backend (bm25s's default), so that import was 0.3–0.9 s of every
    `peel` start (``python -X importtime``; cold start benchmark in benchmarks/). If
    something imported numba already, nothing is blocked; numba stays importable after."""
    block = "numba" not in sys.modules
    if block:
        sys.modules["numba"] = None  # type: ignore[assignment]  # `import numba` → ImportError
    try:
        import bm25s as module
    finally:
        if block and "numba" in sys.modules and sys.modules["numba"] is None:
            del sys.modules["numba"]
    return module


bm25s = _import_bm25s()

import numpy as np  # noqa: E402
from bm25s.stopwords import STOPWORDS_EN  # noqa: E402

from index.text import STEMMER_LANGUAGE, stemmer  # noqa: E402

K1 = 1.5
B = 0.75
METHOD = "atire"
IDF_METHOD = "robertson"

TOKEN_PATTERN = r"(?u)\b\w\w+\b"
STOPWORDS = frozenset(STOPWORDS_EN)

# Tokens are BM25's own (scikit-learn's pattern: part of the index format); stems are
# the one analyser's (`index.text`), so a word matches here as it does in answers.
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def tokenizer_settings() -> dict:
    """What the manifest records; a change here means the index must be rebuilt."""
    return {
        "pattern": TOKEN_PATTERN,
        "lowercase": True,
        "stopwords": "bm25s.stopwords.STOPWORDS_EN",
        "n_stopwords": len(STOPWORDS),
        "stemmer": f"PyStemmer:{STEMMER_LANGUAGE}",
    }


def tokenize(text: str) -> list[str]:
    """Lower-case, split, drop stop-words, stem."""
    words = [w for w in _TOKEN_RE.findall(text.lower()) if w not in STOPWORDS]
    return stemmer().stemWords(words) if words else []


def query_tokens(query: str, expansions: Sequence[str] | None = None) -> list[str]:
    """The query's tokens, then each expansion token not already there (once each)."""
    tokens = tokenize(query)
    if expansions:
        seen = set(tokens)
        for term in expansions:
            for tok in tokenize(term):
                if tok not in seen:
                    seen.add(tok)
                    tokens.append(tok)
    return tokens


class BM25Index:
    """A bm25s index over rows 0..N-1 (the chunk order of the index folder)."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self.retriever = retriever
        self.vocab: dict[str, int] = retriever.vocab_dict
        self.n_docs = int(retriever.scores["num_docs"])

    @classmethod
    def build(cls, texts: Sequence[str]) -> "BM25Index":
        corpus_tokens = [tokenize(t) for t in texts]
        return cls.from_tokens(corpus_tokens)

    @classmethod
    def from_tokens(cls, corpus_tokens: Sequence[Sequence[str]]) -> "BM25Index":
        if not corpus_tokens:
            raise ValueError("BM25 needs at least one document")
        # Build the vocabulary ourselves (sorted: reproducible ids) and hand bm25s token ids,
        # so it never has to guess what kind of corpus it was given.
        vocab = {tok: i for i, tok in enumerate(sorted({t for doc in corpus_tokens for t in doc}))}
        if not vocab:  # nothing but stop-words: keep bm25s happy, every score will be 0
            vocab = {"": 0}
        ids = [[vocab[t] for t in doc] for doc in corpus_tokens]
        retriever = bm25s.BM25(k1=K1, b=B, method=METHOD, idf_method=IDF_METHOD)
        with np.errstate(invalid="ignore", divide="ignore"):  # avgdl = 0 when all docs are empty
            retriever.index((ids, vocab), show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder), show_progress=False, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        retriever = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False, show_progress=False)
        return cls(retriever)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for these query tokens (float32, length N)."""
        ids = [self.vocab[t] for t in tokens if t in self.vocab]
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return self.retriever.get_scores_from_ids(ids)

    def search(
        self, tokens: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k rows by score among the allowed rows (``mask``), best first.

        Only rows that score above zero (contain at least one query term with positive idf)
        are ranked; ties are broken by row order.
        """
        if k <= 0:
            return []
        scores = self.scores(tokens)
        ok = scores > 0
        if mask is not None:
            ok &= mask
        rows = np.flatnonzero(ok)
        if len(rows) == 0:
            return []
        cand = scores[rows]
        if len(rows) > k:
            part = np.argpartition(-cand, k - 1)[:k]
            rows, cand = rows[part], cand[part]
        order = np.lexsort((rows, -cand))  # score desc, then row asc
        return [(int(rows[i]), float(cand[i])) for i in order]
