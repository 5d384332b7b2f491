"""Query embeddings without torch: a numpy forward pass for the BERT-family architectures.

Importing torch + sentence-transformers takes 5-15 s on this kind of machine, which was
nearly all of `peel search`'s cold start (~21 s → ~1.1 s; `python -m benchmarks`,
cold_start, and benchmarks/README.md). A query is one short text, so the transformer
(all-MiniLM-L6-v2's 6-layer BERT, or all-mpnet-base-v2's 12-layer MPNet) is run here in
plain numpy instead: same weights (read from the safetensors file), same tokenizer
(tokenizer.json via `tokenizers`, truncated to the model's max_seq_length), mean pooling
over the attention mask, L2 normalisation. It agrees with sentence-transformers to ~1e-7
per component (cosine ≥ 0.99999, tests/test_embedder.py). It is used only for folders of
exactly those architectures (`numpy_supported`); anything else, and bulk passage encoding
(where torch's fused kernels are faster), uses torch.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file

from index.models.tokenizer import max_seq_length

__all__ = ["NUMPY_ARCHITECTURES", "NumpyEncoder", "normalise", "numpy_supported"]

NUMPY_ARCHITECTURES = ("bert", "mpnet")  # config.json model_type values NumpyEncoder runs

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
        with safe_open(str(folder / "model.safetensors"), framework="numpy") as f:
            return all(f.get_slice(name).get_dtype() == "F32" for name in f.keys() if "position_ids" not in name)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, SafetensorError):
        return False


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows left as they are), as contiguous float32."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


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
    def limit(cls, n: int) -> contextlib.AbstractContextManager:
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
        self.max_seq_length = max_seq_length(folder)
        self.heads = int(cfg["num_attention_heads"])
        self.dims = int(cfg["hidden_size"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        raw = load_file(str(folder / "model.safetensors"))
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
        """Each text's word-piece ids, special tokens included, truncated as the model does."""
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
        return normalise(out)
