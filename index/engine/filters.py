"""Metadata filters, and the per-chunk arrays that turn them into a boolean mask.

Filters are applied *inside* both retrievers (BM25 ranks only the allowed rows; FAISS
searches with an ID selector), never by dropping hits after a top-k, so a filtered search
returns as many results from the allowed set as exist, up to k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ingest.records import Chunk


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _fold(text: str | None) -> str | None:
    return text.casefold().strip() if text is not None else None


@dataclass(frozen=True)
class Filters:
    """What a search may return.

    * ``year_from`` / ``year_to``: a chunk matches if **any** of its ``years`` lies in
      ``[year_from, year_to]`` (inclusive; either end may be ``None`` = open). A chunk with no
      years never matches a year filter.
    * ``forces`` / ``doc_types``: the chunk's value must be one of these (compared
      case-insensitively). A chunk whose force is unknown never matches a force filter.
    * ``doc_ids``: the chunk's document must be one of these (exact).

    ``None`` means "no restriction"; an empty list means "nothing matches".
    """

    year_from: int | None = None
    year_to: int | None = None
    forces: tuple[str, ...] | None = None
    doc_types: tuple[str, ...] | None = None
    doc_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # Accept lists / sets / a single string from callers; store hashable tuples.
        object.__setattr__(self, "forces", _as_tuple(self.forces))
        object.__setattr__(self, "doc_types", _as_tuple(self.doc_types))
        object.__setattr__(self, "doc_ids", _as_tuple(self.doc_ids))
        for name in ("year_from", "year_to"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, int(value))

    def is_empty(self) -> bool:
        """True when the filter allows every chunk."""
        return (
            self.year_from is None
            and self.year_to is None
            and self.forces is None
            and self.doc_types is None
            and self.doc_ids is None
        )

    def matches(self, chunk: Chunk) -> bool:
        """Reference (per-chunk) semantics; `FilterIndex.mask` is the vectorised version."""
        return self._allows(chunk.years, chunk.force, chunk.doc_type, chunk.doc_id)

    def allows_document(self, doc: Mapping[str, Any]) -> bool:
        """Does a document summary (as `Searcher.documents` gives it: years, force, doc_type,
        doc_id) pass? The same rules as `matches`; a document's years are all its chunks'
        years, so (force and type being per document) it passes exactly when one of its
        chunks would."""
        return self._allows(doc.get("years") or (), doc.get("force"), doc.get("doc_type"), doc.get("doc_id"))

    def _allows(self, years: Iterable[int], force: str | None, doc_type: str | None, doc_id: str | None) -> bool:
        # The one statement of the rules for a single record (chunk or document summary).
        if self.year_from is not None or self.year_to is not None:
            lo = self.year_from if self.year_from is not None else -(10**9)
            hi = self.year_to if self.year_to is not None else 10**9
            if not any(lo <= int(y) <= hi for y in years):
                return False
        if self.forces is not None:
            if force is None or _fold(force) not in {_fold(f) for f in self.forces}:
                return False
        if self.doc_types is not None:
            if _fold(doc_type) not in {_fold(t) for t in self.doc_types}:
                return False
        if self.doc_ids is not None and doc_id not in set(self.doc_ids):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "year_from": self.year_from,
            "year_to": self.year_to,
            "forces": list(self.forces) if self.forces is not None else None,
            "doc_types": list(self.doc_types) if self.doc_types is not None else None,
            "doc_ids": list(self.doc_ids) if self.doc_ids is not None else None,
        }


class _Codes:
    """Maps each chunk's value of one field to an integer code, for np.isin."""

    def __init__(self, values: Sequence[str | None]) -> None:
        self.table: dict[str, int] = {}
        codes = np.empty(len(values), dtype=np.int32)
        for i, value in enumerate(values):
            if value is None:
                codes[i] = -1
                continue
            codes[i] = self.table.setdefault(value, len(self.table))
        self.codes = codes

    def mask(self, wanted: Iterable[str | None]) -> np.ndarray:
        want = [self.table[w] for w in wanted if w is not None and w in self.table]
        if not want:
            return np.zeros(len(self.codes), dtype=bool)
        return np.isin(self.codes, np.asarray(want, dtype=np.int32))


class FilterIndex:
    """Per-chunk metadata as numpy arrays; ``mask(filters)`` is one vectorised pass.

    It restates `Filters._allows` over arrays, because a per-chunk Python loop would cost
    every search O(n); tests check the two agree chunk for chunk."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.n = len(chunks)
        # Ragged years flattened: year value and the row it belongs to.
        rows: list[int] = []
        years: list[int] = []
        for i, chunk in enumerate(chunks):
            for y in chunk.years:
                rows.append(i)
                years.append(int(y))
        self._year_rows = np.asarray(rows, dtype=np.int64)
        self._year_values = np.asarray(years, dtype=np.int64)
        self._forces = _Codes([_fold(c.force) for c in chunks])
        self._types = _Codes([_fold(c.doc_type) for c in chunks])
        self._docs = _Codes([c.doc_id for c in chunks])

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean array over rows (True = allowed), or None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        allowed = np.ones(self.n, dtype=bool)
        if filters.year_from is not None or filters.year_to is not None:
            hit = np.ones(len(self._year_values), dtype=bool)
            if filters.year_from is not None:
                hit &= self._year_values >= filters.year_from
            if filters.year_to is not None:
                hit &= self._year_values <= filters.year_to
            in_range = np.zeros(self.n, dtype=bool)
            in_range[self._year_rows[hit]] = True
            allowed &= in_range
        if filters.forces is not None:
            allowed &= self._forces.mask(_fold(f) for f in filters.forces)
        if filters.doc_types is not None:
            allowed &= self._types.mask(_fold(t) for t in filters.doc_types)
        if filters.doc_ids is not None:
            allowed &= self._docs.mask(filters.doc_ids)
        return allowed


def parse_year_range(text: str | None) -> tuple[int | None, int | None]:
    """An explicit year filter as a user types it: '2017' → (2017, 2017); '2016-2018' or
    '2016-18' → (2016, 2018); '2016-' / '-2018' open. ValueError says what is wrong."""
    if not text:
        return None, None
    t = text.strip().replace("–", "-").replace("/", "-")
    parts = t.split("-")
    try:
        if len(parts) == 1:
            y = int(parts[0])
            return y, y
        if len(parts) == 2:
            a = int(parts[0]) if parts[0] else None
            b = int(parts[1]) if parts[1] else None
            if a is not None and b is not None and b < 100:
                b = (a // 100) * 100 + b
            if a is not None and b is not None and a > b:
                raise ValueError
            for y in (a, b):
                if y is not None and not 1900 <= y <= 2100:
                    raise ValueError
            return a, b
    except ValueError:
        pass
    raise ValueError(f"not a year or year range: {text!r} (try 2017, 2016-2018, 2016- or -2018)")
