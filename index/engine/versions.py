"""Versions of one index folder: which one is current, publishing a new one, and removing
retired ones after a grace period.

A build writes a complete index into ``versions/.tmp-<pid>-<hex>``, fsyncs it, renames it
to ``versions/<id>`` and then replaces the small ``CURRENT`` pointer with ``os.replace``
(`publish`). A crash at any step leaves ``CURRENT`` naming a complete version: the old one
until the pointer is replaced, the new one after. A version is never modified, so a reader
that resolved ``CURRENT`` once (`current_folder`) reads one whole index even while a new one
is published, and long-running readers compare `current_version` between requests.

Once a version's successor is published it is *retired*; `collect_garbage` deletes it when
it has been retired longer than the grace period (``$PEEL_INDEX_GRACE_SECONDS``, default 15
minutes), long enough for any reader that resolved it to have finished reading. Publishing
and collecting run under `index.engine.folder.one_writer`, so they never race each other.

An index folder written before versions (the files directly in it, no ``CURRENT``) reads as
it is and is retired, like any version, by the first publish into it.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from index.engine.folder import pid_alive
from index.engine.layout import CURRENT, INDEX_FILES, MANIFEST, VERSIONS, read_json
from ingest.atomic import fsync_dir, write_atomically

GRACE_ENV = "PEEL_INDEX_GRACE_SECONDS"
DEFAULT_GRACE_SECONDS = 15 * 60
TMP_PREFIX = ".tmp-"  # versions/.tmp-<pid>-<hex>: a build being written
_POINTER_TMP = f".{CURRENT}.tmp-"  # index_dir/.CURRENT.tmp-<pid>-<hex>: the pointer being replaced (write_atomically)
_ID = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}$")
_ID_TIME = "%Y%m%dT%H%M%S.%f"
LEGACY = "legacy"


@dataclass(frozen=True)
class VersionInfo:
    id: str  # the folder name under versions/, or "legacy-<mtime_ns>" for a pre-versions index
    created: _dt.datetime  # UTC
    is_current: bool
    size: int  # bytes
    chunks: int | None  # from its manifest; None when unreadable
    path: Path


def is_version_id(name: str) -> bool:
    return bool(_ID.match(name))


def _created(version_id: str) -> _dt.datetime:
    return _dt.datetime.strptime(version_id[:22], _ID_TIME).replace(tzinfo=_dt.timezone.utc)


def _current_name(index_dir: Path) -> str | None:
    """The version ``CURRENT`` names, or None (no pointer, or one that is not a version id:
    never followed outside ``versions/``)."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if is_version_id(name) else None


def _is_legacy(index_dir: Path) -> bool:
    return (index_dir / MANIFEST).is_file()


def current_folder(index_dir: Path | str) -> Path:
    """The folder to read the index at ``index_dir`` from: the version ``CURRENT`` names;
    ``index_dir`` itself for an index written before versions (or when there is no index,
    so the caller's checks say what is there). Resolve once, then read only inside it."""
    index_dir = Path(index_dir)
    name = _current_name(index_dir)
    return index_dir / VERSIONS / name if name else index_dir


def current_version(index_dir: Path | str) -> str:
    """The current version's id: it changes whenever a new index is published. For an index
    written before versions, ``legacy-<manifest mtime_ns>``; "" when there is no index."""
    index_dir = Path(index_dir)
    name = _current_name(index_dir)
    if name:
        return name
    try:
        return f"{LEGACY}-{(index_dir / MANIFEST).stat().st_mtime_ns}"
    except OSError:
        return ""


def grace_seconds() -> float:
    """How long a retired version stays readable: ``$PEEL_INDEX_GRACE_SECONDS`` or 15 min."""
    try:
        return max(0.0, float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_SECONDS)))
    except ValueError:
        return float(DEFAULT_GRACE_SECONDS)


def temp_folder(index_dir: Path) -> Path:
    """A new name for a build of this process to write into (made by the caller, so that it
    knows what to remove even if interrupted as it is made), on the file system of the
    versions, so publishing is a rename."""
    versions = index_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    return versions / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"


def clean_stale(index_dir: Path) -> list[str]:
    """Remove the temp folders and pointer files of builds whose process has died; a live
    build's (another thread's of this process too) are left alone."""
    notes: list[str] = []
    for folder, prefix in ((index_dir / VERSIONS, TMP_PREFIX), (index_dir, _POINTER_TMP)):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if not p.name.startswith(prefix):
                continue
            try:
                pid = int(p.name[len(prefix):].split("-")[0])
            except ValueError:
                continue  # not a name this module makes: not ours to remove
            if not pid_alive(pid):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                notes.append(f"removed stale temp {'folder' if prefix == TMP_PREFIX else 'file'} {p.name}")
    return notes


def _version_ids(index_dir: Path) -> list[str]:
    try:
        return sorted(p.name for p in (index_dir / VERSIONS).iterdir() if is_version_id(p.name) and p.is_dir())
    except OSError:
        return []


def _new_id(after: str | None) -> str:
    """A fresh id that sorts after ``after`` even if the clock stepped back since."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    if after:
        now = max(now, _created(after).replace(tzinfo=None) + _dt.timedelta(microseconds=1))
    return f"{now.strftime(_ID_TIME)}Z-{secrets.token_hex(3)}"


def publish(index_dir: Path, tmp: Path) -> tuple[str, list[str]]:
    """Make the complete, fsynced index in ``tmp`` the current version; returns its id and
    notes on unfinished versions removed. Hold `one_writer` (and defer signals) around it."""
    notes = []
    current = _current_name(index_dir)
    # Versions newer than the current one (or any, with no pointer) are publishes that died
    # between the rename and the pointer: no reader ever saw them. Removed first, so every
    # version left was current once and its successor's id says when it was retired.
    for vid in _version_ids(index_dir):
        if current is None or vid > current:
            shutil.rmtree(index_dir / VERSIONS / vid, ignore_errors=True)
            notes.append(f"removed unpublished version {vid}")
    ids = _version_ids(index_dir)
    vid = _new_id(ids[-1] if ids else None)
    final = index_dir / VERSIONS / vid
    os.rename(tmp, final)
    fsync_dir(final.parent)
    try:
        _write_pointer(index_dir, vid)
    except BaseException:
        if _current_name(index_dir) != vid:  # CURRENT never named it: nobody reads it
            shutil.rmtree(final, ignore_errors=True)
        raise
    return vid, notes


def _write_pointer(index_dir: Path, vid: str) -> None:
    write_atomically(index_dir / CURRENT, vid + "\n")


def _legacy_files(index_dir: Path) -> list[Path]:
    return [index_dir / name for name in INDEX_FILES if (index_dir / name).exists()]


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _chunk_count(folder: Path) -> int | None:
    try:
        return int(read_json(folder / MANIFEST)["counts"]["chunks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_versions(index_dir: Path | str) -> list[VersionInfo]:
    """Every version in the folder, oldest first: an index written before versions (if its
    files are still there) comes first."""
    index_dir = Path(index_dir)
    current = _current_name(index_dir)
    out = []
    legacy = _legacy_files(index_dir)
    if legacy:
        try:
            stamp = (index_dir / MANIFEST).stat().st_mtime_ns
        except OSError:  # its manifest already collected, the rest not yet
            stamp = max(p.stat().st_mtime_ns for p in legacy)
        out.append(VersionInfo(
            f"{LEGACY}-{stamp}", _dt.datetime.fromtimestamp(stamp / 1e9, _dt.timezone.utc),
            current is None and _is_legacy(index_dir), sum(_tree_size(p) for p in legacy),
            _chunk_count(index_dir), index_dir,
        ))
    for vid in _version_ids(index_dir):
        folder = index_dir / VERSIONS / vid
        out.append(VersionInfo(vid, _created(vid), vid == current, _tree_size(folder), _chunk_count(folder), folder))
    return out


def collect_garbage(
    index_dir: Path, grace: float | None = None, now: _dt.datetime | None = None
) -> list[str]:
    """Delete every version retired (its successor created) more than ``grace`` seconds
    ago (default `grace_seconds`); the current one and recently retired ones stay. Returns
    notes on what went. Hold `one_writer` around it."""
    grace = grace_seconds() if grace is None else grace
    now = now or _dt.datetime.now(_dt.timezone.utc)
    current = _current_name(index_dir)
    if current is None:
        return []  # nothing was published here: a pre-versions index is current, keep it
    notes = []
    ids = _version_ids(index_dir)
    # A pre-versions index was retired when the first version was published.
    if ids and _legacy_files(index_dir) and (now - _created(ids[0])).total_seconds() >= grace:
        for p in sorted(_legacy_files(index_dir), key=lambda p: p.name != MANIFEST):  # manifest first
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        notes.append("removed the index files from before versions")
    for older, successor in zip(ids, ids[1:]):
        if older != current and older < current and (now - _created(successor)).total_seconds() >= grace:
            shutil.rmtree(index_dir / VERSIONS / older, ignore_errors=True)
            notes.append(f"removed old version {older}")
    if notes:
        fsync_dir(index_dir / VERSIONS)
    return notes
