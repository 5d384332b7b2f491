"""``retrieve``: the one retrieval path. `peel search`, `peel ask`, the app, exports and
`peel eval` all take their passages from here.

    prepared = prepare_query(searcher, "how did DVPO use change 2016-2018?")
    hits = retrieve(searcher, prepared, k=10)
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from index.engine.filters import Filters
from index.query.groups import cover_forces
from index.query.periods import cover_periods
from index.query.prepare import PreparedQuery
from index.records import Hit

__all__ = ["Retriever", "retrieve"]


class Retriever(Protocol):
    """What retrieval needs from an index (`index.engine.Searcher` is one)."""

    def search(self, query: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
               expansions: Sequence[str] | None = None, *,
               priors: Sequence[tuple[Filters, float]] = ()) -> list[Hit]: ...

    def documents(self) -> list[dict[str, Any]]: ...

    def prime(self, queries: Sequence[str], expansions: Sequence[str] | None = None) -> None: ...


def retrieve(searcher: Retriever, prepared: PreparedQuery, k: int = 10, mode: str = "hybrid") -> list[Hit]:
    """The top ``k`` passages for a prepared question, within its filters.

    The question's text goes to both retrievers, its glossary expansions to BM25 and to the
    dense query; passages that speak of the years or forces it names are raised. A question
    answered period by period also has the best passages of each period in its time frame
    kept in the top k (`index.query.periods.cover_periods`); one compared force by force, the
    best passages of each force (`index.query.groups.cover_forces`).
    """
    if prepared.empty or k <= 0:
        return []
    if prepared.by_period and mode != "bm25":
        # the question and its topic are encoded in one batch: cheaper than two encodes
        searcher.prime([prepared.text, prepared.topic], prepared.expansions)
    hits = searcher.search(prepared.text, k=k, mode=mode, filters=prepared.filters, expansions=prepared.expansions,
                           priors=prepared.priors)
    if prepared.by_period and hits:
        hits = cover_periods(searcher, prepared, hits, k, mode)
    elif prepared.by_force and hits:
        hits = cover_forces(searcher, prepared, hits, k, mode)
    return hits
