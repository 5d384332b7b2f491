"""``prepare_query``: a question made ready for retrieval, once, for every caller.

The search text, glossary expansions (curated + mined from the searcher's own reports,
built once per searcher), the years the question names and the filters retrieval will
apply, whether it is answered period by period, and the notes to show the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from index.engine.filters import Filters, with_question_years
from index.query.glossary import Glossary, glossary_for
from index.query.parse import MAX_QUERY_CHARS, ParsedQuery, parse_query
from index.query.periods import by_period

__all__ = ["PreparedQuery", "prepare_query", "NO_WORDS", "QuerySource"]

NO_WORDS = "Please type a question: this one has no words to search for."


class QuerySource(Protocol):
    """What preparing a question needs from an index: its chunks (to mine acronyms from)
    and its document summaries (to check document ids against)."""

    @property
    def chunks(self) -> Sequence[Any]: ...

    def documents(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class PreparedQuery:
    """A question ready for `index.retrieve.retrieve` and `index.answers.select_evidence`."""

    question: str  # as the user typed it
    parsed: ParsedQuery
    glossary: Glossary
    filters: Filters | None  # what retrieval applies: explicit filters narrowed by the question's years
    notes: tuple[str, ...] = ()

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
        return by_period(self.parsed)

    @property
    def message(self) -> str | None:
        return " ".join(self.notes) or None


def prepare_query(searcher: QuerySource, question: str, filters: Filters | dict | None = None) -> PreparedQuery:
    """Parse ``question`` against ``searcher``'s glossary and merge its years into ``filters``."""
    if isinstance(filters, dict):
        filters = Filters(**filters)
    glossary = glossary_for(searcher)
    parsed = parse_query(question, glossary)
    merged = with_question_years(filters, parsed.year_from, parsed.year_to)
    if parsed.empty:
        return PreparedQuery(question, parsed, glossary, merged, (NO_WORDS,))
    notes: list[str] = []
    if parsed.years:
        a, b = parsed.years
        notes.append(f"Years taken from the question: {a or '…'}–{b or '…'}" if a != b else f"Year taken from the question: {a}")
    if filters is not None and filters.doc_ids:
        known = {d["doc_id"] for d in searcher.documents()}
        unknown = [d for d in filters.doc_ids if d not in known]
        if unknown:
            notes.append(f"No document with id {', '.join(repr(d[:80]) for d in unknown[:5])} in this index.")
    if parsed.truncated:
        notes.append(f"The question is {len(question):,} characters long; only the first {MAX_QUERY_CHARS:,} were searched.")
    return PreparedQuery(question, parsed, glossary, merged, tuple(notes))
