"""Advisory file locks (``flock``), best effort: where the platform has none, no lock."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

__all__ = ["flock"]


@contextlib.contextmanager
def flock(path: Path, *, exclusive: bool = True, create: bool = False) -> Iterator[None]:
    """Hold an ``flock`` on ``path`` (a folder, or a lock file made with ``create``) for
    the block; released when the block ends, even on an error."""
    fd = None
    try:
        import fcntl

        fd = os.open(path, (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    except (ImportError, OSError):
        if fd is not None:
            os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)
