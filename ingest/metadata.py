"""Document metadata: the corpus manifest, and inference for files it does not list."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ingest.records import DocumentMeta, ParsedDocument

MANIFEST_NAME = "manifest.toml"

_FORCE = re.compile(
    r"\b((?:[A-Z][a-z]+(?:[ -](?:and|&|of|the)?[ -]?)?){1,4}?)\s+(Police|Constabulary)\b"
)
_NOT_FORCE = {"the", "national", "british", "local", "chief", "this", "each", "all", "her", "his", "our", "a", "and", "of"}
_YEAR_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*[/–-]\s*(\d\d(?:\d\d)?)\b")
_YEAR = re.compile(r"\b(19[89]\d|20[0-3]\d)\b")


@dataclass
class ManifestEntry:
    meta: DocumentMeta
    file: Path


def load_manifest(folder: Path) -> dict[Path, DocumentMeta]:
    """Entries of ``folder/manifest.toml`` keyed by resolved file path; {} when absent.

    Raises ValueError naming the manifest when it cannot be parsed.
    """
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    out: dict[Path, DocumentMeta] = {}
    for i, entry in enumerate(data.get("document", []), 1):
        if "file" not in entry or "id" not in entry:
            raise ValueError(f"{path}: document entry {i} needs both 'id' and 'file'")
        file = (folder / entry["file"]).resolve()
        years = entry.get("years", [])
        if isinstance(years, int):
            years = [years]
        out[file] = DocumentMeta(
            doc_id=str(entry["id"]),
            title=entry.get("title") or Path(entry["file"]).stem,
            force=entry.get("force"),
            years=sorted(int(y) for y in years),
            doc_type=entry.get("doc_type", "unknown"),
            publisher=entry.get("publisher"),
            published=str(entry["published"]) if "published" in entry else None,
            url=entry.get("url"),
            source=str(file),
        )
    return out


def slug(text: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "-", text.casefold()).strip("-")
    return s or "document"


def _years_in(text: str) -> list[int]:
    for m in _YEAR_RANGE.finditer(text):
        a = int(m.group(1))
        tail = m.group(2)
        b = int(tail) if len(tail) == 4 else (a // 100) * 100 + int(tail)
        if 0 < b - a <= 3:
            return list(range(a, b + 1))
    years = [int(y) for y in _YEAR.findall(text)]
    return [Counter(years).most_common(1)[0][0]] if years else []


def infer_meta(doc: ParsedDocument, doc_id: str) -> DocumentMeta:
    """Title, force, years and type guessed from the text, with the guessed fields listed."""
    inferred = []
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    first_line = next((b.text for b in doc.blocks), Path(doc.path).stem)
    title = doc.title or (headings[0] if headings else first_line)
    title = " ".join(title.split())[:200]
    inferred.append("title")

    head = doc.text[:20000]
    forces = Counter()
    for m in _FORCE.finditer(head):
        name = m.group(1).strip()
        if name.split()[0].lower() in _NOT_FORCE:
            continue
        forces[f"{name} {m.group(2)}"] += 1
    force = forces.most_common(1)[0][0] if forces else None
    if force:
        inferred.append("force")

    years = _years_in(title) or _years_in(Path(doc.path).name) or _years_in(head[:3000])
    if years:
        inferred.append("years")

    lowered = (title + " " + head[:3000]).lower()
    if "peel" in lowered and ("inspection" in lowered or "effectiveness" in lowered):
        doc_type = "peel-report"
    elif "inspectorate" in lowered or "inspection" in lowered:
        doc_type = "inspection-report"
    else:
        doc_type = "unknown"
    if doc_type != "unknown":
        inferred.append("doc_type")
    return DocumentMeta(
        doc_id=doc_id,
        title=title,
        force=force,
        years=years,
        doc_type=doc_type,
        source=str(Path(doc.path).resolve()),
        inferred=inferred,
    )
