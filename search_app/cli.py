"""The `peel` command: a thin layer over ingest/, index/, evals/ and the app.

Exit status: 0 success; 1 failure (nothing done, or a problem that needs the user);
2 bad usage; 3 partial ingest (some files were skipped, everything else is indexed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from index.engine import filters as filters_mod
from index.engine.searcher import MODES
from index.paths import (
    default_data_paths,
    default_index_dir,
    default_model,
)
from search_app import cli_adapt
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
    shell_quote,
    staged_progress,
    write_failed,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# -- shared options -------------------------------------------------------------------
def _add_index(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        type=Path,
        default=None,
        metavar="DIR",
        help="index folder (default: $PEEL_INDEX, else .peel-index in the project folder)",
    )


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (applied inside retrieval, before ranking)")
    g.add_argument("--year", metavar="RANGE", help="years the documents speak of: 2017, 2016-2018, 2016-, -2018")
    g.add_argument("--force", action="append", metavar="NAME", help="police force, e.g. 'Essex Police' (repeatable)")
    g.add_argument("--type", action="append", dest="doc_type", metavar="TYPE", help="document type, e.g. peel-report (repeatable)")
    g.add_argument("--doc", action="append", dest="doc_id", metavar="ID", help="document id (repeatable)")


MAX_K = 1000


def _passages(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:20]!r}") from None
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_K}, not {k}")
    return k


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:20]!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def _add_mode(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval mode (default: hybrid)")
    p.add_argument("-k", type=_passages, default=10, help=f"number of passages, 1-{MAX_K} (default: 10)")


def _add_query_options(p: argparse.ArgumentParser, json_output: bool = True) -> None:
    """Mode, k, filters, index (and --json): what search, ask and export share."""
    _add_mode(p)
    _add_filters(p)
    _add_index(p)
    if json_output:
        _add_json(p)


def parse_year_range(text: str | None) -> tuple[int | None, int | None]:
    """`--year` values: `index.engine.filters.parse_year_range` as an argparse type."""
    try:
        return filters_mod.parse_year_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _filters(args: argparse.Namespace):
    from index.engine.filters import Filters

    y0, y1 = parse_year_range(args.year)
    if y0 is None and y1 is None and not args.force and not args.doc_type and not args.doc_id:
        return None
    return Filters(year_from=y0, year_to=y1, forces=args.force, doc_types=args.doc_type, doc_ids=args.doc_id)


def _index_dir(args: argparse.Namespace) -> Path:
    return args.index or default_index_dir()


def _open(args: argparse.Namespace):
    """Open the index, or raise IndexOpenError with a message that says what to do."""
    from index import Searcher

    return Searcher.open(_index_dir(args), model=getattr(args, "model", None))


# -- adapt ----------------------------------------------------------------------------
# -- ingest ---------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    keep_interrupts()  # first: a signal during the imports below must not leave debris
    if args.add:  # add to the current index: search_app/cli_library.py
        from search_app.cli_library import cmd_add

        return cmd_add(args, _index_dir(args))
    from rich.progress import TextColumn

    paths = args.paths or default_data_paths()
    index_dir = _index_dir(args)
    err = console(stderr=True)
    quiet = args.json or args.quiet
    t0 = time.perf_counter()
    chosen_model = args.model  # what the user typed, for the hint below
    args.model = args.model or default_model()

    if not args.no_index and not args.rebuild:
        from index.engine.files import replace_problem

        problem = replace_problem(index_dir, args.model)
        if problem:
            given = "".join(f" {shell_quote(str(p))}" for p in args.paths)
            model = f" --model {shell_quote(chosen_model)}" if chosen_model else ""
            return fail(
                f"{index_dir} already holds an index that this ingest would replace: {problem}. "
                f"To replace it, run: peel ingest --rebuild{given}{model} --index {shell_quote(str(index_dir))}"
            )

    from index import api

    try:
        with progress_bar(err, quiet, TextColumn("{task.fields[name]}", markup=False)) as bar:
            built = api.build(paths, index_dir, model=args.model, progress=staged_progress(bar),
                              write=not args.no_index, workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:  # e.g. the folder holds other files: nothing was touched
        return fail(str(exc))
    except api.ClusterProblem as exc:  # Dask: no scheduler there, the model not on a worker
        return fail(f"{exc} Nothing was changed at {index_dir}.")
    except OSError as exc:
        return write_failed(index_dir, exc)
    result, report = built.corpus, built.report
    if not result.chunks:
        summary = {"documents": 0, "chunks": 0, "skipped": [s.__dict__ for s in result.skipped]}
        if args.json:
            print_json(summary)
        for s in result.skipped:
            err.print(f"  skipped {s.path}: {s.reason}", markup=False)
        return fail(f"nothing to index under {', '.join(map(str, paths))}: no readable .txt, .md, .html or .pdf files")
    seconds = time.perf_counter() - t0
    summary = {
        "index": None if args.no_index else str(index_dir),
        "documents": len(result.documents),
        "chunks": len(result.chunks),
        "tokens": result.n_tokens,
        "near_duplicates": sum(1 for c in result.chunks if c.dup_of),
        "embedded": getattr(report, "n_embedded", None),
        "embeddings_reused": getattr(report, "n_cached", None),
        "seconds": round(seconds, 2),
        "inferred": {d.doc_id: d.inferred for d in result.documents if d.inferred},
        "skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
    }
    if args.json:
        print_json(summary)
    else:
        out = console()
        out.print(
            f"Ingested [bold]{summary['documents']}[/] documents → [bold]{summary['chunks']}[/] chunks, "
            f"{summary['tokens']:,} tokens, in {seconds:.1f}s"
        )
        if report is not None:
            out.print(f"Index: {esc(index_dir)}  (embedded {report.n_embedded}, reused {report.n_cached} cached embeddings)")
        for doc_id, fields in summary["inferred"].items():
            out.print(f"  {esc(doc_id)}: not in a manifest; inferred {', '.join(fields)} from the text")
        print_skipped(out, result.skipped)
    return EXIT_PARTIAL if result.skipped else EXIT_OK


# -- chunks ---------------------------------------------------------------------------
def cmd_chunks(args: argparse.Namespace) -> int:
    if args.paths:
        from ingest.pipeline import load_corpus

        chunks = load_corpus(args.paths).chunks
    else:
        from index.engine.files import IndexOpenError, read_chunks

        try:
            chunks = read_chunks(_index_dir(args))
        except IndexOpenError as exc:
            return fail(f"{exc}  (or chunk files without an index: peel chunks PATH…)")
    if args.doc:
        chunks = [c for c in chunks if c.doc_id in args.doc]
        if not chunks:
            return fail(f"no chunks for document id(s) {', '.join(args.doc)}")
    out = console()
    for c in chunks:
        if args.json:
            print_json(c.to_dict())
        else:
            where = " › ".join(c.section) or "(no heading)"
            out.print(f"[bold]{esc(c.chunk_id)}[/]  {c.n_tokens} tokens  [{c.char_start}:{c.char_end}]  {esc(where)}")
    return EXIT_OK


# -- search ---------------------------------------------------------------------------
def _hit_text(hit, out, width: int = 400) -> None:
    excerpt = " ".join(hit.text.split())
    if len(excerpt) > width:
        excerpt = excerpt[:width].rsplit(" ", 1)[0] + " …"
    out.print(f"[bold]{hit.rank}.[/] [cyan]{esc(hit.citation.label())}[/]  [dim]score {hit.score:.4f}[/]")
    out.print(f"   {excerpt}", markup=False)
    for d in hit.also_in:
        out.print(f"   [dim]also in: {esc(d.get('title'))} ({d.get('year')})[/]")


def cmd_search(args: argparse.Namespace) -> int:
    from index import api

    if not args.query and not args.from_file:
        return fail("give a QUERY or --from-file FILE", EXIT_USAGE)
    searcher = _open(args)
    filters = _filters(args)
    if args.from_file:
        source = sys.stdin if str(args.from_file) == "-" else open(args.from_file, encoding="utf-8", errors="replace")
        queries = [line.rstrip("\n") for line in source if line.strip()]
        results = api.search_many(searcher, queries, k=args.k, mode=args.mode, filters=filters)
        for q, res in zip(queries, results):
            print_json(res.to_dict())
        return EXIT_OK
    result = api.search(searcher, args.query, k=args.k, mode=args.mode, filters=filters)
    if args.json:
        print_json(result.to_dict())
        return EXIT_OK
    out = console()
    if result.message:
        out.print(f"[yellow]{esc(result.message)}[/]")
    if not result.hits:
        out.print("No passages matched.")
    for hit in result.hits:
        _hit_text(hit, out)
    return EXIT_OK


# -- ask ------------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    from index import api
    from search_app.answer_text import format_answer_text

    searcher = _open(args)
    answer = api.ask(searcher, args.question, k=args.k, filters=_filters(args), mode=args.mode, by=args.by)
    if args.json:
        print_json(answer.to_dict())
        return EXIT_OK
    sys.stdout.write(format_answer_text(answer, ansi=sys.stdout.isatty()) + "\n")
    return EXIT_OK


# -- export ---------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from index import api
    from search_app import export

    searcher = _open(args)
    result = api.search(searcher, args.query, k=args.k, mode=args.mode, filters=_filters(args))
    text = export.render(result.hits, args.format, query=args.query, documents=searcher.documents())
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        console(stderr=True).print(f"Wrote {len(result.hits)} passages to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


# -- eval -----------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    from evals import cli as eval_cli

    return eval_cli.run(args, _open)


# -- app ------------------------------------------------------------------------------
def cmd_app(args: argparse.Namespace) -> int:
    import subprocess
    import threading
    import webbrowser

    app = Path(__file__).resolve().parent / "app.py"
    env = dict(os.environ, PEEL_INDEX=str(_index_dir(args)))
    # Headless always: a Streamlit that opens the browser itself first asks for an e-mail
    # address in the terminal. The project's .streamlit/config.toml says the same (and no
    # usage statistics); the flags make it hold from any folder.
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
           "--server.address", args.host, "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
           "--server.headless", "true"]
    url = f"http://{args.host}:{args.port}"
    console(stderr=True).print(f"Starting the app on {url} (Ctrl-C to stop)")
    if args.browser:
        threading.Timer(3.0, webbrowser.open, args=(url,)).start()
    return subprocess.call(cmd, env=env)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from index.api import index_exists
    from search_app.serve import create_app

    index_dir = _index_dir(args)
    if not index_exists(index_dir):
        return fail(f"no index at {index_dir}: build one with peel ingest [PATH…] --index {index_dir}")
    console(stderr=True).print(f"Serving {esc(index_dir)} on http://{args.host}:{args.port} "
                               f"(API docs at /docs; Ctrl-C to stop)")
    uvicorn.run(create_app(index_dir), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="peel",
        description="Search and cited question answering over police inspection reports (HMICFRS PEEL).",
        epilog="Typical use: peel ingest data/ ; peel ask 'how did DVPO use change 2016-2018?' ; peel app",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ingest", help="read reports, cut chunks, build the index",
                       description="Read .txt, .md, .html and .pdf reports (folders are searched recursively), "
                       "cut heading-aware chunks and build the hybrid index. Unchanged chunks reuse their "
                       "cached embeddings. Exit status 3 means some files were skipped (listed) and the rest indexed.")
    s.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: the bundled corpus, or $PEEL_DATA)")
    _add_index(s)
    _add_json(s)
    s.add_argument("--model", help="sentence-transformers model folder (default: the adapted model made by "
                   "`peel adapt` if there is one, else the packaged all-MiniLM-L6-v2)")
    s.add_argument("--rebuild", action="store_true", help="replace an index built with another model or format")
    s.add_argument("--no-index", action="store_true", help="only read and chunk; report what would be indexed")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N", help="read, chunk and embed on a Dask "
                       "cluster of N worker processes started on this machine (same index as without it)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="read, chunk and embed on a running Dask cluster "
                       "(tcp://HOST:8786); its workers need peel-search installed and the model at the same path")
    s.set_defaults(func=cmd_ingest)
    from search_app import cli_library

    cli_library.add_arguments(s, sub)  # peel ingest --add, peel remove

    cli_adapt.add_arguments(sub)

    s = sub.add_parser("chunks", help="print the chunked corpus (JSON Lines with --json)",
                       description="Every chunk with its heading path, metadata and source offsets. "
                       "Reads the index, or chunks the given files without indexing them.")
    s.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="chunk these files instead of reading the index")
    s.add_argument("--doc", action="append", metavar="ID", help="only this document (repeatable)")
    _add_index(s)
    _add_json(s)
    s.set_defaults(func=cmd_chunks)

    s = sub.add_parser("search", help="ranked passages for a query",
                       description="Hybrid (BM25 + dense) retrieval. Year expressions in the query "
                       "('2016-2018', 'since 2017', '2018/19') become a year filter.")
    s.add_argument("query", nargs="?", help="free-text query")
    s.add_argument("--from-file", metavar="FILE", help="one query per line ('-' for stdin); writes one JSON object per line")
    _add_query_options(s)
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("ask", help="verbatim, cited evidence sentences for a question",
                       description="The best sentences from the top k passages (exactly what `peel search` "
                       "shows for the same question, filters and mode), each with its citation; grouped by "
                       "period when the question is about change over time.")
    s.add_argument("question")
    s.add_argument("--by", choices=("period", "force"), default=None,
                   help="group the evidence: force = each force's best evidence side by side (with --force to "
                   "choose which); default: by period when the question asks about change over time")
    _add_query_options(s)
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("export", help="cited passages as CSV, JSON Lines or Markdown; their documents as BibTeX or RIS")
    s.add_argument("query")
    s.add_argument("--format", choices=("csv", "jsonl", "md", "refs", "bib", "ris"), default="md",
                   help="md: block quotes with citations and a references list (default); refs: the references "
                   "list only; bib, ris: the cited documents as BibTeX or RIS, for a reference manager")
    s.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    _add_query_options(s, json_output=False)
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("eval", help="score retrieval on the labelled query set",
                       description="Recall@5/10, MRR@10, nDCG@10 per mode and question kind (ranx), "
                       "TREC run files and a JSON + Markdown report under evals/reports/.")
    from evals import cli as eval_cli

    eval_cli.add_arguments(s)
    _add_index(s)
    _add_json(s)
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("serve", help="the HTTP JSON API over the index (FastAPI; docs at /docs)",
                       description="GET/POST /search and /ask, GET /export, /documents, /health and /version, "
                       "returning what --json prints. Run several (any port, any machine sharing the index "
                       "folder) behind a load balancer: each follows rebuilds of the folder between requests.")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    _add_index(s)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("app", help="open the Streamlit app")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--browser", action="store_true", help="also open the app in the default web browser")
    s.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)  # the default now; old scripts pass it
    _add_index(s)
    s.set_defaults(func=cmd_app)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except argparse.ArgumentTypeError as exc:
        return fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        # CPython remembers an interrupt that passed through a string exec() (as made by
        # dataclasses, namedtuple, scipy's imports) and would end the process by SIGINT
        # instead of with this status; running any string resets that flag.
        exec("None")
        return fail("interrupted", 130)
    except Exception as exc:
        from index import IndexOpenError

        if isinstance(exc, IndexOpenError):
            return fail(str(exc))
        if isinstance(exc, OSError) and exc.filename:  # --from-file, --out: a plain message
            return fail(f"{exc.filename}: {exc.strerror or exc}")
        raise


if __name__ == "__main__":
    sys.exit(main())
