"""python -m benchmarks [--quick] [--markdown] [--show FILE]

Measures ingest throughput, query latency (bundled corpus and a scaled corpus), cold start
and memory, index size, bm25s vs rank-bm25 and FAISS flat vs HNSW; prints a table and
writes benchmarks/results/<mode>-<date>.json and benchmarks/results/latest-<mode>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="everyday run: under two minutes once benchmarks/cache is warm (scaled corpus 25k chunks)")
    p.add_argument("--scaled-chunks", type=int, metavar="N", help="size of the scaled corpus (default: 25k quick, 100k full)")
    p.add_argument("--out", type=Path, metavar="DIR", help="results folder (default: benchmarks/results)")
    p.add_argument("--markdown", action="store_true", help="also print the table as Markdown (for the README)")
    p.add_argument("--show", type=Path, metavar="FILE", help="only print the table of a results JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)

    from . import report

    if args.show:
        R = json.loads(args.show.read_text(encoding="utf-8"))
        report.print_table(R)
        if args.markdown:
            print(report.markdown(R))
        return 0

    from .run import Log, Settings, run, write

    settings = Settings.quick() if args.quick else Settings.full()
    if args.scaled_chunks:
        settings.scaled_chunks = args.scaled_chunks
    R = run(settings, Log(args.quiet))
    dated, latest = write(R, args.out) if args.out else write(R)
    report.print_table(R)
    if args.markdown:
        print(report.markdown(R))
    print(f"wrote {dated} and {latest}", file=sys.stderr)
    return 1 if R.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
