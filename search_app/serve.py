"""`peel serve`: the HTTP JSON API (FastAPI + uvicorn) over one index folder.

Thin like the CLI and the app: every route calls `index.api` and returns the records `--json`
prints. Each request is answered by one complete index: the folder's current version is
opened once and reopened, between requests, when a new one has been published (its
``CURRENT`` pointer changed), so any number of `peel serve` processes over one folder answer
alike and follow each rebuild without a restart. OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import threading
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from index import api
from index.engine.filters import Filters, parse_year_range
from index.engine.searcher import MODES
from index.query.parse import MAX_QUERY_CHARS
from search_app import export

MAX_K = 1000  # as the CLI's -k

Mode = Literal[MODES]  # type: ignore[valid-type]  # "bm25" | "dense" | "hybrid"


class By(str, Enum):
    period = "period"
    force = "force"


class Format(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    md = "md"
    refs = "refs"
    bib = "bib"
    ris = "ris"


class SearchRequest(BaseModel):
    """A question and how to answer it: the CLI's options, as JSON."""

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the question or keywords")
    k: int = Field(10, ge=1, le=MAX_K, description="passages")
    mode: Mode = Field("hybrid", description="retrieval mode")
    year: str | None = Field(None, description="years the documents speak of: 2017, 2016-2018, 2016-, -2018")
    force: list[str] = Field(default_factory=list, description="police forces")
    doc_type: list[str] = Field(default_factory=list, description="document types")
    doc: list[str] = Field(default_factory=list, description="document ids")

    def filters(self) -> Filters | None:
        try:
            y0, y1 = parse_year_range(self.year)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"year: {exc}") from None
        if y0 is None and y1 is None and not (self.force or self.doc_type or self.doc):
            return None
        return Filters(year_from=y0, year_to=y1, forces=self.force or None, doc_types=self.doc_type or None,
                       doc_ids=self.doc or None)


class AskRequest(SearchRequest):
    by: By | None = Field(None, description="group the evidence by force (default: by period for change questions)")


def _search_params(
    q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS, description="the question or keywords"),
    k: int = Query(10, ge=1, le=MAX_K),
    mode: Mode = Query("hybrid"),
    year: str | None = Query(None, description="2017, 2016-2018, 2016-, -2018"),
    force: list[str] = Query([]),
    doc_type: list[str] = Query([]),
    doc: list[str] = Query([]),
) -> SearchRequest:
    return SearchRequest(q=q, k=k, mode=mode, year=year, force=force, doc_type=doc_type, doc=doc)


def _ask_params(params: SearchRequest = Depends(_search_params), by: By | None = Query(None)) -> AskRequest:
    return AskRequest(**params.model_dump(), by=by)


class _Current:
    """The index this process serves: reopened between requests when a new version is published."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self._searcher: Any = None

    def get(self, response: Response | None = None):
        """The searcher to answer with; ``response`` gets an ``X-Peel-Index`` header naming
        the index version that answered."""
        searcher = self._open()
        if response is not None:
            response.headers["X-Peel-Index"] = searcher.version
        return searcher

    def _open(self):
        current = api.index_version(self.index_dir)
        with self._lock:
            # compared with the version the searcher read, not the one asked for: a version
            # published while opening is then not opened twice
            if self._searcher is None or current != self._searcher.version:
                try:
                    self._searcher = api.open_index(self.index_dir)
                except api.IndexOpenError as exc:
                    raise HTTPException(status_code=503, detail=str(exc)) from None
            return self._searcher


def create_app(index_dir: Path) -> FastAPI:
    """The API over the index at ``index_dir``."""
    app = FastAPI(title="peel-search", description="Cited search and question answering over police "
                  "inspection reports. Every passage and sentence is verbatim, with its citation.")
    current = _Current(Path(index_dir))

    def _search(p: SearchRequest, response: Response) -> dict[str, Any]:
        return api.search(current.get(response), p.q, k=p.k, mode=p.mode, filters=p.filters()).to_dict()

    def _ask(p: AskRequest, response: Response) -> dict[str, Any]:
        by = p.by.value if p.by else None
        return api.ask(current.get(response), p.q, k=p.k, mode=p.mode, filters=p.filters(), by=by).to_dict()

    @app.get("/health")
    def health() -> dict[str, Any]:
        """The process is up and its index opens."""
        searcher = current.get()
        return {"status": "ok", "chunks": len(searcher), "documents": len(searcher.documents())}

    @app.get("/version")
    def version() -> dict[str, Any]:
        """Which index is being served: when it was built, from what, with which model."""
        searcher = current.get()
        m = searcher.manifest
        return {"index": str(current.index_dir), "version": searcher.version, "created": m.get("created"),
                "corpus_fingerprint": m.get("corpus_fingerprint"), "model": m.get("model", {}).get("id"),
                "counts": m.get("counts", {})}

    @app.get("/documents")
    def documents() -> list[dict[str, Any]]:
        """Every indexed document: id, title, force, years, type, source."""
        return [{k: sorted(v) if isinstance(v, set) else v for k, v in d.items()} for d in current.get().documents()]

    @app.get("/search")
    def search_get(response: Response, params: SearchRequest = Depends(_search_params)) -> dict[str, Any]:
        """The top k passages, as `peel search --json`."""
        return _search(params, response)

    @app.post("/search")
    def search_post(params: SearchRequest, response: Response) -> dict[str, Any]:
        return _search(params, response)

    @app.get("/ask")
    def ask_get(response: Response, params: AskRequest = Depends(_ask_params)) -> dict[str, Any]:
        """Cited evidence sentences (and figures, for change questions), as `peel ask --json`."""
        return _ask(params, response)

    @app.post("/ask")
    def ask_post(params: AskRequest, response: Response) -> dict[str, Any]:
        return _ask(params, response)

    @app.get("/export", response_class=PlainTextResponse)
    def export_get(params: SearchRequest = Depends(_search_params), format: Format = Query(Format.md)):
        """The top k passages in an export format, as `peel export`."""
        searcher = current.get()
        result = api.search(searcher, params.q, k=params.k, mode=params.mode, filters=params.filters())
        text = export.render(result.hits, format.value, query=params.q, documents=searcher.documents())
        return PlainTextResponse(text, media_type=export.FORMATS[format.value])

    return app
