"""What keeps a changing index folder safe: one writer at a time, fsync, and signals held
while a version is published.

`one_writer` serialises every change to one index (a build, an add, a remove) across the
threads of a process and across processes, by an ``flock`` on ``writer.lock`` inside the
index folder, so replicas over one shared folder serialise too. Publishing and removing
versions is `index.engine.versions`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

from index.engine.layout import WRITER_LOCK, is_index_folder, not_an_index
from ingest.atomic import fsync_dir
from ingest.locks import flock

_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()
_HELD = threading.local()  # .keys: the indexes this thread holds one_writer for


class IndexBusyError(RuntimeError):
    """Another writer is changing the index and the caller asked not to wait."""


@contextlib.contextmanager
def one_writer(
    index_dir: Path, *, wait: bool = True, notify: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the one right to change the index at ``index_dir`` for the block: threads of
    this process (the app's sessions) queue on a lock, other processes on ``flock`` of
    ``index_dir/writer.lock``, so two changes never lose each other's documents.

    When another process holds it, ``notify`` (default: a line on stderr) is told once
    who, and the block waits; with ``wait=False`` it raises `IndexBusyError` instead.
    Re-entrant within a thread (`build_index` takes it inside `library.add`'s). ValueError
    when ``index_dir`` is a folder of other things: no lock file is put among them."""
    index_dir = Path(index_dir).expanduser().absolute()
    key = str(index_dir.resolve())
    if not hasattr(_HELD, "keys"):
        _HELD.keys = set()
    held: set[str] = _HELD.keys
    if key in held:
        yield
        return
    with _WRITER_LOCKS_GUARD:
        lock = _WRITER_LOCKS.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=wait):
        raise IndexBusyError(f"Another change to the index at {index_dir} is running in this process; "
                             f"try again when it has finished.")
    try:
        with _lock_file(index_dir, wait, notify):
            held.add(key)
            try:
                yield
            finally:
                held.discard(key)
    finally:
        lock.release()


@contextlib.contextmanager
def _lock_file(index_dir: Path, wait: bool, notify: Callable[[str], None] | None) -> Iterator[None]:
    if not is_index_folder(index_dir):
        raise ValueError(not_an_index(index_dir))
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / WRITER_LOCK

    def busy() -> None:
        message = f"Another peel process is writing to the index at {index_dir}{_holder(path)}"
        if not wait:
            raise IndexBusyError(f"{message}; try again when it has finished.")
        (notify or _to_stderr)(f"{message}; waiting for it to finish…")

    with flock(path, create=True, on_busy=busy) as fd:
        if fd is not None:  # who holds it, for the message the next writer prints while it waits
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield


def _holder(path: Path) -> str:
    """The holder's pid as the lock file records it, for the message ("" if unknown); its
    host too when another machine shares the folder (a pid means nothing there)."""
    try:
        pid, _, host = path.read_text(encoding="utf-8").strip().partition(" ")
        int(pid)
    except (OSError, ValueError):
        return ""
    return f" (pid {pid}{f' on {host}' if host and host != socket.gethostname() else ''})"


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pid_alive(pid: int) -> bool:
    """Does process ``pid`` (on this machine) still run? True for this process."""
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


def fsync_tree(root: Path) -> None:
    """fsync every file and folder under ``root``."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(Path(dirpath))


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
