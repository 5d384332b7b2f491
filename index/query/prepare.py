"""``prepare_query``: a question made ready for retrieval, once, for every caller.

The search text, glossary expansions (curated + mined from the searcher's own reports,
built once per searcher), the years and police forces the question names, the filters
retrieval applies, whether it is answered period by period, and the notes for the user.

Years and forces named in a question are evidence, not filters: passages that speak of
them are raised (`priors`), none is removed. Only an explicit filter (`--year`, the app's
controls, a link's parameters) excludes, and an explicit year filter replaces the years
read from the question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from index.engine.filters import Filters
from index.query.glossary import Glossary, glossary_for
from index.query.parse import MAX_QUERY_CHARS, ParsedQuery, parse_query
from index.query.periods import by_period
from ingest.forces import canonical_force, find_forces

__all__ = ["PreparedQuery", "prepare_query", "NO_WORDS", "QuerySource", "YEAR_PRIOR", "FORCE_PRIOR",
           "LOOKBACK_YEARS"]

NO_WORDS = "Please type a question: this one has no words to search for."

# Added to a passage's normalised score (best candidate = 1) when it speaks of a year the
# question names / belongs to a force it names. Chosen on the dev split (README).
YEAR_PRIOR = 0.3
FORCE_PRIOR = 0.3
# A report looks back on earlier years (the 2018/19 report on 2016's PCSO cuts) but never
# speaks of years after its own: the years a question names also raise passages dated up
# to this many years later.
LOOKBACK_YEARS = 2


class QuerySource(Protocol):
    """What preparing a question needs from an index: its chunks (to mine acronyms from)
    and its document summaries (what years and forces it covers)."""

    @property
    def chunks(self) -> Sequence[Any]: ...

    def documents(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class PreparedQuery:
    """A question ready for `index.retrieve.retrieve` and `index.answers.select_evidence`."""

    question: str  # as the user typed it
    parsed: ParsedQuery
    glossary: Glossary
    filters: Filters | None  # explicit filters only: what retrieval may exclude
    years: tuple[int | None, int | None] | None = None  # the question's years, when they are used
    forces: tuple[str, ...] = ()  # canonical forces the question names, when they are used
    priors: tuple[tuple[Filters, float], ...] = field(default=())
    notes: tuple[str, ...] = ()
    by_force: bool = False  # answered force by force (`peel ask --by force`), not period by period

    @property
    def empty(self) -> bool:
        return self.parsed.empty

    @property
    def text(self) -> str:
        return self.parsed.text

    @property
    def topic(self) -> str:
        return self.parsed.topic

    @property
    def expansions(self) -> list[str]:
        return list(self.parsed.expansions)

    @property
    def years_from_query(self) -> tuple[int | None, int | None] | None:
        return self.parsed.years

    @property
    def by_period(self) -> bool:
        return by_period(self.parsed) and not self.by_force

    @property
    def message(self) -> str | None:
        return " ".join(self.notes) or None

    def in_time_frame(self, years: Sequence[int]) -> bool:
        """Does a document period fall in the question's time frame (its years, looking
        back LOOKBACK_YEARS)? True when the question names no years."""
        if self.years is None:
            return True
        a, b = self.years
        lo = a if a is not None else -(10**9)
        hi = b + LOOKBACK_YEARS if b is not None else 10**9
        return any(lo <= int(y) <= hi for y in years)


def _span(years: tuple[int | None, int | None]) -> str:
    a, b = years
    return str(a) if a == b else f"{a or '…'}–{b or '…'}"


def _question_forces(text: str) -> tuple[str, ...]:
    # a force named in a question needs no "police" beside it: "stop and search in Kent"
    return tuple(dict.fromkeys(m.name for m in find_forces(text, force_context=True)))


def prepare_query(searcher: QuerySource, question: str, filters: Filters | dict | None = None,
                  by: str | None = None) -> PreparedQuery:
    """Parse ``question`` against ``searcher``'s glossary: its years and forces become
    priors (unless an explicit filter sets them), and notes say how they were used.
    ``by="force"`` answers it force by force (``None``: by period when it asks about change)."""
    if by not in (None, "period", "force"):
        raise ValueError(f"cannot answer by {by!r}: choose period or force")
    if isinstance(filters, dict):
        filters = Filters(**filters)
    glossary = glossary_for(searcher)
    parsed = parse_query(question, glossary)
    if parsed.empty:
        return PreparedQuery(question, parsed, glossary, filters, notes=(NO_WORDS,), by_force=by == "force")
    docs = searcher.documents()
    notes: list[str] = []
    priors: list[tuple[Filters, float]] = []

    years = parsed.years
    explicit_years = filters is not None and (filters.year_from is not None or filters.year_to is not None)
    if years and explicit_years:
        notes.append(f"The year filter replaces the {'years' if years[0] != years[1] else 'year'} "
                     f"{_span(years)} named in the question.")
        years = None
    elif years:
        a, b = years
        priors.append((Filters(year_from=a, year_to=None if b is None else b + LOOKBACK_YEARS), YEAR_PRIOR))
        covered = sorted({int(y) for d in docs for y in d.get("years") or ()})
        prepared_frame = PreparedQuery(question, parsed, glossary, filters, years=years)
        if covered and not any(prepared_frame.in_time_frame(d.get("years") or ()) for d in docs):
            notes.append(f"No document in this index speaks of {_span(years)} (it covers "
                         f"{covered[0]}–{covered[-1]}); the nearest passages are shown.")
        else:
            notes.append(f"Passages about {_span(years)} (the years in the question) are ranked first; "
                         f"set a year filter to search only those years.")

    forces: tuple[str, ...] = ()
    if not (filters is not None and filters.forces):
        forces = _question_forces(parsed.text)
        if forces:
            priors.append((Filters(forces=list(forces)), FORCE_PRIOR))
            indexed = {canonical_force(d.get("force") or "") or d.get("force") for d in docs}
            missing = [f for f in forces if f not in indexed]
            if missing:
                others = sorted(f for f in indexed if f)
                nearest = f"; nearest passages come from {', '.join(others[:3])}" if others else ""
                notes.append(f"No documents about {', '.join(missing)} in this index{nearest}.")

    if filters is not None and filters.doc_ids:
        known = {d["doc_id"] for d in docs}
        unknown = [d for d in filters.doc_ids if d not in known]
        if unknown:
            notes.append(f"No document with id {', '.join(repr(d[:80]) for d in unknown[:5])} in this index.")
    if parsed.truncated:
        notes.append(f"The question is {len(question):,} characters long; only the first {MAX_QUERY_CHARS:,} were searched.")
    if by == "force" and len({d.get("force") for d in docs if d.get("force")}) < 2:
        notes.append("Only one force in this index: nothing to compare side by side.")
    return PreparedQuery(question, parsed, glossary, filters, years, forces, tuple(priors), tuple(notes),
                         by_force=by == "force")
