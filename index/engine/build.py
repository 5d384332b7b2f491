"""The index folder: building it atomically, and reading it back.

Layout of ``index_dir``::

    manifest.json          format version, model (name, path, weights hash), dims, chunker
                           settings, corpus fingerprint, counts, BM25/FAISS settings, files
    chunks.jsonl           one Chunk.to_dict() per line, in row order
    bm25/                  bm25s's own save: *.npy (allow_pickle=False) + JSON vocab/params
    dense.faiss            faiss.write_index (IndexFlatIP, or IndexHNSWFlat above a threshold)
    emb_cache.npy          float32 (M, dims): one vector per distinct embed text
    emb_cache_keys.json    {"model_id", "dims", "keys": [sha256(model_id + "\\n" + text), ...]}
    documents.json         optional: the documents' metadata (DocumentMeta.to_dict() each)
    texts.jsonl            optional: {"doc_id", "text"} per line, the text chunk offsets index
    sentence_*.npy         every chunk's sentence spans and vectors (index.engine.sentence_vectors)

No pickle anywhere: JSON, ``.npy`` loaded with ``allow_pickle=False``, and FAISS's format.

Atomic rebuild: everything is written to ``.{name}.tmp-<pid>`` beside the index and fsynced,
then ``index_dir`` → ``.{name}.old``, tmp → ``index_dir``, and ``.old`` is deleted. A crash
at any moment leaves either the old complete index or the new one: if ``index_dir`` is
missing but ``.old`` exists, the next open or build puts it back. Stale temp folders (of
processes that no longer run) are removed by the next build. The swap holds an exclusive
``flock`` on the parent folder and defers SIGINT/SIGTERM until it is done; opening holds a
shared one, so a reader never sees half a swap and two builds never swap at once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ingest.records import Chunk

from index.engine import bm25 as bm25_mod
from index.engine import dense as dense_mod
from index.engine import sentence_vectors as evidence_mod
from index.models.embedder import Embedder, ModelNotFoundError, load_model

FORMAT_VERSION = 2  # 2: sentence vectors (index.engine.sentence_vectors)

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
BM25_DIR = "bm25"
DENSE = "dense.faiss"
CACHE_VECTORS = "emb_cache.npy"
CACHE_KEYS = "emb_cache_keys.json"
DOCUMENTS = "documents.json"
TEXTS = "texts.jsonl"
REQUIRED = (MANIFEST, CHUNKS, BM25_DIR, DENSE, *evidence_mod.FILES)


class IndexOpenError(Exception):
    """The index cannot be opened; the message says why and what to run (no traceback needed)."""


def rebuild_hint(index_dir: Path | str) -> str:
    return f"Rebuild it with: peel ingest --rebuild --index {index_dir}"


@dataclass
class BuildReport:
    counts: dict[str, int]
    n_embedded: int  # texts sent through the model in this build
    n_cached: int  # chunks whose vector came from the previous index's cache
    seconds: float
    path: Path
    model: str = ""
    dense_kind: str = "flat"
    recovered: list[str] = field(default_factory=list)  # notes on stale folders cleaned up

    def summary(self) -> str:
        return (
            f"Indexed {self.counts.get('chunks', 0)} chunks from {self.counts.get('documents', 0)} "
            f"documents in {self.seconds:.1f}s ({self.n_embedded} embedded, {self.n_cached} "
            f"from cache) → {self.path}"
        )


# --- paths and the swap ------------------------------------------------------------------


def _old_dir(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.old"


def _tmp_prefix(index_dir: Path) -> str:
    return f".{index_dir.name}.tmp-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


@contextlib.contextmanager
def _folder_lock(folder: Path, exclusive: bool = True):
    """``flock`` on the folder that holds the index (best effort: no lock where unsupported)."""
    fd = None
    try:
        import fcntl

        fd = os.open(str(folder), os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    except (ImportError, OSError):
        if fd is not None:
            os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


@contextlib.contextmanager
def _signals_deferred():
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block is done, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if received:
            signal.raise_signal(received[0])


def recover(index_dir: Path, *, lock: bool = True) -> str | None:
    """If a swap was interrupted after the old index was moved aside, move it back."""
    if lock:
        old = _old_dir(index_dir)
        if index_dir.exists() or not old.is_dir():
            return None
        with _folder_lock(index_dir.parent):
            return recover(index_dir, lock=False)
    old = _old_dir(index_dir)
    if not index_dir.exists() and old.is_dir():
        try:
            os.rename(old, index_dir)
            _fsync_dir(index_dir.parent)
            return f"recovered {index_dir} from {old.name}"
        except OSError:
            return None
    return None


def clean_stale(index_dir: Path) -> list[str]:
    """Remove temp folders of dead builds, and a leftover .old next to a complete index."""
    notes = []
    parent = index_dir.parent
    if not parent.is_dir():
        return notes
    prefix = _tmp_prefix(index_dir)
    for p in parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        try:
            pid = int(p.name[len(prefix):])
        except ValueError:
            pid = -1
        if pid == os.getpid() or not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
            notes.append(f"removed stale temp folder {p.name}")
    old = _old_dir(index_dir)
    if old.exists() and (index_dir / MANIFEST).exists():
        shutil.rmtree(old, ignore_errors=True)
        notes.append(f"removed leftover {old.name}")
    return notes


def _swap_into_place(tmp: Path, index_dir: Path) -> None:
    old = _old_dir(index_dir)
    if old.exists():
        shutil.rmtree(old)
    if index_dir.exists():
        os.rename(index_dir, old)
    os.rename(tmp, index_dir)
    _fsync_dir(index_dir.parent)
    shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(index_dir.parent)


# --- small file helpers ------------------------------------------------------------------


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def corpus_fingerprint(chunks: Iterable[Chunk]) -> str:
    h = hashlib.sha256()
    for cid, text in sorted((c.chunk_id, c.text) for c in chunks):
        h.update(cid.encode())
        h.update(b"\x00")
        h.update(text.encode())
        h.update(b"\x01")
    return h.hexdigest()


def cache_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


def _load_cache(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """Previous index's vectors by key; empty if absent, unreadable, of another model or format."""
    try:
        if _read_json(index_dir / MANIFEST).get("format_version") != FORMAT_VERSION:
            return {}
        meta = _read_json(index_dir / CACHE_KEYS)
        if meta.get("model_id") != model_id:
            return {}
        vectors = np.load(index_dir / CACHE_VECTORS, allow_pickle=False)
        keys = meta["keys"]
        if vectors.ndim != 2 or len(keys) != len(vectors):
            return {}
        return dict(zip(keys, vectors.astype(np.float32, copy=False)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _known_weights(index_dir: Path, embedder: Embedder) -> dict[str, Any] | None:
    """The previous index's record of this model's weights, if it used the same folder."""
    for folder in (index_dir, _old_dir(index_dir)):
        try:
            rec = _read_json(folder / MANIFEST).get("model") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if rec.get("path") == str(embedder.path):
            return {"files": rec.get("weights") or [], "sha256": rec.get("weights_sha256")}
    return None


def replace_problem(index_dir: Path | str, model: str | None = None) -> str | None:
    """Why building into ``index_dir`` would replace an index of another format, BM25
    tokenisation or embedding model (what ``peel ingest --rebuild`` is for); None when the
    folder holds no index, a damaged one, or one of this format and model."""
    index_dir = Path(index_dir).expanduser().absolute()
    recover(index_dir)
    try:
        manifest = _read_json(index_dir / MANIFEST)
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
    if rec.get("weights_sha256") != embedder.fingerprint(_known_weights(index_dir, embedder))["sha256"]:
        return f"it was built with model {_model_label(rec)}, not {embedder.name}"
    return None


# --- build ------------------------------------------------------------------------------


def build_index(
    chunks: Sequence[Chunk],
    index_dir: Path | str,
    *,
    model: str | None = None,
    progress: bool | Callable[[int, int], None] = True,
    chunker_settings: dict | None = None,
    hnsw_threshold: int | None = None,
    batch_size: int = 32,
    documents: Sequence[Any] | None = None,
    texts: Mapping[str, str] | None = None,
    vectors: np.ndarray | None = None,
    sentence_encoder: Callable[[list[str]], np.ndarray] | None = None,
) -> BuildReport:
    """Build (or rebuild) the index folder for ``chunks``, atomically.

    Vectors of chunks whose embed text is unchanged are taken from the previous index's
    cache; only new texts go through the model. ``hnsw_threshold`` overrides
    `index.engine.dense.HNSW_THRESHOLD` (chunks above it use HNSW). ``documents`` (DocumentMeta
    or its dict) and ``texts`` (doc_id → the text chunk offsets refer to) are stored as
    they are, for `Searcher.documents` and `Searcher.doc_text`. ``vectors`` (one row per chunk,
    from this model, computed elsewhere: benchmarks, bulk pipelines) are used as given instead
    of the model and the cache; they are L2-normalised here and cached like embedded ones.
    ``sentence_encoder`` (texts → one vector each) likewise stands in for the model for the
    sentences of `index.engine.sentence_vectors` that are not in the cache (the benchmarks' scaled corpus).
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir).expanduser().absolute()
    chunks = list(chunks)
    if not chunks:
        raise ValueError("No chunks to index.")
    seen: set[str] = set()
    for c in chunks:
        if c.chunk_id in seen:
            raise ValueError(f"Duplicate chunk_id {c.chunk_id!r}: chunk ids must be unique.")
        seen.add(c.chunk_id)

    embedder = load_model(model)
    fingerprint = embedder.fingerprint(_known_weights(index_dir, embedder))
    model_id = embedder.model_id

    index_dir.parent.mkdir(parents=True, exist_ok=True)
    notes = []
    with _folder_lock(index_dir.parent):
        note = recover(index_dir, lock=False)
        if note:
            notes.append(note)
    if index_dir.exists() and (
        not index_dir.is_dir()
        or (
            not any((index_dir / name).exists() for name in REQUIRED)
            and any(index_dir.iterdir())
        )
    ):
        raise ValueError(
            f"{index_dir} exists and is not a peel-search index; refusing to replace it. "
            f"Choose another --index folder."
        )
    with _folder_lock(index_dir.parent):
        notes += clean_stale(index_dir)

    # Embeddings: reuse the previous index's cache, embed only what is new.
    embed_texts = [c.embed_text() for c in chunks]
    keys = [cache_key(model_id, t) for t in embed_texts]
    n_chunk_keys = len(keys)
    # Sentence evidence goes through the same cache: a rebuild embeds only new sentences.
    sent_spans, sent_texts, sent_offsets = evidence_mod.SentenceTable.from_chunks([c.text for c in chunks])
    keys += [cache_key(model_id, t) for t in sent_texts]
    embed_texts += sent_texts
    precomputed = vectors is not None
    previous = {} if precomputed else _load_cache(index_dir, model_id)
    if precomputed:
        given = np.asarray(vectors, dtype=np.float32)
        if given.ndim != 2 or len(given) != len(chunks):
            raise ValueError(f"vectors must have one row per chunk: {given.shape} for {len(chunks)} chunks")
        if given.shape[1] != embedder.dims:  # queries would be encoded by this model
            raise ValueError(f"vectors have {given.shape[1]} dimensions; the model {embedder.name} makes {embedder.dims}")
        norms = np.linalg.norm(given, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        given = given / norms
        for k, v in zip(keys, given):
            previous.setdefault(k, v)
    unique_keys = list(dict.fromkeys(keys))
    vectors_by_key: dict[str, np.ndarray] = {k: previous[k] for k in unique_keys if k in previous}
    first_text: dict[str, str] = {}
    for k, t in zip(keys, embed_texts):
        first_text.setdefault(k, t)
    if sentence_encoder is not None:
        sentence_keys = set(keys[n_chunk_keys:]) - set(keys[:n_chunk_keys])
        given_todo = [k for k in unique_keys if k in sentence_keys and k not in vectors_by_key]
        if given_todo:
            got = np.asarray(sentence_encoder([first_text[k] for k in given_todo]), dtype=np.float32)
            got = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
            vectors_by_key.update(zip(given_todo, got))
    todo = [k for k in unique_keys if k not in vectors_by_key]
    if todo:
        new = embedder.encode([first_text[k] for k in todo], batch_size=batch_size, progress=progress)
        vectors_by_key.update(zip(todo, new))
    dims = int(next(iter(vectors_by_key.values())).shape[0])
    cache_vectors = np.stack([vectors_by_key[k] for k in unique_keys]).astype(np.float32)
    vectors = np.stack([vectors_by_key[k] for k in keys[:n_chunk_keys]]).astype(np.float32)
    sentences = evidence_mod.SentenceTable(
        sent_offsets,
        np.asarray(sent_spans, dtype=np.int32).reshape(-1, 2),
        np.stack([vectors_by_key[k] for k in keys[n_chunk_keys:]]).astype(np.float32)
        if len(keys) > n_chunk_keys
        else np.zeros((0, dims), np.float32),
    )
    n_cached = 0 if precomputed else sum(1 for k in keys[:n_chunk_keys] if k in previous)
    embed_texts = embed_texts[:n_chunk_keys]

    tmp = index_dir.parent / f"{_tmp_prefix(index_dir)}{os.getpid()}"
    try:
        # inside the try: Ctrl-C is delivered right after os.mkdir returns, and the folder
        # made just before it must go too (seen in CI with a signal sent as it appeared)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        with open(tmp / CHUNKS, "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")

        bm25 = bm25_mod.BM25Index.build(embed_texts)
        (tmp / BM25_DIR).mkdir()
        bm25.save(tmp / BM25_DIR)

        dense = dense_mod.DenseIndex.build(vectors, hnsw_threshold)
        dense.save(tmp / DENSE)
        sentences.save(tmp)

        np.save(tmp / CACHE_VECTORS, cache_vectors, allow_pickle=False)
        if documents is not None:
            _write_json(
                tmp / DOCUMENTS,
                [d.to_dict() if hasattr(d, "to_dict") else dict(d) for d in documents],
            )
        if texts is not None:
            with open(tmp / TEXTS, "w", encoding="utf-8") as f:
                for doc_id, text in texts.items():
                    f.write(json.dumps({"doc_id": doc_id, "text": text}, ensure_ascii=False) + "\n")
        _write_json(tmp / CACHE_KEYS, {"model_id": model_id, "dims": dims, "keys": unique_keys})

        doc_ids = list(dict.fromkeys(c.doc_id for c in chunks))
        counts = {
            "chunks": len(chunks),
            "documents": len(doc_ids),
            "duplicates": sum(1 for c in chunks if c.dup_of),
            "vocabulary": len(bm25.vocab),
            "distinct_texts": len(unique_keys),
            "sentences": len(sent_texts),
        }
        manifest = {
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "model": {
                "name": embedder.name,
                "path": str(embedder.path),
                "default": embedder.is_default,
                "id": model_id,
                "weights_sha256": fingerprint["sha256"],
                "weights": fingerprint["files"],
            },
            "dims": dims,
            "chunker": chunker_settings or {},
            "corpus_fingerprint": corpus_fingerprint(chunks),
            "counts": counts,
            "bm25": {
                "library": "bm25s",
                "method": bm25_mod.METHOD,
                "idf_method": bm25_mod.IDF_METHOD,
                "k1": bm25_mod.K1,
                "b": bm25_mod.B,
                "tokenizer": bm25_mod.tokenizer_settings(),
            },
            "dense": {
                "kind": dense.kind,
                "metric": "inner_product",
                "hnsw_threshold": dense_mod.HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold,
                "hnsw_m": dense_mod.HNSW_M,
                "ef_construction": dense_mod.EF_CONSTRUCTION,
                "ef_search": dense_mod.EF_SEARCH,
            },
            "files": sorted(
                p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()
            ),
        }
        _write_json(tmp / MANIFEST, manifest)  # written last: a folder without it is incomplete
        _fsync_tree(tmp)
        _fsync_dir(tmp.parent)
        # One swap at a time, no reader in the middle of one, and Ctrl-C waits for its end.
        with _folder_lock(index_dir.parent), _signals_deferred():
            _swap_into_place(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        with _folder_lock(index_dir.parent):
            recover(index_dir, lock=False)  # the swap failed half-way: the old index goes back
        raise

    return BuildReport(
        counts=counts,
        n_embedded=len(todo),
        n_cached=n_cached,
        seconds=time.perf_counter() - t0,
        path=index_dir,
        model=embedder.name,
        dense_kind=dense.kind,
        recovered=notes,
    )


# --- open -------------------------------------------------------------------------------


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


def _model_label(rec: dict[str, Any]) -> str:
    return rec.get("name") or rec.get("path") or "an unknown model"


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
    shown = str(index_dir)
    index_dir = Path(index_dir).expanduser().absolute()
    if not index_dir.exists():
        recover(index_dir)
    # Shared lock: a build's swap (exclusive) waits until these files are read.
    with _folder_lock(index_dir.parent, exclusive=False):
        return _open_index(index_dir, shown, model)


def _open_index(index_dir: Path, shown: str, model: str | None) -> IndexFiles:
    if not index_dir.exists() and _old_dir(index_dir).is_dir():
        index_dir_to_read = _old_dir(index_dir)  # could not move it back (race): read in place
    else:
        index_dir_to_read = index_dir
    if not (index_dir_to_read / MANIFEST).exists():
        if any((index_dir_to_read / name).exists() for name in REQUIRED):
            raise IndexOpenError(
                f"{shown} is not a complete peel-search index (no {MANIFEST}). {rebuild_hint(shown)}"
            )
        if index_dir_to_read.is_dir() and any(index_dir_to_read.iterdir()):
            raise IndexOpenError(
                f"No index at {shown}: that folder holds other files. Build one in a new "
                f"folder with: peel ingest [PATH…] --index NEW_FOLDER"
            )
        raise IndexOpenError(f"No index at {shown}. Build one with: peel ingest [PATH…] --index {shown}")
    try:
        manifest = _read_json(index_dir_to_read / MANIFEST)
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
    missing = [name for name in REQUIRED if not (index_dir_to_read / name).exists()]
    if missing:
        raise IndexOpenError(
            f"The index at {shown} is damaged (missing {', '.join(missing)}). {rebuild_hint(shown)}"
        )

    embedder = check_model(manifest, model, shown)

    try:
        with open(index_dir_to_read / CHUNKS, encoding="utf-8") as f:
            chunks = [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
        bm25 = bm25_mod.BM25Index.load(index_dir_to_read / BM25_DIR)
        dense = dense_mod.DenseIndex.load(index_dir_to_read / DENSE)
        documents = None
        if (index_dir_to_read / DOCUMENTS).exists():
            documents = _read_json(index_dir_to_read / DOCUMENTS)
        texts = read_texts(index_dir_to_read)  # read now: offsets must match these chunks
        sentences = evidence_mod.SentenceTable.load(index_dir_to_read)
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
    return IndexFiles(index_dir_to_read, manifest, chunks, bm25, dense, embedder, documents, texts, sentences)
