"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by default, all-mpnet-base-v2 (the
base `peel adapt` tunes), or any local sentence-transformers model folder
(`index.models.weights` says which folder a name means).

* ``load_model(name_or_path)`` returns one shared `Embedder` per model folder; the network
  weights themselves load lazily, on the first ``encode``.
* Vectors are L2-normalised float32, so inner product = cosine.
* Which engine runs an ``encode`` is `Embedder.backend_for`'s choice (PEEL_ENCODER can
  force one): for BERT/MPNet folders a handful of texts (queries) run on ONNX Runtime fp32
  (`OnnxEncoder`) or, without onnxruntime, on the numpy forward pass (`NumpyEncoder`);
  neither imports torch. Bulk passage encoding runs on torch.
* ``encode`` is guarded by a lock (Hugging Face fast tokenizers are not safe to call from
  several threads at once); query vectors are kept in a small LRU cache.
* Nothing is ever downloaded: the model must be a folder on disk (HF_HUB_OFFLINE is set).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from index.models.numpy_encoder import NumpyEncoder, normalise, numpy_supported
from index.models.onnx_encoder import OnnxEncoder, onnxruntime_available
from index.models.tokenizer import max_seq_length as folder_max_seq_length
from index.models.weights import resolve_model, stat_matches, weights_fingerprint

if TYPE_CHECKING:  # importing it costs seconds (torch); only `Embedder.model` loads it
    from sentence_transformers import SentenceTransformer

__all__ = ["Embedder", "load_model"]

QUERY_CACHE_SIZE = 512
MAX_TORCH_THREADS = 4
SMALL_BATCH = 8  # up to this many texts: encode single-threaded (see _threads_for)
NUMPY_MAX_TEXTS = 64  # up to this many texts: the query engine (ONNX or numpy), no torch
ENCODERS = ("auto", "numpy", "torch", "onnx", "onnx-int8")  # PEEL_ENCODER values
# Measured (benchmarks/README.md, "ONNX Runtime"). Queries: fp32 gives torch's vectors
# (cosine 1 - 1e-7) at half numpy's or torch's time; int8 halves it again but its cosine
# ~0.99 moved `peel eval` hybrid hit@5 by 0.025 (MiniLM) and dense MRR@10 by 0.018
# (MPNet), past the 0.01 allowed, so it is opt-in (PEEL_ENCODER=onnx-int8). Bulk: ONNX fp32
# made 1.4-1.8x torch's passages/s on 2 threads, short of the 2x that would justify a
# second engine at ingest (PEEL_ENCODER=onnx uses it).
AUTO_QUERY_BACKEND = "onnx"
AUTO_BULK_BACKEND = "torch"

log = logging.getLogger(__name__)
_warned_no_onnxruntime = False

_torch_configured = False
_bulk_threads = 1


def _bulk_thread_count() -> int:
    """Threads for bulk encoding (torch or ONNX Runtime): the machine's cores, capped (more
    threads than cores only adds contention), or PEEL_TORCH_THREADS / OMP_NUM_THREADS."""
    for var in ("PEEL_TORCH_THREADS", "OMP_NUM_THREADS"):
        try:
            return max(1, int(os.environ[var]))
        except (KeyError, ValueError):
            continue
    return max(1, min(os.cpu_count() or 1, MAX_TORCH_THREADS))


def _configure_torch() -> None:
    """Set torch up for bulk encoding: `_bulk_thread_count` threads, one inter-op thread."""
    global _torch_configured, _bulk_threads
    if _torch_configured:
        return
    _torch_configured = True
    import torch

    _bulk_threads = _bulk_thread_count()
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
    return 1 if n_texts <= SMALL_BATCH else (_bulk_threads if _torch_configured else _bulk_thread_count())


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
        self._numpy: NumpyEncoder | None = None
        self._numpy_ok: bool | None = None
        self._onnx: dict[str, OnnxEncoder] = {}

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
        """The combined sha256 of the weight files."""
        return self.fingerprint()["sha256"]

    @property
    def model_id(self) -> str:
        """Name + weights hash: what embedding-cache keys are derived from."""
        return f"{self.name}@{self.weights_sha256[:16]}"

    # network
    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers network, loaded (with torch) on first use."""
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

    # the torch-free encoders (queries; bulk on ONNX): NumpyEncoder, OnnxEncoder
    def _backend_setting(self) -> str:
        value = os.environ.get("PEEL_ENCODER", "auto").strip().lower() or "auto"
        return value if value in ENCODERS else "auto"

    @property
    def numpy_supported(self) -> bool:
        """True if this folder's architecture is the one `NumpyEncoder` reproduces."""
        if self._numpy_ok is None:
            self._numpy_ok = numpy_supported(self.path)
        return self._numpy_ok

    @property
    def onnx_usable(self) -> bool:
        """True if `OnnxEncoder` can run this folder: a supported architecture, and the
        onnxruntime package installed (if not, one warning: queries fall back to numpy)."""
        global _warned_no_onnxruntime
        if not self.numpy_supported:  # onnx_supported is the same check, cached here
            return False
        if onnxruntime_available():
            return True
        if not _warned_no_onnxruntime:
            _warned_no_onnxruntime = True
            log.warning("onnxruntime is not installed: queries are encoded by the slower numpy "
                        "forward pass and passages by torch (pip install onnxruntime).")
        return False

    def _numpy_encoder(self) -> NumpyEncoder | None:
        if self._backend_setting() == "torch" or not self.numpy_supported:
            return None
        if self._numpy is None:
            with self._load_lock:
                if self._numpy is None:
                    self._numpy = NumpyEncoder(self.path)
        return self._numpy

    def _onnx_encoder(self, precision: str) -> OnnxEncoder:
        """The ONNX Runtime encoder at ``precision``; exports the model on first use (seconds
        to a minute) and raises OnnxExportError if that fails."""
        if precision not in self._onnx:
            with self._load_lock:
                if precision not in self._onnx:
                    self._onnx[precision] = OnnxEncoder(self.path, precision, self.weights_sha256)
        return self._onnx[precision]

    def _light_encoder(self, backend: str) -> NumpyEncoder | OnnxEncoder:
        if backend == "numpy":
            return self._numpy_encoder()
        return self._onnx_encoder("int8" if backend == "onnx-int8" else "fp32")

    def backend_for(self, n_texts: int) -> str:
        """"numpy", "onnx" (fp32), "onnx-int8" or "torch": what ``encode`` of ``n_texts``
        texts runs on. By default up to NUMPY_MAX_TEXTS texts (queries) run on
        AUTO_QUERY_BACKEND and more on AUTO_BULK_BACKEND, both where the folder and the
        installed packages allow; numpy, then torch, stand in. PEEL_ENCODER=numpy|torch|onnx|
        onnx-int8 forces one engine for every batch size (numpy, then torch, where the
        forced one cannot run this folder)."""
        setting = self._backend_setting()
        if setting == "torch" or not self.numpy_supported:
            return "torch"
        if setting == "numpy":
            return "numpy"
        if setting in ("onnx", "onnx-int8"):
            return setting if self.onnx_usable else "numpy"
        if n_texts <= NUMPY_MAX_TEXTS:
            return AUTO_QUERY_BACKEND if self.onnx_usable else "numpy"
        return AUTO_BULK_BACKEND if self.onnx_usable else "torch"

    @property
    def dims(self) -> int:
        """Length of the vectors, read from config.json when torch is not loaded yet."""
        if self._numpy is not None:
            return self._numpy.dims
        if self._model is None and self.numpy_supported:
            return int(json.loads((self.path / "config.json").read_text())["hidden_size"])
        m = self.model
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_seq_length(self) -> int:
        """Word pieces the model reads of a text; the rest is truncated."""
        if self._model is None and self.numpy_supported:
            return folder_max_seq_length(self.path)  # what both torch-free encoders truncate at
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
        backend = self.backend_for(len(texts))
        use_light = backend != "torch"
        if use_light:
            encoder = self._light_encoder(backend)
        else:
            model = self.model
            import torch

        report = progress if callable(progress) else None
        bar = None
        if progress is True:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TimeRemainingColumn,
            )

            bar = Progress("Embedding passages", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           transient=True)
            task = bar.add_task("embed", total=len(texts))
            bar.start()
        step = batch_size * 4
        parts = []
        # Longest first over the whole input, as model.encode sorts within one call: slicing
        # for progress must not slice the sort (measured on data/: 10% more padded tokens).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        texts = [texts[i] for i in order]
        try:
            with self._encode_lock:
                threads = _threads_for(len(texts))
                if not use_light and torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                for start in range(0, len(texts), step):
                    piece = texts[start : start + step]
                    if use_light:
                        parts.append(encoder.encode(piece, batch_size=min(batch_size, 16), threads=threads))
                    else:
                        parts.append(model.encode(
                            piece,
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
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(parts)
        return normalise(vectors)

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
        """One query's vector (see `encode_queries`)."""
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
