"""Replacing the index folder atomically, and putting it back after a crash.

Everything is written to ``.{name}.tmp-<pid>`` beside the index and fsynced, then
``index_dir`` → ``.{name}.old``, tmp → ``index_dir``, and ``.old`` is deleted. A crash at any
moment leaves either the old complete index or the new one: if ``index_dir`` is missing but
``.old`` exists, the next open or build puts it back (`recover`). Stale temp folders (of
processes that no longer run) are removed by the next build (`clean_stale`). The swap holds
an exclusive ``flock`` on the parent folder and defers SIGINT/SIGTERM until it is done;
opening holds a shared one, so a reader never sees half a swap and two builds never swap at
once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from index.engine.layout import MANIFEST
from ingest.locks import flock

_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def one_writer(index_dir: Path) -> Iterator[None]:
    """Serialise whatever changes one index (a rebuild, an add, a remove): threads of this
    process (the app's sessions) by a lock, processes by ``flock`` on a lock file named
    after the index's path in the system's temp folder, so a rebuild and an add never lose
    each other's documents and nothing is left beside the user's index. (Not the parent
    folder's lock, which only the swap holds.) Not re-entrant."""
    key = str(Path(index_dir).expanduser().resolve())
    with _WRITER_LOCKS_GUARD:
        lock = _WRITER_LOCKS.setdefault(key, threading.Lock())
    folder = Path(tempfile.gettempdir()) / "peel-search-locks"
    folder.mkdir(exist_ok=True)
    name = hashlib.sha256(key.encode()).hexdigest()[:24]
    with lock, flock(folder / f"{name}.lock", create=True):
        yield


def old_dir(index_dir: Path) -> Path:
    """Where the previous index waits during a swap."""
    return index_dir.parent / f".{index_dir.name}.old"


def tmp_dir(index_dir: Path, pid: int | None = None) -> Path:
    """The temp folder a build (of process ``pid``, default this one) writes into."""
    return index_dir.parent / f"{_tmp_prefix(index_dir)}{os.getpid() if pid is None else pid}"


def _tmp_prefix(index_dir: Path) -> str:
    return f".{index_dir.name}.tmp-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def fsync_dir(path: Path) -> None:
    """fsync a folder, so renames in it survive a power cut (best effort)."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and folder under ``root``."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(Path(dirpath))


@contextlib.contextmanager
def folder_lock(folder: Path, exclusive: bool = True) -> Iterator[None]:
    """``flock`` on the folder that holds the index (best effort: no lock where unsupported)."""
    with flock(folder, exclusive=exclusive):
        yield


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block is done, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if received:
            signal.raise_signal(received[0])


def recover(index_dir: Path, *, lock: bool = True) -> str | None:
    """If a swap was interrupted after the old index was moved aside, move it back."""
    if lock:
        old = old_dir(index_dir)
        if index_dir.exists() or not old.is_dir():
            return None
        with folder_lock(index_dir.parent):
            return recover(index_dir, lock=False)
    old = old_dir(index_dir)
    if not index_dir.exists() and old.is_dir():
        try:
            os.rename(old, index_dir)
            fsync_dir(index_dir.parent)
            return f"recovered {index_dir} from {old.name}"
        except OSError:
            return None
    return None


def clean_stale(index_dir: Path) -> list[str]:
    """Remove temp folders of dead builds, and a leftover .old next to a complete index."""
    notes: list[str] = []
    parent = index_dir.parent
    if not parent.is_dir():
        return notes
    prefix = _tmp_prefix(index_dir)
    for p in parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        try:
            pid = int(p.name[len(prefix):])
        except ValueError:
            pid = -1
        if pid == os.getpid() or not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
            notes.append(f"removed stale temp folder {p.name}")
    old = old_dir(index_dir)
    if old.exists() and (index_dir / MANIFEST).exists():
        shutil.rmtree(old, ignore_errors=True)
        notes.append(f"removed leftover {old.name}")
    return notes


def swap_into_place(tmp: Path, index_dir: Path) -> None:
    """Replace ``index_dir`` by the finished ``tmp`` (hold `folder_lock` around it)."""
    old = old_dir(index_dir)
    if old.exists():
        shutil.rmtree(old)
    if index_dir.exists():
        os.rename(index_dir, old)
    os.rename(tmp, index_dir)
    fsync_dir(index_dir.parent)
    shutil.rmtree(old, ignore_errors=True)
    fsync_dir(index_dir.parent)
