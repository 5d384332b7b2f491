"""Hybrid (BM25 + dense) index over chunks, and the Searcher API.

    from index import build_index, Searcher, Filters, IndexOpenError

    report = build_index(chunks, Path(".peel-index"))
    searcher = Searcher.open(Path(".peel-index"))
    hits = searcher.search("stop and search", k=10, filters=Filters(year_from=2016))
"""

from index.engine import BuildReport, Filters, IndexOpenError, Searcher, build_index
from index.records import Hit

__all__ = ["BuildReport", "Filters", "Hit", "IndexOpenError", "Searcher", "build_index"]
