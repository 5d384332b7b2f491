"""SHA-256 of files, remembered per file version: a leaf both `weights` (fingerprints) and
`packaged` (checking assembled downloads) use, so neither has to import the other for it."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

# Hashing a 420 MB weights file takes seconds; an index is opened and checked many times
# per process (app reruns, tests), so each file version is hashed once.
_HASH_CACHE: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) for the life of the process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASH_CACHE:
            return _HASH_CACHE[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _HASH_LOCK:
        _HASH_CACHE[key] = digest
    return digest
