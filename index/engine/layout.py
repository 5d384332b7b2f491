"""What an index folder holds: its file names and format version, shared by every module
that writes or reads it.

Layout of ``index_dir`` (`index.engine.versions` publishes, resolves and collects versions)::

    CURRENT                the current version's folder name and a newline; replaced atomically
    versions/<version-id>/ one complete index, never modified once published (files below)
    versions/.tmp-<pid>-…  a build being written (removed by the next build if its process died)
    writer.lock            ``flock`` held by the one process changing the index (its pid inside)

Version ids (``20261204T093012.123456Z-3fa9c1``) sort by creation time. An index folder of
format 2 written before versions (the files below directly in ``index_dir``, no CURRENT) is
read as it is; the first build into it publishes a version and the old files go like any
retired version. Each version folder holds::

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
The manifest is written last, so a folder without one is incomplete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from index.engine import sentence_vectors as evidence_mod

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
INDEX_FILES = (*REQUIRED, CACHE_VECTORS, CACHE_KEYS, DOCUMENTS, TEXTS)  # everything a version holds

CURRENT = "CURRENT"
VERSIONS = "versions"
WRITER_LOCK = "writer.lock"
CONTROL = (CURRENT, VERSIONS, WRITER_LOCK)


def is_index_folder(path: Path) -> bool:
    """May a build write into ``path``: nothing there yet, an empty folder, or one that holds
    an index (of any version of this layout)? False for a file or a folder of other things,
    which a build must never take over."""
    if not path.exists():
        return True
    if not path.is_dir():
        return False
    if any((path / name).exists() for name in (*CONTROL, *REQUIRED)):
        return True
    return not any(path.iterdir())


def not_an_index(path: Path) -> str:
    """Why a build refuses ``path`` (see `is_index_folder`)."""
    return (f"{path} exists and is not a peel-search index; refusing to replace it. "
            f"Choose another --index folder.")


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as UTF-8 JSON (inside a build's temp folder: publishing makes it atomic)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


def read_json(path: Path) -> Any:
    """The JSON in ``path``; OSError / ValueError as json and open raise them."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)
