"""`peel adapt`: training pairs from the corpus, a deterministic fine-tune, and its use."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.engine.versions import current_folder
from index.models.adapt import AdaptSettings, adapt_model, is_current, make_pairs, read_info
from index.models.embedder import load_model
from ingest.records import corpus_fingerprint
from ingest.records import Chunk

ROOT = Path(__file__).resolve().parent.parent

CUSTODY = ("The custody suites are clean and well run by experienced detention officers. "
           "Detainees are checked regularly and their risk assessments are reviewed at every shift change. "
           "Health care professionals are available around the clock in every suite.")
CALLS = ("Emergency calls are answered promptly by the force control room staff. "
         "Non-emergency 101 calls wait far too long at busy times of the day and evening. "
         "Many callers give up before their call is answered by an operator.")
VICTIMS = ("Victims of domestic abuse receive a prompt response from trained officers. "
           "Safeguarding plans are put in place quickly for the victims at highest risk. "
           "Partner agencies share information through the multi-agency safeguarding hub.")


def _chunk(chunk_id: str, section: list[str], text: str, dup_of: str | None = None) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id=chunk_id.split(":")[0], title="Report", force="Kent",
                 years=[2017], doc_type="peel_report", section=section, text=text, char_start=0,
                 char_end=len(text), page=None, n_tokens=len(text) // 4, source="r.txt", position=0,
                 dup_of=dup_of)


CHUNKS = [
    _chunk("a:0", ["How does the force keep detainees safe in custody?"], CUSTODY),
    _chunk("a:1", ["Call handling", "101"], CALLS),
    _chunk("b:0", ["Protecting vulnerable people"], VICTIMS),
    _chunk("b:1", ["Protecting vulnerable people"], VICTIMS, dup_of="b:0"),
]
TINY = replace(AdaptSettings(), batch_size=4, max_steps=1, ict_per_chunk=1, min_positive_words=5)
MINILM = "all-MiniLM-L6-v2"  # the small base keeps these tests fast; setup adapts the default (MPNet)


def test_pairs_come_from_the_text_and_never_give_the_answer_away():
    pairs = make_pairs(CHUNKS, replace(AdaptSettings(), min_positive_words=5))
    by_chunk = {c.chunk_id: c for c in CHUNKS}
    assert {p.chunk_id for p in pairs} == {"a:0", "a:1", "b:0"}  # the near-duplicate adds nothing
    for p in pairs:
        chunk = by_chunk[p.chunk_id]
        if p.kind == "ict":
            assert p.query in chunk.text and p.query not in p.positive
            assert p.positive.startswith(" > ".join(chunk.section) + "\n")
        else:
            assert p.kind == "heading" and p.positive == chunk.text
    headings = {p.chunk_id: p.query for p in pairs if p.kind == "heading"}
    # a short heading takes its parent along: "101" alone says little
    assert headings == {"a:0": "How does the force keep detainees safe in custody?",
                        "a:1": "Call handling 101", "b:0": "Protecting vulnerable people"}
    assert make_pairs(CHUNKS, replace(AdaptSettings(), min_positive_words=5)) == pairs  # same seed, same pairs


@pytest.fixture(scope="module")
def adapted(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("adapt") / "model"
    adapt_model(CHUNKS, folder, base_model=MINILM, settings=TINY)
    return folder


def _sha(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_training_is_deterministic_and_changes_the_model(adapted, tmp_path):
    again = tmp_path / "again"
    steps = []
    adapt_model(CHUNKS, again, base_model=MINILM, settings=TINY, progress=lambda step, total, loss: steps.append((step, total)))
    assert steps == [(1, 1)]
    assert _sha(again) == _sha(adapted)
    base, tuned = load_model(None), load_model(str(adapted))
    text = ["How long do 101 callers wait?"]
    cos = float(base.encode(text)[0] @ tuned.encode(text)[0])
    assert 0.9 < cos < 0.999999  # moved, not replaced
    info = read_info(adapted)
    assert info["corpus_fingerprint"] == corpus_fingerprint(CHUNKS) and info["steps"] == 1
    assert info["base_model"] == base.name
    # setup makes the model again when it was adapted from another base than the default
    assert is_current(adapted, MINILM) and not is_current(adapted) and not is_current(adapted.parent)
    assert [p.name for p in adapted.parent.iterdir()] == ["model"]  # no temp folder left


def test_a_rerun_replaces_the_model_in_place(adapted, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "stale.txt").write_text("old")
    adapt_model(CHUNKS, folder, base_model=MINILM, settings=TINY)
    assert not (folder / "stale.txt").exists() and _sha(folder) == _sha(adapted)


def test_ingest_uses_the_adapted_model_when_there_is_one(adapted, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kent.txt").write_text("Custody\n\n" + CUSTODY + "\n\nCall handling\n\n" + CALLS + "\n")
    env = {**os.environ, "PEEL_MODEL": str(adapted), "HF_HUB_OFFLINE": "1"}
    peel = [sys.executable, "-m", "search_app.cli"]
    run = subprocess.run([*peel, "ingest", str(corpus), "--index", str(tmp_path / "idx"), "-q", "--json"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((current_folder(tmp_path / "idx") / "manifest.json").read_text())
    assert Path(manifest["model"]["path"]) == adapted.resolve() and manifest["model"]["default"] is False
    # searching needs no --model: the index names its model
    run = subprocess.run([*peel, "search", "--json", "how long do callers wait", "--index", str(tmp_path / "idx")],
                         env={**env, "PEEL_MODEL": str(tmp_path / "nowhere")}, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    hits = json.loads(run.stdout)["hits"]
    assert "101 calls" in hits[0]["text"]
    assert np.isfinite(hits[0]["score"])


def test_adapt_names_a_base_model_that_is_not_there(tmp_path):
    run = subprocess.run([sys.executable, "-m", "search_app.cli", "adapt", "--base", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "model"), "-q"],
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1
    said = " ".join(run.stderr.split())
    assert "nope is not a folder" in said and "all-mpnet-base-v2" in said and not (tmp_path / "model").exists()


def test_adapt_reindex_rebuilds_the_index_with_the_new_model_and_says_so(tmp_path):
    from index.models.adapt_status import read_status

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kent.txt").write_text("Custody\n\n" + CUSTODY + "\n\nCall handling\n\n" + CALLS + "\n")
    model, index = tmp_path / "model", tmp_path / "idx"
    run = subprocess.run([sys.executable, "-m", "search_app.cli", "adapt", str(corpus), "--base", MINILM,
                          "--max-steps", "1", "--out", str(model), "--reindex", "--index", str(index), "--json"],
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    said = json.loads(run.stdout)
    assert said["index"] == str(index) and said["index_chunks"] >= 1
    manifest = json.loads((current_folder(index) / "manifest.json").read_text())
    assert Path(manifest["model"]["path"]) == model.resolve()
    status = read_status(model)
    assert status.state == "done" and status.step == status.steps == 1 and not status.running


def test_a_failed_adaptation_is_reported_where_the_app_looks(tmp_path):
    from index.models.adapt_status import read_status

    run = subprocess.run([sys.executable, "-m", "search_app.cli", "adapt", "--base", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "model"), "--reindex", "--index", str(tmp_path / "idx"), "-q"],
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1
    status = read_status(tmp_path / "model")
    assert status.state == "failed" and "nope is not a folder" in " ".join(status.message.split())
    assert not (tmp_path / "idx").exists()


def test_only_the_top_layers_learn_when_asked(tmp_path):
    """train_layers=1: the embeddings and every lower layer keep the base weights exactly."""
    from safetensors.numpy import load_file

    from index.models.weights import resolve_model

    out = tmp_path / "top1"
    info = adapt_model(CHUNKS, out, base_model=MINILM, settings=replace(TINY, train_layers=1, mini_batch=2))
    base = load_file(str(resolve_model(MINILM)[1] / "model.safetensors"))
    tuned = load_file(str(out / "model.safetensors"))
    top = max(int(k.split("layer.")[1].split(".")[0]) for k in tuned if "layer." in k)
    changed = {k for k in tuned if not np.array_equal(tuned[k], base[k.removeprefix("0.auto_model.")] if k not in base
                                                       else base[k])}
    assert changed and all(f"layer.{top}." in k for k in changed)
    assert info["trained_parameters"] < sum(v.size for v in tuned.values()) / 4
    assert info["peak_rss_mb"] > 0
