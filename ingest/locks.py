"""Advisory file locks (``flock``), best effort: where the platform has none, no lock."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["flock"]


@contextlib.contextmanager
def flock(
    path: Path,
    *,
    exclusive: bool = True,
    create: bool = False,
    on_busy: Callable[[], None] | None = None,
) -> Iterator[int | None]:
    """Hold an ``flock`` on ``path`` (a folder, or a lock file made with ``create``) for
    the block; released when the block ends, even on an error. Yields the open file
    descriptor (None where there is no lock). ``on_busy`` is called once, before waiting,
    when another holder has it: to say so, or to raise rather than wait."""
    fd = None
    try:
        import fcntl

        fd = os.open(path, (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY, 0o644)
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if on_busy is None:
            fcntl.flock(fd, mode)
        else:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                on_busy()
                fcntl.flock(fd, mode)
    except (ImportError, OSError):
        if fd is not None:
            os.close(fd)
            fd = None
    except BaseException:  # on_busy refused to wait
        if fd is not None:
            os.close(fd)
        raise
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)
