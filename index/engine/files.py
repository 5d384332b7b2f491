"""Opening an index folder: every check that it is complete, of this format and of the
model asked for, with a plain `IndexOpenError` saying what to run when it is not.

Readers resolve the current version once (`index.engine.versions.current_folder`) and read
only inside it: versions are never modified, so no lock is needed and a build publishing
meanwhile changes nothing they read. If the version is collected while it is being read
(retired longer than the grace period), the reader resolves again, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from index.engine import bm25 as bm25_mod
from index.engine import dense as dense_mod
from index.engine import sentence_vectors as evidence_mod
from index.engine.layout import (
    BM25_DIR,
    CHUNKS,
    CONTROL,
    DENSE,
    DOCUMENTS,
    FORMAT_VERSION,
    MANIFEST,
    REQUIRED,
    TEXTS,
    read_json,
)
from index.engine.versions import current_folder, current_version
from index.models.embedder import Embedder, load_model
from index.models.weights import ModelNotFoundError
from ingest.records import Chunk


class IndexOpenError(Exception):
    """The index cannot be opened; the message says why and what to run (no traceback needed)."""


def rebuild_hint(index_dir: Path | str) -> str:
    """The command that rebuilds the index at ``index_dir``, as a sentence."""
    return f"Rebuild it with: peel ingest --rebuild --index {index_dir}"


@dataclass
class IndexFiles:
    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    bm25: bm25_mod.BM25Index
    dense: dense_mod.DenseIndex
    embedder: Embedder
    documents: list[dict[str, Any]] | None = None
    texts: dict[str, str] | None = None
    sentences: evidence_mod.SentenceTable | None = None
    version: str = ""  # the version read (`index_version` at the time)


T = TypeVar("T")


def _in_current(index_dir: Path, read: Callable[[Path], T]) -> T:
    """``read(folder)`` of the current version; once more if that failed and ``CURRENT``
    names another version by now (the first was collected while being read). A damaged
    current version raises as it is."""
    folder = current_folder(index_dir)
    try:
        return read(folder)
    except IndexOpenError:
        again = current_folder(index_dir)
        if again == folder:
            raise
        return read(again)


def index_exists(index_dir: Path | str) -> bool:
    """Is there a complete index at ``index_dir``? Whether it can be opened is
    `open_index`'s question."""
    index_dir = Path(index_dir).expanduser().absolute()
    return (current_folder(index_dir) / MANIFEST).is_file()


def index_version(index_dir: Path | str) -> str:
    """The id of the index version current at ``index_dir``: it changes whenever a new one
    is published; "" when there is none. Long-running readers (the app, `peel serve`)
    compare it between requests to know when to reopen."""
    return current_version(Path(index_dir).expanduser().absolute())


def read_texts(index_dir: Path) -> dict[str, str]:
    """doc_id → source text, from ``texts.jsonl`` (empty if the index has none)."""
    path = Path(index_dir) / TEXTS
    if not path.exists():
        return {}
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out[row["doc_id"]] = row["text"]
    return out


def read_chunks(index_dir: Path | str) -> list[Chunk]:
    """The index's chunks in row order, without loading the model or the retrievers
    (`peel chunks`). IndexOpenError when there is no complete index or it cannot be read."""
    shown = str(index_dir)
    return _in_current(Path(index_dir).expanduser().absolute(), lambda folder: read_chunks_in(folder, shown))


def read_chunks_in(folder: Path, shown: str) -> list[Chunk]:
    """`read_chunks` of one version ``folder``; messages name the index as ``shown``."""
    if not (folder / MANIFEST).is_file():
        raise IndexOpenError(f"No index at {shown}. Build one with: peel ingest [PATH…] --index {shown}")
    try:
        with open(folder / CHUNKS, encoding="utf-8") as f:
            return [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexOpenError(
            f"The chunks of the index at {shown} cannot be read ({exc}). {rebuild_hint(shown)}"
        ) from None


def _model_label(rec: dict[str, Any]) -> str:
    return rec.get("name") or rec.get("path") or "an unknown model"


def known_weights(index_dir: Path, embedder: Embedder) -> dict[str, Any] | None:
    """The previous index's record of this model's weights, if it used the same folder
    (so the weights need not be hashed again)."""
    try:
        rec = read_json(current_folder(index_dir) / MANIFEST).get("model") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if rec.get("path") == str(embedder.path):
        return {"files": rec.get("weights") or [], "sha256": rec.get("weights_sha256")}
    return None


def replace_problem(index_dir: Path | str, model: str | None = None) -> str | None:
    """Why building into ``index_dir`` would replace an index of another format, BM25
    tokenisation or embedding model (what ``peel ingest --rebuild`` is for); None when the
    folder holds no index, a damaged one, or one of this format and model."""
    index_dir = Path(index_dir).expanduser().absolute()
    try:
        manifest = read_json(current_folder(index_dir) / MANIFEST)
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        return f"it has index format version {version}; this version of peel-search writes format {FORMAT_VERSION}"
    if (manifest.get("bm25") or {}).get("tokenizer") != bm25_mod.tokenizer_settings():
        return "it was built with different BM25 tokenisation settings"
    rec = manifest.get("model") or {}
    embedder = load_model(model)
    if rec.get("weights_sha256") != embedder.fingerprint(known_weights(index_dir, embedder))["sha256"]:
        return f"it was built with model {_model_label(rec)}, not {embedder.name}"
    return None


def check_model(manifest: dict[str, Any], requested: str | None, shown_dir: str) -> Embedder:
    """The embedder to query this index with; IndexOpenError if it is not the index's model."""
    rec = manifest.get("model") or {}
    hint = rebuild_hint(shown_dir)
    if requested is None:
        if rec.get("default"):
            try:
                emb = load_model(None)
            except ModelNotFoundError as exc:
                raise IndexOpenError(f"{exc}") from None
        else:
            path = Path(rec.get("path", ""))
            if not path.is_dir():
                raise IndexOpenError(
                    f"This index was built with model {_model_label(rec)}, which is not on this "
                    f"machine. Point to a copy with --model PATH, or {hint[0].lower()}{hint[1:]}"
                )
            emb = load_model(str(path))
    else:
        try:
            emb = load_model(requested)
        except ModelNotFoundError as exc:
            raise IndexOpenError(str(exc)) from None
    recorded_hash = rec.get("weights_sha256")
    known = None
    if rec.get("path") == str(emb.path):
        # same folder as at build time: trust the recorded hash if the files are untouched
        known = {"files": rec.get("weights") or [], "sha256": recorded_hash}
    try:
        current = emb.fingerprint(known)["sha256"]
    except (OSError, ModelNotFoundError) as exc:
        raise IndexOpenError(f"Cannot read the weights of model {emb.name}: {exc}") from None
    if current != recorded_hash:
        if requested is None:
            raise IndexOpenError(
                f"This index was built with model {_model_label(rec)}, whose weight files have "
                f"changed since. {hint}"
            )
        raise IndexOpenError(
            f"This index was built with model {_model_label(rec)}; you asked for {emb.name}. {hint}"
        )
    return emb


def open_index(index_dir: Path | str, model: str | None = None) -> IndexFiles:
    """Read every file of the index at ``index_dir`` and the model to query it with;
    IndexOpenError (with what to run) when it is missing, damaged or of another format or model."""
    shown = str(index_dir)
    index_dir = Path(index_dir).expanduser().absolute()

    def read(folder: Path) -> IndexFiles:
        files = _open_index(folder, shown, model)
        files.version = folder.name if folder != index_dir else current_version(index_dir)
        return files

    return _in_current(index_dir, read)


def _read_manifest(folder: Path, shown: str) -> dict[str, Any]:
    if not (folder / MANIFEST).exists():
        if any((folder / name).exists() for name in REQUIRED):
            raise IndexOpenError(
                f"{shown} is not a complete peel-search index (no {MANIFEST}). {rebuild_hint(shown)}"
            )
        if folder.is_dir() and any(p.name not in CONTROL for p in folder.iterdir()):
            raise IndexOpenError(
                f"No index at {shown}: that folder holds other files. Build one in a new "
                f"folder with: peel ingest [PATH…] --index NEW_FOLDER"
            )
        raise IndexOpenError(f"No index at {shown}. Build one with: peel ingest [PATH…] --index {shown}")
    try:
        manifest = read_json(folder / MANIFEST)
    except (OSError, ValueError) as exc:
        raise IndexOpenError(
            f"The index manifest at {shown} cannot be read ({exc}). {rebuild_hint(shown)}"
        ) from None

    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexOpenError(
            f"This index has format version {version}; this version of peel-search reads "
            f"format {FORMAT_VERSION}. {rebuild_hint(shown)}"
        )
    tok = (manifest.get("bm25") or {}).get("tokenizer")
    if tok != bm25_mod.tokenizer_settings():
        raise IndexOpenError(
            f"This index was built with different BM25 tokenisation settings. {rebuild_hint(shown)}"
        )
    missing = [name for name in REQUIRED if not (folder / name).exists()]
    if missing:
        raise IndexOpenError(
            f"The index at {shown} is damaged (missing {', '.join(missing)}). {rebuild_hint(shown)}"
        )
    return manifest


def _open_index(folder: Path, shown: str, model: str | None) -> IndexFiles:
    manifest = _read_manifest(folder, shown)
    embedder = check_model(manifest, model, shown)
    try:
        with open(folder / CHUNKS, encoding="utf-8") as f:
            chunks = [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
        bm25 = bm25_mod.BM25Index.load(folder / BM25_DIR)
        dense = dense_mod.DenseIndex.load(folder / DENSE)
        documents = None
        if (folder / DOCUMENTS).exists():
            documents = read_json(folder / DOCUMENTS)
        texts = read_texts(folder)  # read now: offsets must match these chunks
        sentences = evidence_mod.SentenceTable.load(folder)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexOpenError(f"The index at {shown} cannot be read ({exc}). {rebuild_hint(shown)}") from None
    n = len(chunks)
    if not (bm25.n_docs == dense.n == n == manifest.get("counts", {}).get("chunks", n)):
        raise IndexOpenError(
            f"The index at {shown} is inconsistent ({n} chunks, {bm25.n_docs} in BM25, "
            f"{dense.n} vectors). {rebuild_hint(shown)}"
        )
    if sentences.n_chunks != n or (len(sentences.vectors) and sentences.vectors.shape[1] != dense.dims):
        raise IndexOpenError(
            f"The index at {shown} is inconsistent (sentence table for {sentences.n_chunks} "
            f"chunks, {n} chunks). {rebuild_hint(shown)}"
        )
    if dense.dims != manifest.get("dims"):
        raise IndexOpenError(
            f"The index at {shown} holds {dense.dims}-d vectors but its manifest says "
            f"{manifest.get('dims')}. {rebuild_hint(shown)}"
        )
    return IndexFiles(folder, manifest, chunks, bm25, dense, embedder, documents, texts, sentences)
