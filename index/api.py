"""The importable API: open an index, search, ask — the same records `--json` prints.

    from index import api
    searcher = api.open_index()                       # default index folder
    result = api.search(searcher, "DVPO 2016-2018")   # SearchResult: .hits, .filters …
    answer = api.ask(searcher, "how did DVPO use change 2016-2018?")

Both go one way: `prepare_query` → `retrieve` → (for ask) `select_evidence`, so `ask`'s
passages are exactly `search`'s top k for the same question, filters and mode. The CLI,
the app, exports and `peel eval` call these functions and add no search logic of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from index.answers import select_evidence
from index.engine.files import IndexOpenError, index_exists, index_version
from index.engine.filters import Filters
from index.query.glossary import default_glossary
from index.query.parse import parse_query
from index.query.prepare import NO_WORDS, prepare_query
from index.records import Answer, Hit
from index.retrieve import retrieve
from ingest.cluster import ClusterError as ClusterProblem

__all__ = ["ClusterProblem", "SearchResult", "open_index", "index_exists", "index_version", "search", "search_many", "ask", "build",
           "BuildResult", "query_terms", "query_message", "IndexOpenError", "NO_WORDS"]


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


def open_index(index_dir: Path | None = None, model: str | None = None):
    """Open an index folder (default: $PEEL_INDEX or .peel-index); IndexOpenError says how to fix."""
    from index.engine.searcher import Searcher
    from index.paths import default_index_dir

    return Searcher.open(Path(index_dir) if index_dir else default_index_dir(), model=model)


def query_message(query: str) -> str | None:
    """What to tell the user instead of searching (a query with no words in it), or None."""
    return NO_WORDS if parse_query(query, default_glossary()).empty else None


def query_terms(query: str) -> list[str]:
    """Glossary expansions of a query (acronym ↔ full name), e.g. for highlighting."""
    return list(parse_query(query, default_glossary()).expansions)


def search(searcher, query: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> SearchResult:
    """Ranked, cited passages for a free-text query.

    Year expressions in the query ("2016-2018", "since 2017", "2018/19") narrow the years
    searched; acronyms and their spelled-out forms expand each other; a question about
    change over time has every period's best passages in the top k.
    """
    return search_many(searcher, [query], k=k, mode=mode, filters=filters)[0]


def search_many(
    searcher, queries: Sequence[str], k: int = 10, mode: str = "hybrid", filters: Filters | None = None
) -> list[SearchResult]:
    """`search` for many queries, in order, with the model and index loaded once."""
    out: list[SearchResult] = []
    for query in queries:
        prepared = prepare_query(searcher, query, filters)
        hits = retrieve(searcher, prepared, k=k, mode=mode)
        out.append(SearchResult(query, hits, prepared.filters, prepared.years_from_query, prepared.expansions,
                                prepared.message))
    return out


def ask(searcher, question: str, *, k: int = 10, filters: Filters | None = None, mode: str = "hybrid",
        max_sentences: int = 6, by: str | None = None) -> Answer:
    """Verbatim evidence sentences with citations from `search`'s top ``k`` passages; grouped
    by period for questions about change over time, or force by force with ``by="force"``."""
    prepared = prepare_query(searcher, question, filters, by=by)
    hits = retrieve(searcher, prepared, k=k, mode=mode)
    return select_evidence(searcher, prepared, hits, max_sentences=max_sentences)


@dataclass
class BuildResult:
    """What `build` read (documents, chunks, skipped files) and, unless it only read, wrote."""

    corpus: Any  # ingest.pipeline.CorpusResult
    report: Any = None  # index.engine.build.BuildReport; None when nothing was written

    def summary(self) -> dict[str, Any]:
        c = self.corpus
        return {
            "documents": len(c.documents),
            "chunks": len(c.chunks),
            "tokens": c.n_tokens,
            "near_duplicates": sum(1 for ch in c.chunks if ch.dup_of),
            "skipped": [s.__dict__ for s in c.skipped],
            "embedded": getattr(self.report, "n_embedded", None),
        }


def build(
    paths: Sequence[Path],
    index_dir: Path,
    model: str | None = None,
    progress: Callable[[str, int, int | None, str], None] | None = None,
    *,
    write: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
) -> BuildResult:
    """Read the reports under ``paths`` and (with ``write``) build the index at ``index_dir``
    with ``model``, replacing the previous one atomically. ``progress(stage, done, total,
    detail)`` is called per file read ("Reading", detail: the file name) and per embedding
    slice ("Embedding passages"). Nothing is written when no file could be read: check
    ``result.corpus.chunks``. Unreadable files are listed in ``result.corpus.skipped``.

    ``workers`` (a local Dask cluster of that many processes) or ``scheduler`` (the address
    of a running one) reads, chunks and embeds on Dask instead of in this process; the
    index is the same (`ingest.cluster`, `index.models.cluster`)."""
    if workers is not None or scheduler is not None:  # dask is imported only then
        from ingest.cluster import dask_client

        with dask_client(workers, scheduler) as client:
            return _build(paths, index_dir, model, progress, write, client)
    return _build(paths, index_dir, model, progress, write, None)


def _build(
    paths: Sequence[Path],
    index_dir: Path,
    model: str | None,
    progress: Callable[[str, int, int | None, str], None] | None,
    write: bool,
    client: Any,
) -> BuildResult:
    from index.engine.build import build_index
    from index.engine.folder import one_writer
    from index.models import chunker_settings_for
    from ingest.pipeline import discover, load_corpus

    paths = [Path(p) for p in paths]
    total = len(discover(paths)[0])
    seen = [0]

    def read(path: Path) -> None:
        seen[0] += 1
        if progress:
            progress("Reading", seen[0], total, path.name)

    settings = chunker_settings_for(model)  # word pieces counted with the index's own model
    map_files = encoder = None
    if client is not None:
        from index.models.cluster import cluster_encoder
        from ingest.cluster import dask_map

        map_files, encoder = dask_map(client), cluster_encoder(client, model)
    corpus = load_corpus(paths, settings, progress=read, map_files=map_files)
    if not write or not corpus.chunks:
        return BuildResult(corpus)

    def embedded(done: int, n: int | None) -> None:
        if progress:
            progress("Embedding passages", done, n, "")

    embedded(0, None)  # the stage starts: a caller may stop here before anything is written
    with one_writer(Path(index_dir)):  # an add or remove running now finishes first
        report = build_index(
            corpus.chunks,
            Path(index_dir),
            model=model,
            progress=embedded,
            chunker_settings=settings.to_dict(),
            documents=[d.to_dict() for d in corpus.documents],
            texts=corpus.texts,
            encoder=encoder,
        )
    return BuildResult(corpus, report)
