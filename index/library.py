"""Adding reports to an index and removing documents from it, without embedding anything
that is already indexed.

    from index import library
    added = library.add(Path(".peel-index"), [Path("new-report.pdf")])
    print(added.summary())          # added documents, skipped files, embedded / reused
    library.remove(Path(".peel-index"), ["old-report"])

Both start from the index's own chunks, documents and texts (only new files are read and
chunked), fold near-duplicates again over the combined chunks, and rebuild with
`index.engine.build.build_index`: its embedding cache supplies every vector it already
has, and it publishes a new version atomically, so an interrupted add or remove leaves the
previous index as it was. Both use the model the index was built with. One change at a time per index,
full rebuilds included (`index.engine.folder.one_writer`), so two changes never lose each
other's documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from index.engine.build import BuildReport, build_index
from index.engine.files import (
    IndexOpenError,
    index_exists,
    read_chunks,
    read_chunks_in,
    read_texts,
    rebuild_hint,
    replace_problem,
)
from index.engine.folder import one_writer
from index.engine.layout import DOCUMENTS, MANIFEST, read_json
from index.engine.versions import current_folder
from ingest.dedup import mark_near_duplicates
from ingest.pipeline import Skipped, discover, load_corpus
from ingest.records import Chunk, DocumentMeta

__all__ = ["AddResult", "RemoveResult", "LibraryError", "UnknownDocumentError", "add", "remove", "document_ids"]

Progress = Callable[[str, int, int | None, str], None]


class LibraryError(ValueError):
    """The change cannot be made; nothing was changed. The message says why and what to do."""


class UnknownDocumentError(LibraryError):
    """A document id that is not in the index (the message lists the ones that are)."""


@dataclass
class AddResult:
    """What `add` indexed, what it skipped (with reasons) and the build's report."""

    index: Path
    added: list[DocumentMeta]
    skipped: list[Skipped]
    chunks_added: int = 0
    report: BuildReport | None = None  # None when nothing could be added (the index is unchanged)

    def summary(self) -> dict[str, Any]:
        counts = self.report.counts if self.report else {}
        return {
            "index": str(self.index),
            "added": [{"doc_id": d.doc_id, "title": d.title, "force": d.force, "years": d.years,
                       "doc_type": d.doc_type, "source": d.source, "inferred": d.inferred} for d in self.added],
            "chunks_added": self.chunks_added,
            "documents": counts.get("documents"),
            "chunks": counts.get("chunks"),
            "near_duplicates": counts.get("duplicates"),
            "embedded": self.report.n_embedded if self.report else None,
            "embeddings_reused": self.report.n_cached if self.report else None,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


@dataclass
class RemoveResult:
    """The documents `remove` took out, how many chunks went with them, the build's report."""

    index: Path
    removed: list[str]
    chunks_removed: int
    report: BuildReport

    def summary(self) -> dict[str, Any]:
        return {"index": str(self.index), "removed": self.removed, "chunks_removed": self.chunks_removed,
                "documents": self.report.counts["documents"], "chunks": self.report.counts["chunks"],
                "embedded": self.report.n_embedded, "embeddings_reused": self.report.n_cached}


@dataclass
class _Current:
    manifest: dict[str, Any]
    chunks: list[Chunk]
    documents: list[dict[str, Any]]
    texts: dict[str, str]
    model: str | None  # what to pass to build_index: None for the packaged default
    chunker: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def _one_change_at_a_time(index_dir: Path) -> Iterator[None]:
    """An existing index, changed by one writer at a time (`one_writer`)."""
    if not index_exists(index_dir):
        raise IndexOpenError(f"No index at {index_dir}. Build one with: peel ingest [PATH…] --index {index_dir}")
    with one_writer(index_dir):
        yield


def _documents_from_chunks(chunks: Sequence[Chunk]) -> list[dict[str, Any]]:
    """Document records for an index written without documents.json."""
    out: dict[str, dict[str, Any]] = {}
    for c in chunks:
        out.setdefault(c.doc_id, DocumentMeta(c.doc_id, c.title, c.force, list(c.doc_years or c.years),
                                              c.doc_type, source=c.source).to_dict())
    return list(out.values())


def _read_current(index_dir: Path) -> _Current:
    """The current version's chunks, documents, texts and model (all of one version: it is
    resolved once, and no other writer can collect it while `one_writer` is held)."""
    folder = current_folder(index_dir)
    chunks = read_chunks_in(folder, str(index_dir))  # IndexOpenError: no index, or unreadable
    try:
        manifest = read_json(folder / MANIFEST)
        documents = read_json(folder / DOCUMENTS) if (folder / DOCUMENTS).exists() else None
        texts = read_texts(folder)
    except (OSError, ValueError) as exc:
        raise IndexOpenError(f"The index at {index_dir} cannot be read ({exc}). {rebuild_hint(index_dir)}") from None
    if not isinstance(documents, list):
        documents = _documents_from_chunks(chunks)
    model = manifest.get("model") or {}
    return _Current(manifest, chunks, documents, texts, None if model.get("default") else model.get("path"),
                    manifest.get("chunker") or {})


def _check_model(index_dir: Path, current: _Current, model: str | None) -> str | None:
    model = current.model if model is None else model
    problem = replace_problem(index_dir, model)
    if problem:
        raise LibraryError(
            f"Cannot change the index at {index_dir}: {problem}. Rebuild it first with: "
            f"peel ingest --rebuild --index {index_dir}"
        )
    return model


def _text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def _renamed(chunks: list[Chunk], old: str, new: str) -> None:
    for c in chunks:
        if c.doc_id == old:
            c.doc_id = new
            c.chunk_id = new + c.chunk_id[len(old):]


def document_ids(index_dir: Path | str) -> list[str]:
    """The ids of the documents in the index, in index order."""
    return list(dict.fromkeys(c.doc_id for c in read_chunks(index_dir)))


def add(
    index_dir: Path | str,
    paths: Sequence[Path | str],
    model: str | None = None,
    progress: Progress | None = None,
) -> AddResult:
    """Read, chunk and index the reports under ``paths`` into the existing index at
    ``index_dir``; its documents are kept and nothing of them is embedded again.

    A file that cannot be read, one already in the index (same file or same text) and a
    manifest id the index already has are skipped with their reason in ``skipped``; an
    inferred id that is taken gets a ``-2`` suffix. ``model``: the index's own when None
    (LibraryError if another is given). ``progress(stage, done, total, detail)`` as for
    `index.api.build`. Nothing is written when no file could be added (``report`` None).
    """
    index_dir = Path(index_dir).expanduser().absolute()
    paths = [Path(p) for p in paths]
    if not paths:
        raise LibraryError("Nothing to add: give the files or folders to add.")
    with _one_change_at_a_time(index_dir):
        current = _read_current(index_dir)
        model = _check_model(index_dir, current, model)
        from index.models import chunker_settings_for

        settings = chunker_settings_for(model)
        total = len(discover(paths)[0])
        seen = [0]

        def read(path: Path) -> None:
            seen[0] += 1
            if progress:
                progress("Reading", seen[0], total, path.name)

        corpus = load_corpus(paths, settings, progress=read)
        added, new_chunks, skipped = _fit(corpus, current)
        result = AddResult(index_dir, added, skipped)
        if not added:
            return result

        def embedded(done: int, n: int | None) -> None:
            if progress:
                progress("Embedding passages", done, n, "")

        embedded(0, None)  # a caller may stop here: nothing has been written
        chunks = current.chunks + new_chunks
        mark_near_duplicates(chunks)
        texts = {**current.texts, **{d.doc_id: corpus.texts[d.doc_id] for d in added}}
        result.report = build_index(
            chunks, index_dir, model=model, progress=embedded, chunker_settings=settings.to_dict(),
            documents=current.documents + [d.to_dict() for d in added], texts=texts,
        )
        result.chunks_added = len(new_chunks)
        return result


def _fit(corpus, current: _Current) -> tuple[list[DocumentMeta], list[Chunk], list[Skipped]]:
    """The new documents that can join the index (ids made unique), their chunks, and the
    files skipped with their reasons (unreadable, or already in the index)."""
    skipped = list(corpus.skipped)
    taken = {d["doc_id"] for d in current.documents} | {c.doc_id for c in current.chunks}
    by_source = {str(d.get("source")): d["doc_id"] for d in current.documents if d.get("source")}
    by_text = {_text_key(t): doc_id for doc_id, t in current.texts.items()}
    chunks_of: dict[str, list[Chunk]] = {}
    for c in corpus.chunks:
        chunks_of.setdefault(c.doc_id, []).append(c)
    added: list[DocumentMeta] = []
    new_chunks: list[Chunk] = []
    for meta in corpus.documents:
        text = corpus.texts.get(meta.doc_id, "")
        there = by_source.get(meta.source) or by_text.get(_text_key(text))
        if there:
            how = "this file" if by_source.get(meta.source) else "the same text"
            skipped.append(Skipped(meta.source, f"already in the index: {how} is document '{there}' "
                                                f"(to read it again: peel remove {there}, then add it)"))
            continue
        doc_chunks = chunks_of.get(meta.doc_id, [])
        if meta.doc_id in taken:
            if not meta.inferred:  # an id its manifest gives: the user chose it, so no renaming
                skipped.append(Skipped(meta.source, f"document id '{meta.doc_id}' (from its manifest) is "
                                                    f"already in the index; give it another id"))
                continue
            old, n = meta.doc_id, 2
            while f"{old}-{n}" in taken:
                n += 1
            meta.doc_id = f"{old}-{n}"
            _renamed(doc_chunks, old, meta.doc_id)
            corpus.texts[meta.doc_id] = text
        taken.add(meta.doc_id)
        by_text[_text_key(text)] = meta.doc_id
        added.append(meta)
        new_chunks.extend(doc_chunks)
    return added, new_chunks, skipped


def remove(index_dir: Path | str, doc_ids: Sequence[str], progress: Progress | None = None) -> RemoveResult:
    """Take the documents ``doc_ids`` out of the index at ``index_dir``; the rest keep their
    vectors (nothing is embedded). UnknownDocumentError (listing the index's ids) when an id
    is not in it; LibraryError when nothing would be left. The source files are not touched:
    a later full ingest of their folder brings them back."""
    index_dir = Path(index_dir).expanduser().absolute()
    wanted = list(dict.fromkeys(doc_ids))
    if not wanted:
        raise LibraryError("Nothing to remove: give the ids of the documents to remove (peel chunks --json shows them).")
    t0 = time.perf_counter()
    with _one_change_at_a_time(index_dir):
        current = _read_current(index_dir)
        known = list(dict.fromkeys([d["doc_id"] for d in current.documents] + [c.doc_id for c in current.chunks]))
        unknown = [d for d in wanted if d not in known]
        if unknown:
            shown = ", ".join(known[:30]) + (f" … and {len(known) - 30} more" if len(known) > 30 else "")
            raise UnknownDocumentError(
                f"No document {', '.join(repr(d) for d in unknown)} in the index at {index_dir}; nothing was "
                f"removed. Documents in it: {shown}"
            )
        model = _check_model(index_dir, current, None)
        gone = set(wanted)
        keep = [c for c in current.chunks if c.doc_id not in gone]
        if not keep:
            raise LibraryError(
                f"Removing {', '.join(wanted)} would leave the index at {index_dir} empty; nothing was removed. "
                f"To start again, build a new index with: peel ingest PATH… --rebuild --index {index_dir}"
            )
        mark_near_duplicates(keep)

        def embedded(done: int, n: int | None) -> None:
            if progress:
                progress("Embedding passages", done, n, "")

        report = build_index(
            keep, index_dir, model=model, progress=embedded, chunker_settings=current.chunker or None,
            documents=[d for d in current.documents if d["doc_id"] not in gone],
            texts={k: v for k, v in current.texts.items() if k not in gone},
        )
    report.seconds = time.perf_counter() - t0
    return RemoveResult(index_dir, wanted, len(current.chunks) - len(keep), report)
