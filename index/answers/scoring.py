"""Sentence scores: how well each sentence of the retrieved passages answers the question.

    score = 0.60 · cosine(question, sentence) + 0.30 · term overlap + 0.10 · rank prior

* cosine: the index's stored sentence vectors (`index.engine.sentence_vectors`) against
  the question's vector; sentences without a stored vector (a searcher that stores none)
  are embedded, the best ``MAX_ENCODE_PER_PASSAGE`` per passage by term overlap, at most
  ``MAX_ENCODE`` per question, and cached per searcher.
* term overlap: weighted share of the question's terms (`index.answers.terms`) found in
  the sentence, each weighted by its rarity among the candidate sentences.
* rank prior: 1/√rank of the passage in the retrieved list.
* adjustments: × 0.85 under four words; × 0.8 for a heading-like line without figures;
  + 0.04 in questions answered period by period for a sentence that states a change
  (increased, fell, "from 196 … to 212", since …); + 0.05 when the question asks for a
  quantity ("how many", "what percentage" …) and the sentence has a figure (a percentage,
  for percentage/proportion/rate questions).
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from index.answers.terms import (
    PHRASE_WEIGHT,
    SentenceFeatures,
    Terms,
    features,
    present,
)
from index.query.glossary import Glossary
from index.records import Hit
from ingest.sentences import evidence_spans, is_heading_like, n_words, span_text

__all__ = ["EvidenceSource", "Passage", "score_sentences", "quantity_pattern", "support", "is_strong",
           "STRONG_LEX", "STRONG_SUPPORT"]

W_COS, W_LEX, W_PRIOR = 0.60, 0.30, 0.10
SHORT_WORDS, SHORT_FACTOR = 4, 0.85
HEADING_FACTOR = 0.8  # heading-like sentences without figures
CHANGE_BONUS = 0.04  # change-over-time questions: sentences that state a change
QUANTITY_BONUS = 0.05  # "how many / what percentage …" questions: sentences with a figure
MAX_ENCODE_PER_PASSAGE = 8  # sentences embedded per passage (best term overlap first)
MAX_ENCODE = 120  # sentences embedded per question

# Strong / weak: support = cosine + STRONG_LEX × term overlap of the best sentence.
STRONG_LEX = 0.5
STRONG_SUPPORT = 0.75

_QUANTITY_Q = re.compile(
    r"\b(?:how\s+(?:many|much|often|long|quickly|big|large|high|low)|what\s+(?:percentage|proportion|"
    r"share|number|rate|level|amount)|number\s+of|percentage|proportion|rate\s+of|by\s+how\s+much|"
    r"how\s+far|figures?|statistics?|headcount|total)\b",
    re.IGNORECASE,
)
_PERCENT_Q = re.compile(r"\b(?:percentage|proportion|share|percent|per\s+cent)\b|%|\brate\b", re.IGNORECASE)
_PERCENT = re.compile(r"\d\s*(?:%|percent\b|per\s+cent\b)", re.IGNORECASE)
_FIGURE = re.compile(r"(?<![\w.])(?!(?:199\d|20[0-2]\d|203[0-5])\b)\d[\d,.]*(?:\s*(?:%|percent|per cent))?")
_CHANGE = re.compile(
    r"\b(?:increas\w*|decreas\w*|rose|risen|rising|fell|fallen|falling|declin\w*|reduc\w*|"
    r"improv\w*|deteriorat\w*|worsen\w*|dropp\w*|doubled|halved|grew|grown|up from|down from|"
    r"compared (?:with|to)|since|previous(?:ly)?|last year|no longer|now)\b|\bfrom\s+[\d,.]+%?\s+(?:in\s+\S+\s+)?to\s+[\d,.]+",
    re.IGNORECASE,
)


class EvidenceSource(Protocol):
    """What evidence selection needs from an index (`index.engine.Searcher` is one)."""

    def documents(self) -> list[dict[str, Any]]: ...

    def doc_text(self, doc_id: str) -> str | None: ...

    def sentence_vectors(self, chunk_id: str) -> dict[tuple[int, int], np.ndarray] | None: ...

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class Passage:
    """A retrieved passage, its group (period label or "All years") and its sentences' scores."""

    hit: Hit
    rank: int  # 1-based rank in the retrieved list
    group: str
    group_key: tuple
    spans: list[tuple[int, int]] = field(default_factory=list)
    feats: list[SentenceFeatures] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    cosines: list[float] = field(default_factory=list)
    overlaps: list[float] = field(default_factory=list)


def quantity_pattern(question: str) -> re.Pattern[str] | None:
    """What a figure looks like when the question asks for one, else None."""
    if not _QUANTITY_Q.search(question):
        return None
    return _PERCENT if _PERCENT_Q.search(question) else _FIGURE


_VEC_CACHE: "weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
_VEC_LOCK = threading.Lock()
_VEC_CACHE_MAX = 20000


def _normalise(v: np.ndarray) -> np.ndarray:
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return v / n


def _encode_sentences(searcher: EvidenceSource, texts: list[str]) -> np.ndarray:
    with _VEC_LOCK:
        cache = _VEC_CACHE.setdefault(searcher, {})
        found = {t: cache[t] for t in texts if t in cache}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        vecs = _normalise(np.asarray(searcher.encode_texts(missing), dtype=np.float32))
        with _VEC_LOCK:
            for t, v in zip(missing, vecs):
                found[t] = v
                if len(cache) < _VEC_CACHE_MAX:
                    cache[t] = v
    return np.stack([found[t] for t in texts])


def _stored_vectors(searcher: EvidenceSource, passages: list[Passage]) -> dict[tuple[int, int], np.ndarray]:
    """(passage index, sentence index) -> the vector the index stored for that sentence."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for k, p in enumerate(passages):
        by_span = searcher.sentence_vectors(p.hit.chunk_id)
        if not by_span:
            continue
        for i, span in enumerate(p.spans):
            v = by_span.get(tuple(span))
            if v is not None:
                out[(k, i)] = v
    return out


def _overlaps(passages: list[Passage], terms: Terms) -> None:
    """Each sentence's weighted share of the question's terms, rarer terms weighing more."""
    feats = [f for p in passages for f in p.feats]
    n = len(feats)
    idf: dict[tuple[str, str], float] = {}
    for st in terms.words:
        idf[("w", st)] = 1.0 + math.log((n + 1) / (sum(1 for f in feats if st in f.stems) + 1))
    for c in terms.concepts:
        idf[("c", c)] = 1.0 + math.log((n + 1) / (sum(1 for f in feats if c in f.concepts) + 1))
    for ph in terms.phrases:
        idf[("p", ph)] = 1.0 + math.log((n + 1) / (sum(1 for f in feats if ph in f.folded) + 1))
    total = (
        sum(w * idf[("w", st)] for st, w in terms.words.items())
        + sum(w * idf[("c", c)] for c, w in terms.concepts.items())
        + sum(PHRASE_WEIGHT * idf[("p", ph)] for ph in terms.phrases)
    )
    for p in passages:
        p.overlaps = []
        for f in p.feats:
            words, concepts, phrases = present(terms, f)
            got = (
                sum(terms.words[st] * idf[("w", st)] for st in words)
                + sum(terms.concepts[c] * idf[("c", c)] for c in concepts)
                + sum(PHRASE_WEIGHT * idf[("p", ph)] for ph in phrases)
            )
            p.overlaps.append(got / total if total > 0 else 0.0)


def _cosines(searcher: EvidenceSource, cos_query: str, passages: list[Passage]) -> dict[tuple[int, int], float]:
    """Cosines of the sentences that get one: every sentence with a stored vector, and
    within the encoding budget the best few by term overlap of the others."""
    chosen: list[tuple[int, int]] = []
    order = sorted(range(len(passages)), key=lambda k: (passages[k].rank, passages[k].group_key))
    for k in order:
        p = passages[k]
        idx = sorted(range(len(p.spans)), key=lambda i: (-p.overlaps[i], i))[:MAX_ENCODE_PER_PASSAGE]
        for i in sorted(idx):
            if len(chosen) < MAX_ENCODE:
                chosen.append((k, i))
    stored = _stored_vectors(searcher, passages)
    chosen = list(dict.fromkeys([*chosen, *stored]))
    if not chosen:
        return {}
    qv = _normalise(np.asarray(searcher.encode_queries([cos_query]), dtype=np.float32))[0]
    missing = [key for key in chosen if key not in stored]
    if missing:
        vecs = _encode_sentences(searcher, [span_text(passages[k].hit.text, passages[k].spans[i]) for k, i in missing])
        stored = {**stored, **dict(zip(missing, vecs))}
    return {key: float(stored[key] @ qv) for key in chosen}


def score_sentences(searcher: EvidenceSource, cos_query: str, passages: list[Passage], terms: Terms,
                    glossary: Glossary, temporal: bool, quantity: re.Pattern[str] | None = None) -> None:
    """Score every sentence of every passage in place (``p.scores``; -inf for sentences left
    unscored by the encoding budget)."""
    texts_by_p: list[list[str]] = []
    for p in passages:
        p.spans = evidence_spans(p.hit.text)
        texts = [p.hit.text[a:b] for a, b in p.spans]
        p.feats = [features(t, glossary) for t in texts]
        texts_by_p.append(texts)
    if not any(p.feats for p in passages):
        return
    _overlaps(passages, terms)
    cos_of = _cosines(searcher, cos_query, passages)
    for k, p in enumerate(passages):
        prior = 1.0 / math.sqrt(max(1, p.rank))
        p.scores, p.cosines = [], []
        for i, text in enumerate(texts_by_p[k]):
            if (k, i) not in cos_of:
                p.scores.append(float("-inf"))
                p.cosines.append(0.0)
                continue
            c = cos_of[(k, i)]
            sc = W_COS * c + W_LEX * p.overlaps[i] + W_PRIOR * prior
            if n_words(text) < SHORT_WORDS:
                sc *= SHORT_FACTOR
            elif is_heading_like(text) and not any(ch.isdigit() for ch in text):
                sc *= HEADING_FACTOR
            if temporal and _CHANGE.search(text):
                sc += CHANGE_BONUS
            if quantity is not None and quantity.search(text):
                sc += QUANTITY_BONUS
            p.scores.append(sc)
            p.cosines.append(c)


def support(cos: float, overlap: float) -> float:
    """How well one sentence supports an answer: cosine plus a share of term overlap."""
    return cos + STRONG_LEX * overlap


def is_strong(passages: list[Passage]) -> bool:
    """Strong when some scored sentence has support ≥ STRONG_SUPPORT."""
    best = 0.0
    for p in passages:
        for sc, c, o in zip(p.scores, p.cosines, p.overlaps):
            if sc != float("-inf"):
                best = max(best, support(c, o))
    return best >= STRONG_SUPPORT
