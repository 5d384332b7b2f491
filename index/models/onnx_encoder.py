"""Sentence embeddings on ONNX Runtime: the model's transformer exported once with torch,
then run without it.

One query on one thread here (benchmarks/README.md): all-MiniLM-L6-v2 14 ms on torch,
11 ms on the numpy forward pass (`NumpyEncoder`), 5.7 ms on ONNX Runtime fp32, 3.7 ms int8;
all-mpnet-base-v2 72, 73, 37 and 22 ms. So the transformer of a sentence-transformers
folder of the kind `numpy_supported` accepts (BERT/MiniLM or MPNet, mean pooling,
tokenizer.json) is exported to ``model-fp32.onnx`` (vectors equal to torch's, cosine
1 - 1e-7) and quantised to ``model-int8.onnx`` (dynamic: int8 weights per output channel,
activations quantised at run time; cosine ~0.99, which moves a few eval questions, so it is
opt-in). Mean pooling and L2 normalisation stay in numpy after the session.

The export is done on first use and kept, with ``export.json`` recording the source
weights' sha256, the opset, and the onnxruntime, onnx and torch versions it was made with:
in ``<model>/onnx/`` when the model folder is writable, else under
``$PEEL_CACHE/onnx/<weights sha256>/``. A record for other weights (the folder was
retrained in place) is exported again. Loading and running need only onnxruntime,
tokenizers and numpy; the export needs torch, and when torch is not imported yet it runs in
a child process, so even the first query of a fresh install leaves no torch in the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.models.numpy_encoder import normalise, numpy_supported
from index.models.tokenizer import max_seq_length
from index.models.weights import weights_fingerprint
from ingest.atomic import write_atomically

__all__ = [
    "ONNX_PRECISIONS",
    "OnnxEncoder",
    "OnnxExportError",
    "ensure_export",
    "export_model",
    "onnx_supported",
    "onnxruntime_available",
]

ONNX_PRECISIONS = ("fp32", "int8")
OPSET = 17
FORMAT = 2  # bump to have every kept export redone
RECORD = "export.json"
# The FFN down-projections read the GELU output, whose outlier columns per-tensor int8
# activations cannot hold: quantising them took all-mpnet-base-v2's query vectors to cosine
# 0.90 of fp32 (0.9916 without them), so they stay fp32 (MiniLM: 0.9934 → 0.9966).
_FFN_DOWN = re.compile(r"layer\.\d+/output/dense/MatMul")
PROBE_TEXTS = (  # int8 vs fp32 agreement recorded at export
    "stop and search",
    "How many registered sex offenders was Essex Police managing in 2016?",
    "what did inspectors say about the 101 non-emergency line",
    ("The force has improved how it identifies and responds to vulnerable victims, but some "
     "call handlers did not always complete risk assessments."),
)
EXPORT_TIMEOUT = 1800  # seconds; MPNet-base takes well under a minute here


class OnnxExportError(RuntimeError):
    """The model could not be exported to, or quantised in, ONNX."""


def onnxruntime_available() -> bool:
    """True if the onnxruntime package can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def onnx_supported(folder: Path) -> bool:
    """True for the folders this encoder reproduces: those the numpy encoder accepts (its
    checks are exactly what the export + numpy mean pooling here assume)."""
    return numpy_supported(folder)


def _cache_root() -> Path:
    # Imported here: packaged.py brings zipfile and package metadata, needed only for this.
    from index.models.packaged import cache_root

    return cache_root()


def _candidate_dirs(folder: Path, weights_sha256: str) -> Iterator[Path]:
    """Where an export may live, in order of preference (lazily: the cache path costs an
    import a query's cold start can skip). Beside the model only when its weights are
    safetensors: for a folder of .bin weights `weights.weight_files` falls back to counting
    .onnx files, so an export there would change the model's own fingerprint."""
    if any(folder.glob("*.safetensors")):
        yield folder / "onnx"
    yield _cache_root() / "onnx" / weights_sha256[:32]


def _read_record(out_dir: Path, weights_sha256: str) -> dict[str, Any] | None:
    """The export record of ``out_dir`` if it is complete and made from these weights."""
    try:
        rec = json.loads((out_dir / RECORD).read_text())
        if rec.get("format") != FORMAT or rec.get("opset") != OPSET:
            return None
        if rec.get("weights_sha256") != weights_sha256:
            return None
        for precision in ONNX_PRECISIONS:
            f = rec["files"][precision]
            if (out_dir / f["file"]).stat().st_size != f["size"]:
                return None
        return rec
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe."):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """One exporter per folder at a time, across processes (two `peel` commands at once)."""
    with open(out_dir / ".export.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(data, indent=2) + "\n")


def export_model(folder: Path, out_dir: Path, weights_sha256: str) -> dict[str, Any]:
    """Export ``folder``'s transformer to ``out_dir``/model-fp32.onnx and model-int8.onnx and
    write the record. Needs torch, transformers, onnx; files are written under temporary
    names and renamed, the record last, so a reader never sees half an export."""
    t0 = time.perf_counter()
    try:
        import onnx
        import onnxruntime
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel
    except ImportError as exc:
        raise OnnxExportError(f"Exporting {folder} to ONNX needs torch, transformers and onnx: {exc}") from exc

    cfg = json.loads((folder / "config.json").read_text())
    with_types = cfg.get("model_type") == "bert"  # MPNet has no token types

    class LastHidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {"token_type_ids": token_type_ids} if with_types else {}
            return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    # Eager attention: the plain softmax graph, which ONNX Runtime's optimiser knows.
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager", local_files_only=True)
    wrapper = LastHidden(model).eval()
    ids = torch.tensor([[0, 5, 6, 7], [0, 5, 6, 7]])  # any ids: only shapes and ops are traced
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    args = (ids, mask, torch.zeros_like(ids)) if with_types else (ids, mask)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export.", dir=out_dir))
    try:
        fp32, int8 = work / "model-fp32.onnx", work / "model-int8.onnx"
        with torch.no_grad():
            torch.onnx.export(wrapper, args, str(fp32), dynamo=False, opset_version=OPSET,
                              input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes)
        onnx.checker.check_model(str(fp32))
        graph = onnx.load(str(fp32), load_external_data=False).graph
        keep = [n.name for n in graph.node if n.op_type == "MatMul" and _FFN_DOWN.search(n.name)]
        if len(keep) != int(cfg["num_hidden_layers"]):
            raise OnnxExportError(f"Found {len(keep)} FFN output projections in the export of {folder}, "
                                  f"expected {cfg['num_hidden_layers']}: the int8 recipe does not fit it.")
        # MatMul weights only (quantising the embedding Gathers too cost accuracy for no
        # speed), per output channel (per tensor: cosine 0.969 on MiniLM queries).
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         per_channel=True, nodes_to_exclude=keep)
        agreement = _probe_agreement(folder, names, fp32, int8)
        files = {}
        for precision, path in (("fp32", fp32), ("int8", int8)):
            files[precision] = {"file": path.name, "precision": precision, "size": path.stat().st_size}
            os.replace(path, out_dir / path.name)
        rec = {
            "format": FORMAT,
            "source": str(folder),
            "weights_sha256": weights_sha256,
            "model_type": cfg.get("model_type"),
            "inputs": names,
            "opset": OPSET,
            "onnxruntime": onnxruntime.__version__,
            "onnx": onnx.__version__,
            "torch": torch.__version__,
            "quantization": "dynamic, QInt8 weights per channel, MatMuls but the FFN output projections",
            "int8_probe_min_cosine": round(agreement, 5),
            "files": files,
            "export_seconds": round(time.perf_counter() - t0, 2),
        }
        _atomic_json(out_dir / RECORD, rec)
        return rec
    except OnnxExportError:
        raise
    except Exception as exc:
        raise OnnxExportError(f"Exporting {folder} to ONNX failed: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export_in_child(folder: Path, out_dir: Path, weights_sha256: str) -> None:
    """`export_model` in a child Python, so this process never imports torch."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    cmd = [sys.executable, "-m", "index.models.onnx_encoder", str(folder), str(out_dir), weights_sha256]
    try:
        done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=EXPORT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OnnxExportError(f"Exporting {folder} to ONNX failed: {exc}") from exc
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        reason = next((ln for ln in reversed(lines) if "Error" in ln), lines[-1] if lines else "no output")
        raise OnnxExportError(f"Exporting {folder} to ONNX failed (exit {done.returncode}): {reason}")


_EXPORT_LOCK = threading.Lock()


def ensure_export(folder: Path, weights_sha256: str | None = None) -> tuple[Path, dict[str, Any]]:
    """(folder holding the ONNX files, their record), exporting first if no kept export was
    made from these weights. Raises OnnxExportError if the export fails."""
    folder = Path(folder)
    if weights_sha256 is None:
        weights_sha256 = weights_fingerprint(folder)["sha256"]
    for out_dir in _candidate_dirs(folder, weights_sha256):
        rec = _read_record(out_dir, weights_sha256)
        if rec is not None:
            return out_dir, rec
    candidates = list(_candidate_dirs(folder, weights_sha256))
    if not onnx_supported(folder):
        raise OnnxExportError(f"{folder} is not a model the ONNX encoder supports (BERT or MPNet, mean pooling).")
    out_dir = next((d for d in candidates if _writable_dir(d)), None)
    if out_dir is None:
        raise OnnxExportError(f"Nowhere to write the ONNX export of {folder}: tried {', '.join(map(str, candidates))}.")
    with _EXPORT_LOCK, _locked(out_dir):
        rec = _read_record(out_dir, weights_sha256)  # another process may have just made it
        if rec is None:
            if "torch" in sys.modules:
                export_model(folder, out_dir, weights_sha256)
            else:
                _export_in_child(folder, out_dir, weights_sha256)
            rec = _read_record(out_dir, weights_sha256)
            if rec is None:
                raise OnnxExportError(f"Exporting {folder} to ONNX left no usable export in {out_dir}.")
    return out_dir, rec


def _tokenizer(folder: Path) -> Any:
    """tokenizer.json without its padding (it may pad every text to 128; batches pad
    themselves), truncated at the model's max_seq_length."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_seq_length(folder))
    return tok


def _pooled(session: Any, inputs: Sequence[str], ids: Sequence[Sequence[int]], pad_id: int) -> np.ndarray:
    """One padded batch through the session, mean-pooled over its real tokens (unnormalised)."""
    lengths = np.array([len(x) for x in ids], dtype=np.int64)
    batch = np.full((len(ids), int(lengths.max())), pad_id, dtype=np.int64)
    for r, row in enumerate(ids):
        batch[r, : lengths[r]] = row
    mask = (np.arange(batch.shape[1])[None, :] < lengths[:, None]).astype(np.int64)
    feed = {"input_ids": batch, "attention_mask": mask}
    if "token_type_ids" in inputs:
        feed["token_type_ids"] = np.zeros_like(batch)
    hidden = session.run(["last_hidden_state"], feed)[0]
    return np.einsum("bl,bld->bd", mask.astype(np.float32), hidden) / lengths[:, None].astype(np.float32)


def _probe_agreement(folder: Path, inputs: Sequence[str], fp32: Path, int8: Path) -> float:
    """Smallest cosine between int8 and fp32 vectors of PROBE_TEXTS."""
    import onnxruntime as ort

    pad_id = int(json.loads((folder / "config.json").read_text()).get("pad_token_id") or 0)
    ids = [e.ids for e in _tokenizer(folder).encode_batch(list(PROBE_TEXTS))]
    a, b = (normalise(_pooled(ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]), inputs, ids, pad_id))
            for p in (fp32, int8))
    return float((a * b).sum(axis=1).min())


class OnnxEncoder:
    """Sentence embeddings of a supported sentence-transformers folder on ONNX Runtime, at
    one precision ("fp32" or "int8"). One session per thread count, made on first use."""

    def __init__(self, folder: Path, precision: str = "fp32", weights_sha256: str | None = None) -> None:
        if precision not in ONNX_PRECISIONS:
            raise ValueError(f"precision must be one of {ONNX_PRECISIONS}, not {precision!r}")
        self.folder = Path(folder)
        self.precision = precision
        self.export_dir, self.record = ensure_export(self.folder, weights_sha256)
        self.model_file = self.export_dir / self.record["files"][precision]["file"]
        cfg = json.loads((self.folder / "config.json").read_text())
        self.dims = int(cfg["hidden_size"])
        self.pad_id = int(cfg.get("pad_token_id") or 0)
        self.inputs = list(self.record["inputs"])
        self.max_seq_length = max_seq_length(self.folder)
        self.tokenizer = _tokenizer(self.folder)
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()

    def session(self, threads: int = 1) -> Any:
        """The onnxruntime session running on ``threads`` intra-op threads."""
        threads = max(1, int(threads))
        with self._lock:
            if threads not in self._sessions:
                import onnxruntime as ort

                so = ort.SessionOptions()
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
                so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                # Idle threads spinning for work steal the other core on a busy 2-core machine.
                so.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._sessions[threads] = ort.InferenceSession(
                    str(self.model_file), sess_options=so, providers=["CPUExecutionProvider"])
            return self._sessions[threads]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's word-piece ids, special tokens included, truncated as the model does."""
        return [e.ids for e in self.tokenizer.encode_batch([str(t) for t in texts])]

    def encode(self, texts: Sequence[str], batch_size: int = 16, threads: int = 1) -> np.ndarray:
        """(n, dims) float32, L2-normalised; texts are batched by length to limit padding."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        sess = self.session(threads)
        ids = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: (-len(ids[i]), i))
        for start in range(0, len(order), max(1, batch_size)):
            rows = order[start : start + batch_size]
            out[rows] = _pooled(sess, self.inputs, [ids[i] for i in rows], self.pad_id)
        return normalise(out)


if __name__ == "__main__":  # the child process of `_export_in_child`
    export_model(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
