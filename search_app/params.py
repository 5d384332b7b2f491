"""A search as URL parameters (?q=…&year=2016-2018&mode=…), validated at the boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.engine.filters import Filters, parse_year_range
from index.engine.searcher import MODES
from index.query.parse import MAX_QUERY_CHARS

MIN_K = 1
MAX_K = 30


@dataclass
class SearchParams:
    q: str = ""
    mode: str = "hybrid"
    k: int = 10
    year_from: int | None = None
    year_to: int | None = None
    forces: list[str] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    by: str = ""  # "force": forces side by side; "": by period when the question asks about change

    def filters(self) -> Filters | None:
        if self.year_from is None and self.year_to is None and not (self.forces or self.doc_types or self.doc_ids):
            return None
        return Filters(
            year_from=self.year_from,
            year_to=self.year_to,
            forces=self.forces or None,
            doc_types=self.doc_types or None,
            doc_ids=self.doc_ids or None,
        )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return [str(v) for v in value if v]


def _first(value: Any) -> str:
    if isinstance(value, list):
        return value[0] if value else ""
    return "" if value is None else str(value)


def params_from_query(query: dict[str, Any]) -> tuple[SearchParams, list[str]]:
    """Parameters from a URL's query string, and a message for each value that was ignored."""
    problems: list[str] = []
    p = SearchParams()
    q = _first(query.get("q"))
    p.q = q[:MAX_QUERY_CHARS]
    if len(q) > MAX_QUERY_CHARS:
        problems.append(f"The question in the link is {len(q):,} characters long; only the first {MAX_QUERY_CHARS:,} are used.")
    mode = _first(query.get("mode")) or "hybrid"
    if mode in MODES:
        p.mode = mode
    else:
        problems.append(f"Unknown mode '{mode[:20]}' in the link; using hybrid (choose {', '.join(MODES)}).")
    k = _first(query.get("k"))
    if k:
        try:
            n = int(k)
        except ValueError:
            problems.append(f"Number of passages '{k[:20]}' in the link is not a number; using {p.k}.")
        else:
            p.k = max(MIN_K, min(MAX_K, n))
            if p.k != n:
                problems.append(f"Number of passages {n} in the link is out of range ({MIN_K}–{MAX_K}); using {p.k}.")
    year = _first(query.get("year"))
    if year:
        try:
            p.year_from, p.year_to = parse_year_range(year)
        except Exception:
            problems.append(f"Year range '{year[:30]}' in the link is not valid (try 2017, 2016-2018, 2016- or -2018); ignoring it.")
    p.forces = _as_list(query.get("force"))
    p.doc_types = _as_list(query.get("type"))
    p.doc_ids = _as_list(query.get("doc"))
    by = _first(query.get("by"))
    if by == "force":
        p.by = by
    elif by:
        problems.append(f"Unknown grouping '{by[:20]}' in the link; use by=force to compare forces.")
    return p, problems


def params_to_query(p: SearchParams) -> dict[str, str]:
    """The URL query for ``p``; defaults are left out so links stay short."""
    out: dict[str, str] = {}
    if p.q:
        out["q"] = p.q
    if p.mode != "hybrid":
        out["mode"] = p.mode
    if p.k != 10:
        out["k"] = str(p.k)
    if p.year_from is not None or p.year_to is not None:
        a = "" if p.year_from is None else str(p.year_from)
        b = "" if p.year_to is None else str(p.year_to)
        out["year"] = a if a == b else f"{a}-{b}"
    if p.forces:
        out["force"] = ",".join(p.forces)
    if p.doc_types:
        out["type"] = ",".join(p.doc_types)
    if p.doc_ids:
        out["doc"] = ",".join(p.doc_ids)
    if p.by:
        out["by"] = p.by
    return out
