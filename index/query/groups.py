"""Keeping every group of evidence in the top k: each period of a change question
(`index.query.periods.cover_periods`) or each force of a comparison (`cover_forces`).

One report's many good passages can fill the top 10; each group is also searched on its own
and its best passages are merged in (`merge_picks`): a pick not already shown replaces the
lowest-ranked hit that was not itself picked for a group.
"""

from __future__ import annotations

from typing import Any

from index.engine.filters import Filters
from index.records import Hit

__all__ = ["FORCE_QUOTA", "MAX_FORCES", "NO_FORCE", "merge_picks", "cover_forces", "force_label"]

FORCE_QUOTA = 2  # best passages per force kept in the top k of a comparison
MAX_FORCES = 6  # columns a comparison shows at most, unless the filter names more
NO_FORCE = "No single force"  # thematic documents, news about many forces


def force_label(hit: Hit) -> str:
    return hit.force or NO_FORCE


def merge_picks(hits: list[Hit], picks: list[Hit], k: int) -> list[Hit]:
    """``hits[:k]`` with ``picks`` merged in, ranks renumbered."""
    def ids(h: Hit) -> set[str]:
        return {h.chunk_id, *(d.get("chunk_id") for d in h.also_in)}

    result = list(hits[:k])
    shown = set().union(*(ids(h) for h in result)) if result else set()
    pick_ids = set().union(*(ids(p) for p in picks)) if picks else set()
    for pick in picks:
        if ids(pick) & shown:
            continue
        removable = [i for i, h in enumerate(result) if not (ids(h) & pick_ids)]
        if len(result) >= k:
            if not removable:
                break
            dropped = result.pop(removable[-1])
            shown -= ids(dropped)
        result.append(pick)
        shown |= ids(pick)
    for rank, h in enumerate(result, start=1):
        h.rank = rank
    return result


def cover_forces(searcher: Any, prepared: Any, hits: list[Hit], k: int, mode: str) -> list[Hit]:
    """``hits`` with the best ``FORCE_QUOTA`` passages of each force compared in the top k:
    the forces of the explicit filter, else up to ``MAX_FORCES`` of those the index holds,
    in the order their first passage ranks for the question."""
    base = prepared.filters or Filters()
    if base.forces:
        forces = list(base.forces)
    else:
        indexed = {d.get("force") for d in searcher.documents() if d.get("force")}
        deep = searcher.search(prepared.text, k=max(k * 5, 50), mode=mode, filters=prepared.filters,
                               expansions=prepared.expansions, priors=prepared.priors)
        forces = list(dict.fromkeys(h.force for h in [*hits, *deep] if h.force in indexed))
        forces += sorted(indexed - set(forces))
        forces = forces[:MAX_FORCES]
    if len(forces) < 2:
        return hits
    quota = max(1, min(FORCE_QUOTA, k // len(forces)))
    picks: list[Hit] = []
    for rank in range(quota):  # every force's best passage before any force's second
        for force in forces:
            restricted = Filters(year_from=base.year_from, year_to=base.year_to, forces=[force],
                                 doc_types=base.doc_types, doc_ids=base.doc_ids)
            found = searcher.search(prepared.text, k=quota, mode=mode, filters=restricted,
                                    expansions=prepared.expansions, priors=prepared.priors)
            picks += found[rank:rank + 1]
    return merge_picks(hits, picks, k)
