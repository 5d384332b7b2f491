"""Where the bundled corpus, the default index and the adapted model live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DATA = PROJECT_ROOT / "data"


def default_index_dir() -> Path:
    """``$PEEL_INDEX`` if set, else ``.peel-index`` in the project folder."""
    env = os.environ.get("PEEL_INDEX")
    return Path(env).expanduser() if env else PROJECT_ROOT / ".peel-index"


def default_data_paths() -> list[Path]:
    """``$PEEL_DATA`` (paths separated by the OS path separator) if set, else the bundled corpus."""
    env = os.environ.get("PEEL_DATA")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [BUNDLED_DATA]


def default_model_dir() -> Path:
    """``$PEEL_MODEL`` if set, else ``.peel-model`` in the project folder: where `peel adapt`
    writes the corpus-adapted model and where ingest looks for it."""
    env = os.environ.get("PEEL_MODEL")
    return Path(env).expanduser() if env else PROJECT_ROOT / ".peel-model"


def default_model() -> str | None:
    """The model new indexes are built with: the adapted model folder if it holds one,
    else None (the packaged all-MiniLM-L6-v2)."""
    folder = default_model_dir()
    return str(folder) if (folder / "modules.json").is_file() else None
