"""The index proper: BM25 and FAISS over the chunks, the sentence vectors, metadata filters,
fusion, and the folder that holds them — built and published as versions atomically
(`build`, `versions`, `folder`, `cache`), opened with plain errors (`files`, `layout`), and
searched by one shared `Searcher`.

It sits below `index.query` and `index.answers` and imports neither.
"""

from index.engine.build import BuildReport, build_index
from index.engine.files import (
    IndexOpenError,
    index_exists,
    open_index,
    read_chunks,
    replace_problem,
)
from index.engine.filters import Filters, parse_year_range
from index.engine.searcher import MODES, Searcher
from ingest.records import corpus_fingerprint

__all__ = [
    "MODES",
    "BuildReport",
    "Filters",
    "IndexOpenError",
    "Searcher",
    "build_index",
    "corpus_fingerprint",
    "index_exists",
    "open_index",
    "parse_year_range",
    "read_chunks",
    "replace_problem",
]
