"""The per-period rule: which questions are answered period by period, what a period is
called, and how every period with evidence gets into the top k.

A *period* is the set of years a document speaks of ("2016", "2018/19"), or, in a document
holding several inspections (its period wider than two consecutive years), the years a
passage is dated with when they are that narrow (`evidence_period`). A question about
change over time needs each period's evidence side by side, but one report's many good
passages can fill the top 10; so each period is also searched on its own and its best
``PERIOD_QUOTA`` passages are kept in the top k (`cover_periods`). `peel search`, `peel
ask`, the app, exports and `peel eval` all get their passages through this one rule.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from index.engine.filters import Filters
from index.query.groups import merge_picks
from index.query.parse import ParsedQuery
from index.records import Hit

__all__ = ["PERIOD_QUOTA", "by_period", "period_label", "period_key", "evidence_period", "hit_period",
           "cover_periods"]

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


def _one_inspection(years: Sequence[int]) -> bool:
    """One year, or two consecutive ones ("2018/19"): what one inspection reports on."""
    return bool(years) and years[-1] - years[0] <= 1


def evidence_period(years: Sequence[int] | None, doc_years: Sequence[int] | None) -> list[int]:
    """The period a passage's evidence is shown and counted under: its document's, except in a
    document spanning several inspections, where a passage dated as one inspection keeps
    its own years (the 2016 part of a page holding 2016 and 2018/19)."""
    doc = sorted({int(y) for y in doc_years or ()})
    own = sorted({int(y) for y in years or ()})
    if own and (not doc or (not _one_inspection(doc) and _one_inspection(own))):
        return own
    return doc


def hit_period(hit: Hit) -> list[int]:
    """The period a hit's evidence is shown under (`evidence_period`)."""
    return evidence_period(hit.years, hit.doc_years) or ([hit.year] if hit.year else [])


# Per searcher (an index never changes under it): each document's distinct passage periods.
_PASSAGE_PERIODS: weakref.WeakKeyDictionary[Any, dict[str, set[tuple[int, ...]]]] = weakref.WeakKeyDictionary()


def _passage_periods(searcher: Any, doc_id: str, doc_years: tuple[int, ...]) -> set[tuple[int, ...]]:
    known = _PASSAGE_PERIODS.setdefault(searcher, {})
    if doc_id not in known:
        known[doc_id] = {tuple(evidence_period(c.years, doc_years)) for c in searcher.doc_chunks(doc_id)}
    return known[doc_id]


def _periods(searcher: Any, filters: Filters | None,
             in_frame: Callable[[Sequence[int]], bool]) -> dict[tuple[int, ...], list[Filters]]:
    """Each period in the question's time frame, with the searches that find its passages:
    one over the documents of that period, one over the passages so dated in documents
    spanning several inspections."""
    base = filters or Filters()
    whole: dict[tuple[int, ...], list[str]] = {}
    parts: dict[tuple[int, ...], list[str]] = {}
    for doc in searcher.documents():
        if filters is not None and not filters.allows_document(doc):
            continue
        years = tuple(sorted(doc.get("years") or ()))
        if not years or _one_inspection(years):
            if in_frame(years):
                whole.setdefault(years, []).append(doc["doc_id"])
            continue
        dated = _passage_periods(searcher, doc["doc_id"], years)
        for period in dated:
            if period != years and in_frame(period):
                parts.setdefault(period, []).append(doc["doc_id"])
        if in_frame(years) and years in dated:
            whole.setdefault(years, []).append(doc["doc_id"])

    def restricted(doc_ids: list[str], period: tuple[int, ...] | None) -> Filters | None:
        lo, hi = base.year_from, base.year_to
        if period is not None:
            lo = period[0] if lo is None else max(lo, period[0])
            hi = period[-1] if hi is None else min(hi, period[-1])
            if lo > hi:
                return None
        return Filters(year_from=lo, year_to=hi, forces=base.forces, doc_types=base.doc_types, doc_ids=doc_ids)

    out: dict[tuple[int, ...], list[Filters]] = {}
    for period in sorted(set(whole) | set(parts)):
        searches = [restricted(whole[period], None)] if period in whole else []
        searches += [restricted(parts[period], period)] if period in parts else []
        out[period] = [f for f in searches if f is not None]
    return out


def cover_periods(searcher: Any, prepared: Any, hits: list[Hit], k: int, mode: str) -> list[Hit]:
    """``hits`` with the best ``PERIOD_QUOTA`` passages of each period in the question's
    time frame (`PreparedQuery.in_time_frame`) in the top k.

    Each document period allowed by the question's filters is searched with its ``topic``
    (its time frame removed: "how did … change between 2015 and 2018/19 inspections" would
    otherwise match passages about inspections); a pick not already shown replaces the
    lowest-ranked hit that was not itself picked for its period.
    """
    periods = _periods(searcher, prepared.filters, prepared.in_time_frame)
    if len(periods) < 2:
        return hits
    picks: list[Hit] = []
    for period, searches in periods.items():
        # A year range also lets through passages dated with their whole document: dropped.
        # Runs of different searches are taken in turn: their scores are not comparable.
        runs = [[h for h in searcher.search(prepared.topic, k=PERIOD_QUOTA * 3, mode=mode, filters=restricted,
                                            expansions=prepared.expansions, priors=prepared.priors)
                 if tuple(hit_period(h)) == period] for restricted in searches]
        picks += [h for rank in range(PERIOD_QUOTA) for run in runs for h in run[rank:rank + 1]][:PERIOD_QUOTA]

    return merge_picks(hits, picks, k)

