"""`peel ingest --add PATH…` and `peel remove DOC_ID…`: change the current index without
rebuilding it (`index.library`); `peel versions`: the versions an index folder holds. Exit status as for `peel ingest`: 0 done; 3 partial (some
files skipped, the rest added); 1 nothing changed (the index is left as it was); 2 bad usage.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from search_app.terminal import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    console,
    esc,
    fail,
    keep_interrupts,
    print_json,
    print_skipped,
    progress_bar,
    staged_progress,
    write_failed,
)


def add_arguments(ingest: argparse.ArgumentParser, sub) -> None:
    """`--add` on `peel ingest`, and the `peel remove` command."""
    ingest.add_argument("--add", action="store_true",
                        help="add PATH… to the current index: documents already in it are kept and not embedded again")
    s = sub.add_parser("remove", help="remove documents from the index (nothing is embedded again)",
                       description="Take documents out of the current index by id (peel chunks --json shows the "
                       "ids). Their files are not touched: a later `peel ingest` of their folder brings them back.")
    s.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="document ids to remove")
    s.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help="index folder (default: $PEEL_INDEX, else .peel-index in the project folder)")
    s.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_remove)
    s = sub.add_parser("versions", help="list the index's published versions; --gc removes retired ones",
                       description="Every version of the index folder, oldest first, with its size and chunk "
                       "count; the current one is marked. Readers (CLI, app, peel serve) pick up a new version "
                       "between requests. A version retired longer than $PEEL_INDEX_GRACE_SECONDS (default 900) "
                       "is removed after each publish, or now with --gc.")
    s.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help="index folder (default: $PEEL_INDEX, else .peel-index in the project folder)")
    s.add_argument("--gc", action="store_true", help="remove versions retired longer than the grace period now")
    s.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    s.set_defaults(func=cmd_versions)


def cmd_versions(args: argparse.Namespace) -> int:
    """`peel versions [--gc]`."""
    from index.engine.folder import one_writer
    from index.engine.versions import collect_garbage, list_versions
    from index.paths import default_index_dir

    index_dir = args.index or default_index_dir()
    removed: list[str] = []
    if args.gc and index_dir.is_dir():
        try:
            with one_writer(index_dir):
                removed = collect_garbage(index_dir)
        except ValueError as exc:  # not an index folder
            return fail(str(exc))
    versions = list_versions(index_dir)
    if not versions:
        return fail(f"no index at {index_dir}: build one with peel ingest [PATH…] --index {index_dir}")
    rows = [{"id": v.id, "created": v.created.isoformat(timespec="seconds"), "current": v.is_current,
             "bytes": v.size, "chunks": v.chunks} for v in versions]
    if args.json:
        print_json({"index": str(index_dir), "versions": rows, "removed": removed})
        return EXIT_OK
    out = console()
    for note in removed:
        out.print(esc(note))
    for r in rows:
        mark = "*" if r["current"] else " "
        out.print(f"{mark} {esc(r['id'])}  {r['created']}  {r['chunks'] if r['chunks'] is not None else '?'} chunks  "
                  f"{r['bytes'] / 1e6:.1f} MB")
    return EXIT_OK


def cmd_add(args: argparse.Namespace, index_dir: Path) -> int:
    """`peel ingest --add PATH…`."""
    keep_interrupts()
    from rich.progress import TextColumn

    from index import library

    if not args.paths:
        return fail("--add needs the files or folders to add: peel ingest --add PATH…", EXIT_USAGE)
    if args.rebuild or args.no_index:
        return fail("--add cannot be combined with --rebuild or --no-index", EXIT_USAGE)
    if getattr(args, "workers", None) or getattr(args, "scheduler", None):
        return fail("--add reads and embeds only the new files, in this process: drop --workers/--scheduler "
                    "(they are for a full peel ingest)", EXIT_USAGE)
    err = console(stderr=True)
    t0 = time.perf_counter()
    try:
        with progress_bar(err, args.json or args.quiet, TextColumn("{task.fields[name]}", markup=False)) as bar:
            result = library.add(index_dir, args.paths, model=args.model, progress=staged_progress(bar))
    except ValueError as exc:  # LibraryError, a model that is not there: nothing was touched
        return fail(str(exc))
    except OSError as exc:
        return write_failed(index_dir, exc)
    summary = {**result.summary(), "seconds": round(time.perf_counter() - t0, 2)}
    if args.json:
        print_json(summary)
    out = console()
    if not result.added:
        if not args.json:
            for s in result.skipped:
                err.print(f"  skipped {s.path}: {s.reason}", markup=False)
        return fail(f"nothing added from {', '.join(map(str, args.paths))}; the index at {index_dir} is unchanged")
    if not args.json:
        report = result.report
        out.print(f"Added [bold]{len(result.added)}[/] document(s) → [bold]{result.chunks_added}[/] chunks in "
                  f"{summary['seconds']:.1f}s. The index now holds {summary['documents']} documents, "
                  f"{summary['chunks']} chunks.")
        out.print(f"Index: {esc(index_dir)}  (embedded {report.n_embedded}, reused {report.n_cached} cached embeddings)")
        for d in result.added:
            inferred = f"; inferred {', '.join(d.inferred)} from the text" if d.inferred else ""
            out.print(f"  {esc(d.doc_id)}: {esc(d.title)}{esc(inferred)}")
        print_skipped(out, result.skipped)
    return EXIT_PARTIAL if result.skipped else EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    """`peel remove DOC_ID…`."""
    keep_interrupts()
    from rich.progress import TextColumn

    from index import library
    from index.paths import default_index_dir

    index_dir = args.index or default_index_dir()
    err = console(stderr=True)
    try:
        with progress_bar(err, args.json or args.quiet, TextColumn("{task.fields[name]}", markup=False)) as bar:
            result = library.remove(index_dir, args.doc_ids, progress=staged_progress(bar))
    except ValueError as exc:  # UnknownDocumentError, LibraryError: nothing was touched
        return fail(str(exc))
    except OSError as exc:
        return write_failed(index_dir, exc)
    summary = result.summary()
    if args.json:
        print_json(summary)
    else:
        console().print(f"Removed {esc(', '.join(result.removed))} ({result.chunks_removed} chunks). The index at "
                        f"{esc(index_dir)} now holds {summary['documents']} documents, {summary['chunks']} chunks.")
    return EXIT_OK
