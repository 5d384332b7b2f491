"""The importable API: open an index, search, ask — the same records `--json` prints.

    from index import api
    searcher = api.open_index()                       # default index folder
    result = api.search(searcher, "DVPO 2016-2018")   # SearchResult: .hits, .filters …
    answer = api.ask(searcher, "how did DVPO use change 2016-2018?")

The CLI and the app call these functions and add no search logic of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from index.filters import Filters
from index.records import Answer, Hit
from index.store import IndexOpenError

__all__ = ["SearchResult", "open_index", "index_exists", "search", "search_many", "ask", "merge_filters",
           "build_default_index", "query_terms", "IndexOpenError"]


@dataclass
class SearchResult:
    """Hits for one query, with the filters actually applied and any note for the user."""

    query: str
    hits: list[Hit]
    filters: Filters | None = None
    years_from_query: tuple[int | None, int | None] | None = None
    expansions: list[str] = field(default_factory=list)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "hits": [h.to_dict() for h in self.hits],
            "filters": self.filters.to_dict() if self.filters else None,
            "years_from_query": list(self.years_from_query) if self.years_from_query else None,
            "expansions": self.expansions,
            "message": self.message,
        }


def index_exists(index_dir: Path) -> bool:
    return (Path(index_dir) / "manifest.json").is_file()


def open_index(index_dir: Path | None = None, model: str | None = None):
    """Open an index folder (default: $PEEL_INDEX or .peel-index); IndexOpenError says how to fix."""
    from index.searcher import Searcher
    from search_app.paths import default_index_dir

    return Searcher.open(Path(index_dir) if index_dir else default_index_dir(), model=model)


def merge_filters(explicit: Filters | None, year_from: int | None, year_to: int | None) -> Filters | None:
    """Intersect the years a question names with any explicit filter."""
    if year_from is None and year_to is None:
        return explicit
    base = explicit or Filters()
    lows = [v for v in (base.year_from, year_from) if v is not None]
    highs = [v for v in (base.year_to, year_to) if v is not None]
    return replace(base, year_from=max(lows) if lows else None, year_to=min(highs) if highs else None)


def _prepare(query: str, filters: Filters | None):
    from index.query import parse_query

    parsed = parse_query(query, _glossary())
    years = (parsed.year_from, parsed.year_to) if (parsed.year_from or parsed.year_to) else None
    merged = merge_filters(filters, parsed.year_from, parsed.year_to)
    return parsed, years, merged


_GLOSSARY = None


def _glossary():
    global _GLOSSARY
    if _GLOSSARY is None:
        from index.glossary import load_glossary

        _GLOSSARY = load_glossary()
    return _GLOSSARY


def query_terms(query: str) -> list[str]:
    """Glossary expansions of a query (acronym ↔ full name), e.g. for highlighting."""
    from index.query import parse_query

    return list(parse_query(query, _glossary()).expansions)


def search(searcher, query: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> SearchResult:
    """Ranked, cited passages for a free-text query.

    Year expressions in the query ("2016-2018", "since 2017", "2018/19") become a year
    filter; acronyms and their spelled-out forms expand each other.
    """
    return search_many(searcher, [query], k=k, mode=mode, filters=filters)[0]


def search_many(
    searcher, queries: Sequence[str], k: int = 10, mode: str = "hybrid", filters: Filters | None = None
) -> list[SearchResult]:
    """`search` for many queries, in order, with the model and index loaded once."""
    out: list[SearchResult] = []
    for query in queries:
        parsed, years, merged = _prepare(query, filters)
        if not parsed.text.strip():
            out.append(SearchResult(query, [], merged, years, [], "Please type a question: this one has no words to search for."))
            continue
        hits = searcher.search(parsed.text, k=k, mode=mode, filters=merged, expansions=parsed.expansions)
        message = None
        if years:
            a, b = years
            message = f"Years taken from the question: {a or '…'}–{b or '…'}" if a != b else f"Year taken from the question: {a}"
        out.append(SearchResult(query, hits, merged, years, list(parsed.expansions), message))
    return out


def ask(searcher, question: str, *, k_passages: int = 8, filters: Filters | None = None, mode: str = "hybrid") -> Answer:
    """Verbatim evidence sentences with citations; grouped by year for change-over-time questions."""
    from index.answer import ask as _ask

    return _ask(searcher, question, k_passages=k_passages, filters=filters, mode=mode)


def build_default_index(
    index_dir: Path,
    paths: list[Path],
    progress: Callable[[str, int, int], None] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Ingest ``paths`` and build an index at ``index_dir``; a summary dict for the caller."""
    from ingest.chunking import ChunkerSettings
    from ingest.pipeline import discover, load_corpus
    from index.store import build_index

    total = len(discover(paths)[0])
    seen = [0]

    def tick(path: Path) -> None:
        seen[0] += 1
        if progress:
            progress("Reading documents", seen[0], total)

    result = load_corpus(paths, ChunkerSettings(), progress=tick)
    if not result.chunks:
        raise IndexOpenError(f"Nothing to index under {', '.join(map(str, paths))}.")
    report = build_index(
        result.chunks,
        index_dir,
        model=model,
        progress=(lambda done, total: progress("Embedding passages", done, total)) if progress else False,
        chunker_settings=ChunkerSettings().to_dict(),
        documents=[d.to_dict() for d in result.documents],
        texts=result.texts,
    )
    return {
        "documents": len(result.documents),
        "chunks": len(result.chunks),
        "skipped": [s.__dict__ for s in result.skipped],
        "embedded": getattr(report, "n_embedded", None),
    }
