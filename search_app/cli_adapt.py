"""`peel adapt`: fine-tune the embedding model on the corpus (`index.models.adapt`) and,
with ``--reindex``, rebuild the index with it, reporting progress where the app can see
it (`index.models.adapt_status`): `scripts/run.sh` runs it in the background while the
app answers with the packaged model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from index.paths import default_data_paths, default_index_dir, default_model_dir
from search_app.terminal import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    console,
    esc,
    fail,
    keep_interrupts,
    print_json,
    progress_bar,
    staged_progress,
    stop_if_interrupted,
)


def add_arguments(sub) -> None:
    s = sub.add_parser("adapt", help="adapt the embedding model to the corpus (unsupervised, CPU, minutes)",
                       description="Fine-tune all-mpnet-base-v2 on pairs made from the corpus text itself "
                       "(a sentence vs the rest of its passage; a section heading vs its text) and save it "
                       "where `peel ingest` and the app pick it up. No labels are used. Deterministic: the same "
                       "corpus gives the same weights. ~16 minutes on two cores for the bundled corpus "
                       "(--base all-MiniLM-L6-v2: ~3 minutes, lower retrieval quality). Rebuild the index "
                       "afterwards (peel ingest --rebuild), or pass --reindex.")
    s.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: the bundled corpus, or $PEEL_DATA)")
    s.add_argument("--out", type=Path, default=None,
                   help="model folder to write (default: $PEEL_MODEL, else .peel-model in the project folder)")
    s.add_argument("--base", default=None, metavar="MODEL",
                   help="model to start from: all-mpnet-base-v2 (default), all-MiniLM-L6-v2, or a "
                   "sentence-transformers model folder")
    s.add_argument("--max-steps", type=int, default=None, help="stop after this many training steps (for a quick try)")
    s.add_argument("--low-memory", action="store_true",
                   help="for machines with under 12 GiB: bfloat16 where the CPU has it, gradient caching and "
                   "shorter training texts (peak ~5 GB instead of ~13.5; slightly lower quality, see README)")
    s.add_argument("--reindex", action="store_true",
                   help="then rebuild the index from the same PATHs with the new model (swapped in atomically: "
                   "a running app switches to it), reporting progress to the app")
    s.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help="index that --reindex rebuilds (default: $PEEL_INDEX, else .peel-index in the project folder)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    s.set_defaults(func=cmd_adapt)


def cmd_adapt(args: argparse.Namespace) -> int:
    keep_interrupts()
    from dataclasses import replace

    from rich.progress import TextColumn

    from index.models.adapt import DEFAULT_BASE, LOW_MEMORY, AdaptSettings, adapt_model
    from index.models.adapt_status import AdaptStatus, write_status
    from ingest.chunking import ChunkerSettings
    from ingest.pipeline import load_corpus

    paths = args.paths or default_data_paths()
    out_dir = args.out or default_model_dir()
    err = console(stderr=True)
    quiet = args.json or args.quiet
    if args.max_steps is not None and args.max_steps < 1:
        return fail("--max-steps must be at least 1", EXIT_USAGE)
    status = AdaptStatus("adapting", base_model=str(args.base or DEFAULT_BASE))
    report = write_status if args.reindex else (lambda *_: None)
    report(out_dir, status)
    try:
        result = load_corpus(paths, ChunkerSettings())
        for s in result.skipped:
            err.print(f"  skipped {s.path}: {s.reason}", markup=False)
        if not result.chunks:
            return _failed(report, out_dir, status, f"nothing to learn from under {', '.join(map(str, paths))}: "
                           "no readable reports")
        settings = replace(AdaptSettings(), max_steps=args.max_steps, **(LOW_MEMORY if args.low_memory else {}))
        with progress_bar(err, quiet, TextColumn("loss {task.fields[loss]}")) as bar:
            task = bar.add_task("Adapting the model", total=None, loss="…")

            def tick(step: int, steps: int, loss: float) -> None:
                bar.update(task, completed=step, total=steps, loss=f"{loss:.3f}")
                status.step, status.steps = step, steps
                report(out_dir, status)
                stop_if_interrupted()

            try:
                info = adapt_model(result.chunks, out_dir, base_model=args.base, settings=settings, progress=tick)
            except ValueError as exc:  # also ModelNotFoundError: a base that is not there
                return _failed(report, out_dir, status, str(exc))
            except OSError as exc:
                return _failed(report, out_dir, status,
                               f"the model could not be written to {out_dir} ({exc.strerror or exc})")
        info = {"model": str(out_dir), **info}
        if args.reindex:
            status.state, status.message = "indexing", "rebuilding the index with the adapted model"
            report(out_dir, status)
            code = _reindex(args, paths, out_dir, info, err, quiet)
            if code != EXIT_OK:
                return _failed(report, out_dir, status, "the index could not be rebuilt with the adapted model")
            status.state, status.message = "done", "the index now uses the adapted model"
            report(out_dir, status)
    except BaseException as exc:
        if status.state in ("adapting", "indexing"):
            _failed(report, out_dir, status, f"stopped: {type(exc).__name__} {exc}".strip())
        raise
    if args.json:
        print_json(info)
    else:
        out = console()
        out.print(f"Adapted model written to {esc(out_dir)}: {info['n_pairs']} training pairs from "
                  f"{info['n_chunks']} chunks, {info['steps']} steps in {info['train_seconds']:.0f}s.")
        if "index" in info:
            out.print(f"Index {esc(info['index'])} rebuilt with it: {info['index_chunks']} passages.")
        else:
            out.print("New indexes use it. Rebuild the current one with: peel ingest --rebuild")
    return EXIT_PARTIAL if result.skipped else EXIT_OK


def _reindex(args: argparse.Namespace, paths, out_dir: Path, info: dict, err, quiet: bool) -> int:
    from rich.progress import TextColumn

    from index import api

    index_dir = args.index or default_index_dir()
    with progress_bar(err, quiet, TextColumn("{task.fields[name]}", markup=False)) as bar:
        built = api.build(paths, index_dir, model=str(out_dir), progress=staged_progress(bar))
    if not built.corpus.chunks:
        return 1
    info.update(index=str(index_dir), index_chunks=len(built.corpus.chunks))
    return EXIT_OK


def _failed(report, out_dir: Path, status, message: str) -> int:
    status.state, status.message = "failed", message
    report(out_dir, status)
    return fail(message)
