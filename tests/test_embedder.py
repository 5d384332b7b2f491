"""The numpy encoder (queries without torch) agrees with sentence-transformers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.models.embedder import load_model
from index.models.numpy_encoder import NumpyEncoder, numpy_supported
from index.models.weights import default_model_path, resolve_model

ROOT = Path(__file__).resolve().parent.parent

TEXTS = [
    "DVPO applications 2016-2018",
    "what did inspectors say about the 101 line?",
    "stop and search",
    "x",
    "",
    "   Ünïcödé  café — naïve “quotes”, £100 & 50% of 999 calls… ",
    "Domestic violence protection orders (DVPOs) were used more often in 2017/18 than in 2016.",
    "Essex Police › Effectiveness › Protecting vulnerable people\nThe force has improved how it "
    "identifies and responds to vulnerable victims, but some call handlers did not always "
    "complete risk assessments. " * 3,
    # longer than the models' 256 (MiniLM) and 384 (MPNet) word pieces: truncated the same way
    " ".join(f"inspection{i} report paragraph about crime data integrity" for i in range(80)),
]


@pytest.fixture(scope="module", params=["all-MiniLM-L6-v2", "all-mpnet-base-v2"])
def reference(request):
    """(folder, sentence-transformers model) for both architectures the numpy encoder runs:
    BERT (the packaged default) and MPNet (the base of the adapted model)."""
    from sentence_transformers import SentenceTransformer

    folder = resolve_model(request.param)[1]
    return folder, SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def test_default_model_is_supported():
    assert numpy_supported(default_model_path())


def test_other_architectures_are_not(tmp_path):
    src = default_model_path()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        shutil.copy(src / name, tmp_path / name)
    shutil.copytree(src / "1_Pooling", tmp_path / "1_Pooling")
    (tmp_path / "model.safetensors").symlink_to(src / "model.safetensors")
    assert numpy_supported(tmp_path)
    pool = json.loads((tmp_path / "1_Pooling" / "config.json").read_text())
    pool.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    assert not numpy_supported(tmp_path)  # CLS pooling: torch only
    assert not numpy_supported(tmp_path / "missing")


def test_numpy_matches_sentence_transformers(reference):
    folder, reference = reference
    assert numpy_supported(folder)
    enc = NumpyEncoder(folder)
    want = reference.encode(TEXTS, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    # batched with padding, and one text at a time (no padding): both agree
    for got in (enc.encode(TEXTS, batch_size=4), np.stack([enc.encode([t])[0] for t in TEXTS])):
        assert got.shape == want.shape and got.dtype == np.float32
        cos = (got * want).sum(axis=1)
        assert float(1 - cos.min()) < 1e-5, cos
        assert float(np.abs(got - want).max()) < 1e-4
    # the same word pieces, truncation included
    features = reference.tokenize(TEXTS)
    for row, mask, ids in zip(features["input_ids"], features["attention_mask"], enc.token_ids(TEXTS)):
        assert [int(i) for i, m in zip(row, mask) if int(m)] == ids


def test_a_model_saved_by_this_sentence_transformers_is_supported(reference, tmp_path):
    # `peel adapt` saves with the installed sentence-transformers, whose layout (module
    # paths, pooling config, where the length limit lives) differs from the packaged folder's.
    _, reference = reference
    reference.save(str(tmp_path / "resaved"))
    assert numpy_supported(tmp_path / "resaved")
    enc = NumpyEncoder(tmp_path / "resaved")
    assert enc.max_seq_length == reference.max_seq_length in (256, 384)
    want = reference.encode(TEXTS, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    assert float(np.abs(enc.encode(TEXTS, batch_size=4) - want).max()) < 1e-4


def test_embedder_uses_onnx_for_queries_and_torch_for_bulk(monkeypatch):
    emb = load_model(None)
    assert emb.backend_for(1) == "onnx"
    assert emb.backend_for(10_000) == "torch"
    monkeypatch.setenv("PEEL_ENCODER", "torch")
    assert emb.backend_for(1) == "torch"
    monkeypatch.setenv("PEEL_ENCODER", "numpy")
    assert emb.backend_for(10_000) == "numpy"


def test_search_does_not_import_torch(bundled_index):
    code = (
        "import sys\n"
        "from index import api\n"
        f"s = api.open_index({str(bundled_index)!r})\n"
        "r = api.search(s, 'how did DVPO use change 2016-2018?', k=3)\n"
        "assert r.hits, 'no hits'\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PEEL_ENCODER"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
