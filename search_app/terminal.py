"""Terminal plumbing shared by the `peel` commands: consoles, errors, JSON lines, progress
bars, and interrupts that are kept until they stop the command."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Callable

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def fail(message: str, code: int = EXIT_FAIL) -> int:
    console(stderr=True).print(f"[bold red]error:[/] {esc(message)}", markup=True)
    return code


def esc(text: Any) -> str:
    """Text from documents, paths or the user, printed literally: no Rich markup in it runs."""
    from rich.markup import escape

    return escape(str(text))


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


_INTERRUPTED = threading.Event()


def keep_interrupts() -> None:
    """Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt, so half-written files are removed,
    and are remembered until `stop_if_interrupted` raises them again at the next safe point.

    Python drops an exception raised inside a finalizer (``__del__``): a Ctrl-C that landed in
    one (regex's, while the tokenizer loads: 1 of 24 timed Ctrl-Cs) let an ingest run to the
    end. A SIGINT that was ignored when the process started (a background job) stays ignored.
    """
    import signal

    _INTERRUPTED.clear()

    def interrupt(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt again if an interrupt came and was swallowed on its way up."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def progress_bar(console, quiet: bool, detail):
    """A transient progress bar on ``console``: description, bar, n/total, ``detail``, time."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), detail,
                    TimeElapsedColumn(), console=console, disable=quiet, transient=True)


def staged_progress(bar) -> Callable[[str, int, int | None, str], None]:
    """A ``progress(stage, done, total, detail)`` callback drawing one task per stage on
    ``bar``; it also stops the command at the next interrupt."""
    tasks: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int | None, detail: str) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total, name="")
        bar.update(tasks[stage], completed=done, total=total, name=detail)
        stop_if_interrupted()

    return progress


def write_failed(index_dir: Any, exc: OSError) -> int:
    """The error for an index that could not be written (the previous one is intact)."""
    return fail(f"the index at {index_dir} could not be written ({exc.strerror or exc}); "
                f"the previous index is left as it was")


def print_skipped(out, skipped: Any) -> None:
    """The files a command skipped, each with its reason."""
    if skipped:
        out.print(f"[yellow]Skipped {len(skipped)} file(s):[/]")
        for s in skipped:
            out.print(f"  {s.path}: {s.reason}", markup=False)
