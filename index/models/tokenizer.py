"""A model's tokenizer and length limit, and the chunker settings that follow from them.

The chunker's hard budget is the embedding model's own limit in its own word pieces:
text past it is silently truncated when the passage is embedded. `chunker_settings_for`
gives ingest that budget for the model an index is built with (ingest cannot look models
up itself: it sits below `index`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from index.models.weights import resolve_model
from ingest.chunking import ChunkerSettings

__all__ = ["chunker_settings_for", "max_seq_length"]


def max_seq_length(folder: Path) -> int:
    """The model's truncation length in word pieces, taken where sentence-transformers takes
    it: sentence_bert_config.json, else (as version 6 saves it) the tokenizer's
    model_max_length; never above the model's positions."""
    try:
        limit = int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])
    except (OSError, ValueError, KeyError, TypeError):
        limit = None
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        try:
            value = json.loads((folder / name).read_text()).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, int) and 0 < value:
            return value if limit is None else min(value, limit)
    if limit is None:
        raise ValueError(f"{folder} records no sequence length (no max_seq_length or max_position_embeddings)")
    return limit


def chunker_settings_for(model: str | os.PathLike | None) -> ChunkerSettings:
    """Chunker settings whose word-piece budget is ``model``'s (a name `resolve_model`
    knows, or a folder; None is the packaged default): its tokenizer.json and its
    max_seq_length."""
    _, folder, is_default = resolve_model(model)
    if is_default:
        # The defaults already count with this model; returning them unchanged keeps the
        # chunker record in existing indexes' manifests the same.
        return ChunkerSettings()
    tokenizer = folder / "tokenizer.json"
    if not tokenizer.is_file():  # no fast tokenizer to count with: the cl100k budget only
        return ChunkerSettings(model_max_length=max_seq_length(folder), model_path=str(folder))
    return ChunkerSettings(model_max_length=max_seq_length(folder), tokenizer_file=str(tokenizer))
