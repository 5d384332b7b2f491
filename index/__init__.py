"""Hybrid (BM25 + dense) index over chunks, and the Searcher API.

    from index import build_index, Searcher, Filters, IndexOpenError

    report = build_index(chunks, Path(".peel-index"))
    searcher = Searcher.open(Path(".peel-index"))
    hits = searcher.search("stop and search", k=10, filters=Filters(year_from=2016))
"""

from index.engine.filters import Filters
from index.records import Hit
from index.engine.searcher import Searcher
from index.engine.build import BuildReport, IndexOpenError, build_index

__all__ = ["BuildReport", "Filters", "Hit", "IndexOpenError", "Searcher", "build_index"]
