"""The content-addressed embedding cache kept in every index version.

One vector per distinct text the model embedded (chunk embed texts and evidence sentences),
keyed by ``sha256(model_id + "\\n" + text)``: a rebuild finds the vectors of unchanged texts
here and sends only new ones through the model. Files: ``emb_cache.npy`` (float32, one row
per key, loaded with ``allow_pickle=False``) and ``emb_cache_keys.json``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from index.engine.layout import (
    CACHE_KEYS,
    CACHE_VECTORS,
    FORMAT_VERSION,
    MANIFEST,
    read_json,
    write_json,
)
from index.engine.versions import current_folder


def cache_key(model_id: str, text: str) -> str:
    """The cache key of ``text`` embedded by model ``model_id``."""
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


def load_cache(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """Previous index's vectors by key (of its current version); empty if absent, unreadable,
    of another model or format."""
    folder = current_folder(index_dir)  # once: the keys and the vectors of one version
    try:
        if read_json(folder / MANIFEST).get("format_version") != FORMAT_VERSION:
            return {}
        meta = read_json(folder / CACHE_KEYS)
        if meta.get("model_id") != model_id:
            return {}
        vectors = np.load(folder / CACHE_VECTORS, allow_pickle=False)
        keys = meta["keys"]
        if vectors.ndim != 2 or len(keys) != len(vectors):
            return {}
        return dict(zip(keys, vectors.astype(np.float32, copy=False)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save_cache(folder: Path, model_id: str, keys: Sequence[str], vectors: np.ndarray) -> None:
    """Write the cache (row i of ``vectors`` is ``keys[i]``) into a build's temp folder."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(keys):
        raise ValueError(f"cache vectors {vectors.shape} do not match {len(keys)} keys")
    np.save(folder / CACHE_VECTORS, vectors, allow_pickle=False)
    write_json(folder / CACHE_KEYS, {"model_id": model_id, "dims": int(vectors.shape[1]), "keys": list(keys)})
