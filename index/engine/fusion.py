"""Rank fusion: reciprocal rank fusion and normalised weighted sums.

A *ranking* is a list of ``(id, score)`` pairs, best first; the position in the list is
the rank (1-based), the score is only used by `weighted`. Both functions return one fused
list of ``(id, fused_score)``, best first.

Ties in the fused score are broken by the best rank the id reached in any input ranking,
then by the order of the rankings (the first ranking wins), so results are deterministic.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

Ranking = Sequence[tuple[Hashable, float]]

RRF_K = 60  # Cormack et al. 2009; also ranx's default


def _weights(rankings: Sequence[Ranking], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights given for {len(rankings)} rankings")
    return [float(w) for w in weights]


def _order(rankings: Sequence[Ranking]) -> dict[Hashable, tuple[int, int]]:
    """id -> (best rank reached, index of the first ranking reaching it): the tie-break key."""
    best: dict[Hashable, tuple[int, int]] = {}
    for r_idx, ranking in enumerate(rankings):
        for pos, (doc, _score) in enumerate(ranking):
            key = (pos, r_idx)
            if doc not in best or key < best[doc]:
                best[doc] = key
    return best


def _sorted(scores: dict[Hashable, float], order: dict[Hashable, tuple[int, int]]):
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def rrf(
    rankings: Sequence[Ranking], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[Hashable, float]]:
    """Reciprocal rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))``.

    ``rank_i(d)`` is d's 1-based position in ranking i; a ranking that does not contain d
    contributes nothing. If an id appears twice in one ranking, its first position counts.
    With unit weights and ``k=60`` this is ranx's ``fuse(runs, method="rrf")``.
    """
    w = _weights(rankings, weights)
    fused: dict[Hashable, float] = {}
    for weight, ranking in zip(w, rankings):
        seen: set[Hashable] = set()
        for pos, (doc, _score) in enumerate(ranking):
            if doc in seen:
                continue
            seen.add(doc)
            fused[doc] = fused.get(doc, 0.0) + weight / (k + pos + 1)
    return _sorted(fused, _order(rankings))


def _normalise(scores: np.ndarray, norm: str) -> np.ndarray:
    if len(scores) == 0:
        return scores
    if norm == "minmax":
        lo, hi = float(scores.min()), float(scores.max())
        if hi - lo <= 1e-12:
            # Every candidate scored the same: all are equally the best this retriever has.
            return np.ones_like(scores)
        return (scores - lo) / (hi - lo)
    if norm == "zscore":
        std = float(scores.std())  # population std, as ranx's "zmuv"
        if std <= 1e-12:
            return np.zeros_like(scores)
        return (scores - float(scores.mean())) / std
    raise ValueError(f"Unknown normalisation {norm!r}: use 'minmax' or 'zscore'")


def weighted(
    rankings: Sequence[Ranking],
    weights: Sequence[float] | None = None,
    norm: str = "minmax",
) -> list[tuple[Hashable, float]]:
    """Weighted sum of per-ranking normalised scores.

    Each ranking's scores are normalised on their own (``"minmax"`` to [0, 1], or
    ``"zscore"``), multiplied by the ranking's weight and summed; an id missing from a
    ranking gets nothing from it (as ranx's ``wsum``). Equal weights when ``weights`` is
    None. One difference from ranx: under min-max, a ranking whose scores are all equal
    maps them to 1 (ranx maps them to 0, which would silently drop that retriever).
    """
    w = _weights(rankings, weights)
    fused: dict[Hashable, float] = {}
    for weight, ranking in zip(w, rankings):
        seen: set[Hashable] = set()
        docs: list[Hashable] = []
        raw: list[float] = []
        for doc, score in ranking:
            if doc in seen:
                continue
            seen.add(doc)
            docs.append(doc)
            raw.append(float(score))
        normed = _normalise(np.asarray(raw, dtype=np.float64), norm)
        for doc, value in zip(docs, normed):
            fused[doc] = fused.get(doc, 0.0) + weight * float(value)
    return _sorted(fused, _order(rankings))


def fuse(
    rankings: Sequence[Ranking],
    method: str = "rrf",
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
    norm: str = "minmax",
) -> list[tuple[Hashable, float]]:
    """Dispatch on ``method``: ``"rrf"`` or ``"weighted"``."""
    if method == "rrf":
        return rrf(rankings, k=k, weights=weights)
    if method == "weighted":
        return weighted(rankings, weights=weights, norm=norm)
    raise ValueError(f"Unknown fusion {method!r}: use 'rrf' or 'weighted'")
