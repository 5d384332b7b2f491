"""The per-period rule: which questions are answered period by period, what a period is
called, and how every period with evidence gets into the top k.

A *period* is the set of years a document speaks of ("2016", "2018/19"). A question about
change over time needs each period's evidence side by side, but one report's many good
passages can fill the top 10; so each period is also searched on its own and its best
``PERIOD_QUOTA`` passages are kept in the top k (`cover_periods`). `peel search`, `peel
ask`, the app, exports and `peel eval` all get their passages through this one rule.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from index.engine.filters import Filters
from index.query.parse import ParsedQuery
from index.records import Hit

__all__ = ["PERIOD_QUOTA", "by_period", "period_label", "period_key", "hit_period", "cover_periods"]

# Best passages per document period kept in the top k of a change-over-time question.
# Measured on the dev split: temporal questions with every relevant year in the top 10
# went from 0.50 to 0.75 with the quota; three per period lost test coverage (0.86 → 0.71).
PERIOD_QUOTA = 2


def by_period(parsed: ParsedQuery) -> bool:
    """Is the question answered period by period: it asks about change over time, or its
    years span two or more years ("DVPO applications 2016–2018")."""
    spans_years = parsed.year_from is not None and parsed.year_to is not None and parsed.year_to > parsed.year_from
    return parsed.temporal or spans_years


def period_label(years: Sequence[int] | None) -> str:
    """'2016', '2018/19' (two consecutive years), '2014–2016', or 'Undated'."""
    ys = sorted({int(y) for y in years or []})
    if not ys:
        return "Undated"
    if len(ys) == 1:
        return str(ys[0])
    if len(ys) == 2 and ys[1] == ys[0] + 1:
        return f"{ys[0]}/{ys[1] % 100:02d}"
    return f"{ys[0]}–{ys[-1]}"


def period_key(years: Sequence[int] | None) -> tuple:
    """Sorts periods chronologically, undated last."""
    ys = sorted({int(y) for y in years or []})
    return (0, ys[0], ys[-1]) if ys else (1, 0, 0)


def hit_period(hit: Hit) -> list[int]:
    """The period a hit's evidence is shown under: its document's period."""
    return list(hit.doc_years or hit.years or ([hit.year] if hit.year else []))


def _document_periods(documents: Sequence[Mapping[str, Any]], filters: Filters | None,
                      in_frame: Callable[[Sequence[int]], bool]) -> dict[tuple[int, ...], list[str]]:
    out: dict[tuple[int, ...], list[str]] = {}
    for doc in documents:
        if filters is not None and not filters.allows_document(doc):
            continue
        if not in_frame(doc.get("years") or ()):
            continue
        out.setdefault(tuple(sorted(doc.get("years") or ())), []).append(doc["doc_id"])
    return out


def cover_periods(searcher: Any, prepared: Any, hits: list[Hit], k: int, mode: str) -> list[Hit]:
    """``hits`` with the best ``PERIOD_QUOTA`` passages of each period in the question's
    time frame (`PreparedQuery.in_time_frame`) in the top k.

    Each document period allowed by the question's filters is searched with its ``topic``
    (its time frame removed: "how did … change between 2015 and 2018/19 inspections" would
    otherwise match passages about inspections); a pick not already shown replaces the
    lowest-ranked hit that was not itself picked for its period.
    """
    filters = prepared.filters
    periods = _document_periods(searcher.documents(), filters, prepared.in_time_frame)
    if len(periods) < 2:
        return hits
    base = filters or Filters()
    picks: list[Hit] = []
    for years, doc_ids in sorted(periods.items()):
        restricted = Filters(year_from=base.year_from, year_to=base.year_to, forces=base.forces,
                             doc_types=base.doc_types, doc_ids=doc_ids)
        picks += searcher.search(prepared.topic, k=PERIOD_QUOTA, mode=mode, filters=restricted,
                                 expansions=prepared.expansions, priors=prepared.priors)

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
