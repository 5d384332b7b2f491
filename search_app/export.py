"""Cited passages as CSV, JSON Lines and Markdown, ready for a spreadsheet or a paper; the
cited documents as a references list, BibTeX or RIS (`search_app.bibliography`)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable

from index.query.periods import period_label
from index.records import Figure, Hit
from search_app import bibliography

FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson", "md": "text/markdown", "refs": "text/markdown",
           "bib": "application/x-bibtex", "ris": "application/x-research-info-systems"}
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "md": "md", "refs": "references.md", "bib": "bib", "ris": "ris"}
LABELS = {"csv": "CSV", "jsonl": "JSON Lines", "md": "Markdown", "refs": "References", "bib": "BibTeX",
          "ris": "RIS"}

CSV_COLUMNS = [
    "rank", "score", "citation", "text", "doc_id", "title", "year", "doc_type", "force",
    "section", "page", "char_start", "char_end", "also_in", "source", "chunk_id",
]


def _docs_by_id(documents: Iterable[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {d["doc_id"]: d for d in (documents or [])}


def to_csv(hits: list[Hit]) -> str:
    """One row per passage; UTF-8 with a byte-order mark so spreadsheets read '£' and '’' right."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writeheader()
    for h in hits:
        writer.writerow(
            {
                "rank": h.rank,
                "score": f"{h.score:.6f}",
                "citation": h.citation.label(),
                "text": h.text,
                "doc_id": h.doc_id,
                "title": h.title,
                "year": h.year if h.year is not None else "",
                "doc_type": h.doc_type,
                "force": h.force or "",
                "section": " › ".join(h.section),
                "page": h.page if h.page is not None else "",
                "char_start": h.char_start,
                "char_end": h.char_end,
                "also_in": "; ".join(f"{d.get('title')} ({d.get('year')})" for d in h.also_in),
                "source": h.source,
                "chunk_id": h.chunk_id,
            }
        )
    return "\ufeff" + buf.getvalue()


def to_jsonl(hits: list[Hit]) -> str:
    """The same records as `peel search --json`, one passage per line."""
    return "".join(json.dumps(h.to_dict(), ensure_ascii=False) + "\n" for h in hits)


def _quote(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def reference(doc: dict[str, Any]) -> str:
    """One reference-list entry: publisher (year) *title*. URL."""
    publisher = doc.get("publisher") or "Unknown publisher"
    published = str(doc.get("published") or "")[:4] or (str(max(doc["years"])) if doc.get("years") else "n.d.")
    entry = f"{publisher} ({published}). *{doc.get('title', doc['doc_id'])}*."
    if doc.get("url"):
        entry += f" {doc['url']}"
    return entry


def figures_markdown(figures: list[Figure]) -> str:
    """The figures of a change-over-time answer as a Markdown table: period, figure as
    written, what it counts, and the sentence's citation with the figure's offsets."""
    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    rows = ["| period | figure | measure | source |", "|---|---|---|---|"]
    for f in figures:
        cite = f.citation.label() if f.citation else ""
        rows.append(f"| {period_label(f.period)} | {cell(f.value)} | {cell(f.measure)} | "
                    f"{cell(cite)} [chars {f.start}–{f.end}] |")
    return "\n".join(rows) + "\n"


def to_markdown(hits: list[Hit], query: str | None = None, documents: Iterable[dict[str, Any]] | None = None,
                figures: list[Figure] | None = None) -> str:
    """Each excerpt as a block quote followed by its full citation, then a references list;
    a change-over-time answer's figures first, as a table."""
    out = []
    if query:
        out.append(f"# Evidence: {query}\n")
    if figures:
        out.append("## Figures by period\n")
        out.append(figures_markdown(figures))
    for h in hits:
        out.append(_quote(h.text))
        out.append("")
        cite = f"— {h.citation.label()} [chars {h.char_start}–{h.char_end}]"
        if h.also_in:
            cite += "; also in " + "; ".join(f"{d.get('title')} ({d.get('year')})" for d in h.also_in)
        out.append(cite)
        out.append("")
    if hits:
        out.append("## References\n")
        out.append(references(hits, documents))
    return "\n".join(out)


def cited_documents(hits: list[Hit], documents: Iterable[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The document record of every cited document (folded duplicates included), in the
    order first cited; a document the index has no record of is described from its hit."""
    docs = _docs_by_id(documents)
    cited: list[str] = []
    for h in hits:
        for doc_id in [h.doc_id, *(d.get("doc_id") for d in h.also_in)]:
            if doc_id and doc_id not in cited:
                cited.append(doc_id)
    return [docs.get(doc_id) or next(
        ({"doc_id": h.doc_id, "title": h.title, "years": h.years, "doc_type": h.doc_type, "force": h.force}
         for h in hits if h.doc_id == doc_id),
        {"doc_id": doc_id, "title": doc_id},
    ) for doc_id in cited]


def references(hits: list[Hit], documents: Iterable[dict[str, Any]] | None = None) -> str:
    """A Markdown list with one entry per cited document (folded duplicates included)."""
    return "\n".join(f"- {reference(doc)}" for doc in cited_documents(hits, documents)) + "\n"


def render(hits: list[Hit], fmt: str, query: str | None = None, documents: Iterable[dict[str, Any]] | None = None,
           figures: list[Figure] | None = None) -> str:
    """Hits in one of FORMATS (``figures``: a change-over-time answer's, in the Markdown)."""
    if fmt == "csv":
        return to_csv(hits)
    if fmt == "jsonl":
        return to_jsonl(hits)
    if fmt == "md":
        return to_markdown(hits, query, documents, figures)
    if fmt == "refs":
        return references(hits, documents)
    if fmt == "bib":
        return bibliography.to_bibtex(cited_documents(hits, documents))
    if fmt == "ris":
        return bibliography.to_ris(cited_documents(hits, documents))
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
