"""The cited documents as BibTeX and RIS, for a reference manager (Zotero, EndNote, LaTeX).

One entry per cited document, keyed by its document id. Written with bibtexparser and
rispy rather than by hand: they know the formats' quoting and line rules. Inspection,
PEEL, PCC and force reports are reports (BibTeX ``@techreport``, RIS ``RPRT``) of their
publisher; news articles are ``@misc`` / ``NEWS``; anything else ``@misc`` / ``GEN``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

_REPORT_TYPES = {"peel-report", "peel-web-summary", "inspection-report", "thematic-inspection",
                 "crime-data-integrity", "pcc-report", "force-progress-report"}
# BibTeX's (LaTeX's) special characters, escaped so a title with "Fire & Rescue" compiles.
_LATEX_SPECIAL = re.compile(r"([&%$#_])")


def _year(doc: dict[str, Any]) -> str:
    published = str(doc.get("published") or "")[:4]
    if published.isdigit():
        return published
    return str(max(doc["years"])) if doc.get("years") else ""


def _latex(text: str) -> str:
    return _LATEX_SPECIAL.sub(r"\\\1", text)


def _bibtex_key(doc_id: str, taken: set[str]) -> str:
    key = re.sub(r"[^A-Za-z0-9:_-]+", "-", doc_id).strip("-") or "document"
    unique, n = key, 2
    while unique in taken:
        unique, n = f"{key}-{n}", n + 1
    taken.add(unique)
    return unique


def to_bibtex(documents: Iterable[dict[str, Any]]) -> str:
    """One BibTeX entry per document record (``doc_id``, ``title``, ``publisher``, ``published``,
    ``years``, ``url``, ``doc_type``, ``force``)."""
    from bibtexparser import dumps
    from bibtexparser.bibdatabase import BibDatabase
    from bibtexparser.bwriter import BibTexWriter

    taken: set[str] = set()
    entries = []
    for doc in documents:
        report = doc.get("doc_type") in _REPORT_TYPES
        entry = {"ENTRYTYPE": "techreport" if report else "misc", "ID": _bibtex_key(doc["doc_id"], taken),
                 # double braces keep the title's capitals ("PEEL", "Essex Police") as written
                 "title": "{" + _latex(str(doc.get("title") or doc["doc_id"])) + "}"}
        if doc.get("publisher"):
            entry["institution" if report else "publisher"] = _latex(str(doc["publisher"]))
        if _year(doc):
            entry["year"] = _year(doc)
        if doc.get("url"):
            entry["url"] = str(doc["url"])
        notes = [n for n in (doc.get("force"), doc.get("period")) if n]
        if notes:
            entry["note"] = _latex("; ".join(str(n) for n in notes))
        entries.append(entry)
    db = BibDatabase()
    db.entries = entries
    writer = BibTexWriter()
    writer.order_entries_by = None  # the order they were cited in
    return dumps(db, writer)


def to_ris(documents: Iterable[dict[str, Any]]) -> str:
    """One RIS record per document record (the same fields as `to_bibtex`)."""
    import rispy

    class _Writer(rispy.RisWriter):
        def set_header(self, count: int) -> str:  # no "1." numbering line: plain RIS
            return ""

    records = []
    for doc in documents:
        doc_type = doc.get("doc_type")
        record: dict[str, Any] = {
            "type_of_reference": "RPRT" if doc_type in _REPORT_TYPES else "NEWS" if doc_type == "news" else "GEN",
            "title": str(doc.get("title") or doc["doc_id"]),
            "id": doc["doc_id"],
        }
        if doc.get("publisher"):
            record["publisher"] = str(doc["publisher"])
        if _year(doc):
            record["year"] = _year(doc)
        if doc.get("published") and re.match(r"^\d{4}-\d{2}-\d{2}$", str(doc["published"])):
            record["date"] = str(doc["published"]).replace("-", "/")
        if doc.get("url"):
            record["urls"] = [str(doc["url"])]
        notes = [str(n) for n in (doc.get("force"), doc.get("period")) if n]
        if notes:
            record["notes"] = notes
        records.append(record)
    return rispy.dumps(records, implementation=_Writer)
