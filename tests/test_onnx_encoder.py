"""The ONNX Runtime encoder agrees with sentence-transformers, keeps its export, redoes it
for new weights, and runs queries without torch (MiniLM only: fast)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from index.models import embedder as embedder_mod
from index.models.embedder import Embedder
from index.models.onnx_encoder import (
    RECORD,
    OnnxEncoder,
    OnnxExportError,
    ensure_export,
)
from index.models.weights import default_model_path

ROOT = Path(__file__).resolve().parent.parent

TEXTS = [
    "DVPO applications 2016-2018",
    "what did inspectors say about the 101 line?",
    "x",
    "",
    "   Ünïcödé  café — naïve “quotes”, £100 & 50% of 999 calls… ",
    "Essex Police › Effectiveness › Protecting vulnerable people\nThe force has improved how it "
    "identifies and responds to vulnerable victims. " * 4,
    # past MiniLM's 256 word pieces: truncated as sentence-transformers truncates
    " ".join(f"inspection{i} report paragraph about crime data integrity" for i in range(80)),
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    return model.encode(TEXTS, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_fp32_matches_sentence_transformers(reference):
    enc = OnnxEncoder(default_model_path(), "fp32")
    # padded batches and one text at a time (no padding) agree alike
    for got in (enc.encode(TEXTS, batch_size=4), np.stack([enc.encode([t])[0] for t in TEXTS])):
        assert got.shape == reference.shape and got.dtype == np.float32
        assert float(_cosines(got, reference).min()) > 0.9999
        assert float(np.abs(got - reference).max()) < 1e-4


def test_int8_stays_close(reference):
    got = OnnxEncoder(default_model_path(), "int8").encode(TEXTS, batch_size=4)
    assert float(_cosines(got, reference).min()) > 0.98


def _stat(folder: Path) -> dict[str, int]:
    return {p.name: p.lstat().st_mtime_ns for p in sorted((folder / "onnx").iterdir()) if not p.name.startswith(".")}


@pytest.fixture()
def model_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the packaged MiniLM with its existing export: the ONNX files linked (a
    re-export replaces the links, never their targets), the weights and record copied."""
    monkeypatch.setenv("PEEL_CACHE", str(tmp_path / "cache"))  # no export found elsewhere
    src = default_model_path()
    ensure_export(src)
    dest = tmp_path / "model"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("onnx"))
    (dest / "onnx").mkdir()
    for f in ("model-fp32.onnx", "model-int8.onnx"):
        (dest / "onnx" / f).symlink_to(src / "onnx" / f)
    shutil.copy(src / "onnx" / RECORD, dest / "onnx" / RECORD)
    return dest


def test_export_is_reused_and_redone_for_new_weights(model_copy):
    before = _stat(model_copy)
    for _ in range(2):  # same weights (by hash, though in another folder): nothing exported
        OnnxEncoder(model_copy, "int8").encode(["stop and search"])
        assert _stat(model_copy) == before
    assert all((model_copy / "onnx" / f).is_symlink() for f in ("model-fp32.onnx", "model-int8.onnx"))

    with open(model_copy / "model.safetensors", "r+b") as f:  # retrained in place: one weight
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0x01]))
    enc = OnnxEncoder(model_copy, "fp32")
    record = json.loads((model_copy / "onnx" / RECORD).read_text())
    assert record["weights_sha256"] == enc.record["weights_sha256"] != json.loads(
        (default_model_path() / "onnx" / RECORD).read_text())["weights_sha256"]
    assert record["opset"] and record["onnxruntime"] and record["files"]["int8"]["precision"] == "int8"
    assert not (model_copy / "onnx" / "model-fp32.onnx").is_symlink()  # written anew
    assert enc.encode(["stop and search"]).shape == (1, 384)


def test_failed_export_raises(model_copy, monkeypatch):
    import torch  # so the export runs in this process, where it can be made to fail

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(torch.onnx, "export", broken)
    (model_copy / "onnx" / RECORD).write_text("{}")  # no usable export: must export
    emb = Embedder("copy", model_copy, is_default=False)
    monkeypatch.setenv("PEEL_ENCODER", "onnx")
    with pytest.raises(OnnxExportError, match="unsupported operator"):
        emb.encode_queries(["stop and search"])


def test_backend_selection(monkeypatch, caplog):
    emb = Embedder("minilm", default_model_path(), is_default=True)
    monkeypatch.delenv("PEEL_ENCODER", raising=False)
    assert emb.backend_for(1) == embedder_mod.AUTO_QUERY_BACKEND
    assert emb.backend_for(10_000) == embedder_mod.AUTO_BULK_BACKEND
    for value in ("numpy", "torch", "onnx", "onnx-int8"):
        monkeypatch.setenv("PEEL_ENCODER", value)
        assert emb.backend_for(1) == emb.backend_for(10_000) == value

    # without onnxruntime: numpy for queries, torch for bulk, and one warning only
    monkeypatch.setattr(embedder_mod, "onnxruntime_available", lambda: False)
    monkeypatch.setattr(embedder_mod, "_warned_no_onnxruntime", False)
    monkeypatch.delenv("PEEL_ENCODER")
    with caplog.at_level(logging.WARNING, logger=embedder_mod.__name__):
        assert emb.backend_for(1) == "numpy"
        assert emb.backend_for(10_000) == "torch"
        monkeypatch.setenv("PEEL_ENCODER", "onnx")
        assert emb.backend_for(1) == "numpy"
    assert sum("onnxruntime is not installed" in r.message for r in caplog.records) == 1


def test_query_encoding_imports_no_torch():
    code = (
        "import sys\n"
        "from index.models import load_model\n"
        "emb = load_model(None)\n"
        "v = emb.encode_queries(['how did DVPO use change 2016-2018?', 'stop and search'])\n"
        "assert v.shape == (2, 384), v.shape\n"
        "print(emb.backend_for(2), sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PEEL_ENCODER"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [embedder_mod.AUTO_QUERY_BACKEND, "[]"]
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported and "torch" not in imported
