"""A readable table of a results JSON (terminal, or Markdown for the README)."""

from __future__ import annotations

from typing import Any

from .run import _get


def _ms(x: Any) -> str:
    return "–" if x is None else (f"{x:.1f} ms" if x >= 1 else f"{x:.2f} ms")


def _lat(d: Any, cpu: bool = True) -> str:
    if not isinstance(d, dict) or d.get("p50_ms") is None:
        return "–"
    s = f"{_ms(d['p50_ms'])} / {_ms(d['p95_ms'])}"
    if cpu and d.get("cpu_p50_ms") is not None:
        s += f" (CPU {_ms(d['cpu_p50_ms'])})"
    return s


def rows(R: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, measured) pairs, in reading order."""
    out: list[tuple[str, str]] = []
    m = R.get("machine", {})
    out.append(("Machine", f"{m.get('cpu_model')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB; "
                           f"load avg {R.get('load_average', {}).get('start')} → {R.get('load_average', {}).get('end')}"))
    pc = _get(R, "ingest", "parse_chunk")
    if pc:
        out.append(("Parse + chunk (data/)", f"{pc['documents_per_s']} docs/s, {pc['chunks_per_s']} chunks/s "
                                            f"({pc['documents']} docs, {pc['chunks']} chunks in {pc['seconds']} s)"))
    e = _get(R, "ingest", "end_to_end")
    if e:
        rate = e.get("raw_encode_texts_per_s", e.get("raw_encode_passages_per_s"))
        n_texts = e.get("texts_embedded", e["chunks"])
        out.append(("Embedding (raw model.encode)", f"{rate} texts/s ({n_texts} texts: {e['chunks']} "
                                                   f"chunks + their sentences, {e['torch_threads']} threads)"))
        cpu = f" (CPU-time ratio {e['cpu_ratio']})" if e.get("cpu_ratio") is not None else ""
        out.append(("End-to-end ingest / raw encode", f"{e['end_to_end_chunks_per_s']} chunks/s → ratio {e['ratio']}{cpu}"))
    fp = _get(R, "ingest", "fresh_process")
    if fp:
        out.append(("`peel ingest data/` in a new process", f"{fp['seconds']} s, peak RSS {fp['peak_rss_mib']} MiB"))
    for label, key in (("bundled", "bundled"), ("scaled", "scaled")):
        L = _get(R, "latency", key)
        if not L:
            continue
        n = L.get("chunks")
        kind = L.get("dense_kind")
        for mode in ("bm25", "dense", "hybrid", "hybrid_filtered", "hybrid_change_over_time",
                     "hybrid_retrieval_only", "hybrid_cached"):
            if mode in L:
                name = {"hybrid_filtered": "hybrid + year filter", "hybrid_cached": "hybrid, cached query vector",
                        "hybrid_change_over_time": "hybrid, change-over-time questions",
                        "hybrid_retrieval_only": "hybrid, Searcher.search only"}.get(mode, mode)
                out.append((f"Query p50 / p95, {name} @ {n:,} chunks ({kind})", _lat(L[mode])))
        c = L.get("components") or {}
        if c:
            out.append((f"  of which: encode / BM25 top-100 / dense top-100 @ {n:,}",
                        " · ".join(_ms(_get(c, k, "p50_ms")) for k in ("encode_query", "bm25_top100", "dense_top100"))))
    qe = R.get("query_encoding")
    if qe:
        out.append(("Query encoding p50: numpy vs torch", f"{_ms(_get(qe, 'numpy', 'p50_ms'))} vs {_ms(_get(qe, 'torch', 'p50_ms'))}"
                                                          f" (max |Δ| {qe.get('max_abs_difference', float('nan')):.1e})"))
    cs = R.get("cold_start") or {}
    for key, label in (("bundled_hybrid", "Cold start `peel search --json`, bundled"),
                       ("bundled_bm25", "Cold start `peel search --mode bm25`, bundled"),
                       ("bundled_hybrid_torch", "Cold start, bundled, PEEL_ENCODER=torch (old path)"),
                       ("scaled_hybrid", "Cold start `peel search`, scaled"),
                       ("help", "`peel --help`")):
        if cs.get(key):
            out.append((label, f"{cs[key]['seconds']} s, peak RSS {cs[key]['peak_rss_mib']} MiB"))
    if cs.get("imports"):
        out.append(("Imported by `peel search`", ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in cs["imports"].items())))
    for key in ("bundled", "scaled"):
        s = _get(R, "index_size", key)
        if s:
            out.append((f"Index on disk @ {s['chunks']:,} chunks", f"{s['mib_per_1k_chunks']} MiB per 1k chunks ({s['mib']} MiB)"))
    for key in ("bm25_bundled", "bm25_scaled"):
        b = _get(R, "comparisons", key)
        if b and "rank_bm25" in b and "p50_ms" in b["rank_bm25"]:
            out.append((f"bm25s vs rank-bm25 @ {b['chunks']:,}: index", f"{b['bm25s']['index_seconds']} s vs {b['rank_bm25']['index_seconds']} s"))
            out.append((f"bm25s vs rank-bm25 @ {b['chunks']:,}: query p50", f"{_ms(b['bm25s']['p50_ms'])} vs {_ms(b['rank_bm25']['p50_ms'])} "
                                                                            f"(top-10 overlap {b.get('top10_overlap')})"))
    f = _get(R, "comparisons", "faiss_scaled")
    if f:
        out.append((f"FAISS flat vs HNSW @ {f['chunks']:,}: p50 k=10", f"{_ms(f['flat_k10']['p50_ms'])} vs {_ms(f['hnsw_k10']['p50_ms'])}"))
        out.append((f"FAISS flat vs HNSW @ {f['chunks']:,}: p50 k=100", f"{_ms(f['flat_k100']['p50_ms'])} vs {_ms(f['hnsw_k100']['p50_ms'])}"))
        out.append(("HNSW recall@10 / @100 vs flat", f"{f['recall_at_10']} / {f['recall_at_100']}"))
        if f.get("ef_search_sweep"):
            out.append(("  efSearch → recall@10, p50 (k=100)", " · ".join(
                f"{e['efSearch']}: {e['recall_at_10']}, {_ms(e['p50_ms'])}" for e in f["ef_search_sweep"])))
    sc = R.get("scaled_corpus")
    if sc:
        idx = sc.get("index") or {}
        build = f", index built in {idx['build_seconds']} s" if idx.get("build_seconds") else " (index reused)"
        fid = sc.get("fidelity") or {}
        fid_s = f"; cosine to real embeddings {fid['cosine_mean']} mean, {fid['cosine_p5']} p5" if fid else ""
        out.append(("Scaled corpus", f"{sc['n_chunks']:,} chunks, {sc['n_reports']} reports, vectors {sc['vectors']}{build}{fid_s}"))
    return out


def target_rows(R: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for t in R.get("targets", []):
        v = t["measured"]
        shown = "not measured" if v is None else f"{v}{(' ' + t['unit']) if t['unit'] and t['unit'] != '×' else ''}"
        verdict = {True: "met", False: "MISSED", None: "–"}[t["met"]]
        out.append((t["target"], shown, verdict))
    return out


def markdown(R: dict[str, Any]) -> str:
    lines = ["| measure | result |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows(R)]
    lines += ["", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in target_rows(R)]
    return "\n".join(lines)


def print_table(R: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    t = Table(title=f"peel-search benchmarks ({R['mode']}, {R['started']}, {R.get('seconds')} s)", show_lines=False)
    t.add_column("measure", overflow="fold")
    t.add_column("result", overflow="fold")
    for a, b in rows(R):
        t.add_row(a, b)
    console.print(t)
    tt = Table(title="targets")
    tt.add_column("target")
    tt.add_column("measured")
    tt.add_column("")
    for a, b, c in target_rows(R):
        tt.add_row(a, b, c)
    console.print(tt)
    if R.get("errors"):
        console.print("[bold red]errors:[/]")
        for k, v in R["errors"].items():
            console.print(f"  {k}: {v}", markup=False)
