"""Reports uploaded in the app: safe file names, the checks `peel ingest` makes, saving
them into the uploads folder and recording their metadata in its ``manifest.toml``.

Uploads are untrusted. A name is reduced to a plain file name (no folders, no leading dot,
no control or reserved characters) with a supported extension; a file never replaces
another one (``report-2.pdf`` beside ``report.pdf``). Each upload is read with the same
readers and limits as `peel ingest` before anything is kept (`inspect_upload`), so a
truncated PDF, a binary ``.txt`` or an empty file is refused with its reason. The manifest
is rewritten atomically (temp file, fsync, rename), so a later full ingest of the data
folder keeps every upload with the metadata the user confirmed.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import tempfile
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ingest.atomic import fsync_dir, write_atomically
from ingest.locks import flock
from ingest.metadata import MANIFEST_NAME, infer_meta, slug
from ingest.pipeline import (
    MAX_HTML_BYTES,
    MAX_PDF_BYTES,
    MAX_TEXT_BYTES,
    MB,
    SUPPORTED,
    ReadError,
    read_document,
)
from ingest.records import DocumentMeta

UPLOAD_TYPES = sorted({ext.lstrip(".") for ext in SUPPORTED})  # for st.file_uploader(type=…)
FILE_MODE = 0o644
MAX_NAME_BYTES = 150  # of the stem, UTF-8: leaves room for "-NN" and the extension under 255
_UNSAFE = re.compile(r"[^\w .,()&'+\-]", re.UNICODE)
_HEADER = ("# Reports added in the app. One [[document]] per file; `file` is relative to this folder.\n"
           "# Edit an entry to correct a report's metadata; `peel ingest` reads it on the next build.\n")
_BLOCK = re.compile(r"^\[\[document\]\][ \t]*$", re.MULTILINE)


class UploadError(ValueError):
    """An upload that cannot be kept; the message is the plain reason."""


@dataclass
class Inspected:
    """An upload that was read: its safe name, its bytes and the metadata inferred from it."""

    name: str  # the safe file name it will be saved under (before any -2 suffix)
    data: bytes
    meta: DocumentMeta
    n_chars: int


def safe_name(name: str) -> str:
    """A plain file name for an uploaded ``name``: the last path part only, no leading dot,
    control or reserved characters replaced, the extension lower-cased and supported.
    UploadError when the type is not one `peel ingest` reads."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    name = " ".join(_UNSAFE.sub("-", name).split())  # control characters, NUL, <>:"|?* …
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext.strip().lower()
    if f".{ext}" not in SUPPORTED:
        shown = f".{ext}" if ext else "(none)"
        raise UploadError(f"unsupported file type '{shown[:20]}' (supported: {', '.join(sorted(SUPPORTED))})")
    stem = stem.strip(" .-")  # no hidden names, no "..", nothing that ends in dots
    while len(stem.encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(" .-") or "upload"
    return f"{stem}.{ext}"


def size_problem(name: str, size: int) -> str | None:
    """`peel ingest`'s size limit for a file of this type, as its reason, or None."""
    fmt = SUPPORTED.get(Path(name).suffix.lower(), "txt")
    limit = {"pdf": MAX_PDF_BYTES, "html": MAX_HTML_BYTES}.get(fmt, MAX_TEXT_BYTES)
    if size <= limit:
        return None
    return (f"too large ({size / MB:.0f} MB; the limit for {fmt} files is {limit // MB} MB: reading "
            f"and embedding it would take hours). Split it into smaller files.")


def _id_base(name: str) -> str:
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", Path(name).stem) if not unicodedata.combining(ch))
    return slug(folded)


def unique_id(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base-2``, ``base-3`` … whichever is not in ``taken``."""
    taken = set(taken)
    doc_id, n = base, 2
    while doc_id in taken:
        doc_id = f"{base}-{n}"
        n += 1
    return doc_id


def inspect_upload(name: str, data: bytes, taken_ids: Iterable[str] = ()) -> Inspected:
    """Read an upload as `peel ingest` would (in a temporary folder) and infer its title,
    force, period and type. UploadError with the reason when it cannot be indexed."""
    safe = safe_name(name)
    problem = size_problem(safe, len(data))
    if problem:
        raise UploadError(problem)
    with tempfile.TemporaryDirectory(prefix="peel-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            doc = read_document(path)
            if not doc.blocks:
                raise ReadError("no text content found")
            meta = infer_meta(doc, unique_id(_id_base(safe), taken_ids))
        except ReadError as exc:
            raise UploadError(str(exc)) from None
        except Exception as exc:  # a reader bug: refuse this file, keep the app running
            raise UploadError(f"could not be parsed ({type(exc).__name__}: {exc})") from None
    meta.source = ""
    return Inspected(safe, data, meta, len(doc.text))


def _reserved(folder: Path) -> set[str]:
    """File names the folder's manifest already speaks of (a file may have been deleted)."""
    try:
        entries = tomllib.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8")).get("document", [])
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return set()
    return {str(e.get("file")) for e in entries if isinstance(e, dict)}


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` into ``folder`` under the safe form of ``name``, never over an
    existing file or a name its manifest lists (a ``-2``, ``-3`` … suffix instead).
    The file appears whole or not at all (written to a hidden temp file, then linked)."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = safe_name(name)
    problem = size_problem(safe, len(data))
    if problem:
        raise UploadError(problem)
    stem, ext = safe.rsplit(".", 1)
    reserved = _reserved(folder)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)  # mkstemp makes it private; a report is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        n = 1
        while True:
            candidate = folder / (safe if n == 1 else f"{stem}-{n}.{ext}")
            n += 1
            if candidate.name in reserved or os.path.lexists(candidate):
                continue
            try:
                os.link(tmp, candidate)  # fails if the name was taken meanwhile: never overwrites
            except FileExistsError:
                continue
            except OSError:  # no hard links here: create exclusively and copy
                try:
                    with open(candidate, "xb") as out:
                        out.write(data)
                except FileExistsError:
                    continue
            fsync_dir(folder)
            return candidate
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _toml_string(value: str) -> str:
    # JSON string escapes are TOML's too; TOML also wants DEL escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def manifest_entry(meta: DocumentMeta, file: str) -> str:
    """One ``[[document]]`` entry, in the format of ``data/manifest.toml``."""
    lines = ["[[document]]", f"id = {_toml_string(meta.doc_id)}", f"file = {_toml_string(file)}",
             f"title = {_toml_string(meta.title)}"]
    if meta.publisher:
        lines.append(f"publisher = {_toml_string(meta.publisher)}")
    if meta.force:
        lines.append(f"force = {_toml_string(meta.force)}")
    lines.append(f"doc_type = {_toml_string(meta.doc_type or 'unknown')}")
    lines.append(f"years = [{', '.join(str(int(y)) for y in sorted(meta.years))}]")
    if meta.published:
        lines.append(f"published = {_toml_string(meta.published)}")
    if meta.url:
        lines.append(f"url = {_toml_string(meta.url)}")
    lines.append(f"added = {_toml_string(_dt.date.today().isoformat())}")
    return "\n".join(lines) + "\n"


def _read_manifest(folder: Path) -> str:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return _HEADER
    try:
        text = path.read_text(encoding="utf-8")
        tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UploadError(f"{path} cannot be read ({exc}); fix or move it, then upload again") from None
    return text


def _write_manifest(folder: Path, text: str) -> None:
    tomllib.loads(text)  # never write a manifest that the next ingest could not read
    write_atomically(folder / MANIFEST_NAME, text, mode=FILE_MODE)


def add_manifest_entries(folder: Path, entries: Iterable[tuple[Path, DocumentMeta]]) -> None:
    """Append an entry per (saved file, metadata) to ``folder/manifest.toml``, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    with flock(folder):
        text = _read_manifest(folder)
        blocks = [manifest_entry(meta, Path(path).name) for path, meta in entries]
        if not blocks:
            return
        _write_manifest(folder, text.rstrip("\n") + "\n\n" + "\n".join(blocks))


def remove_manifest_entries(folder: Path, files: Iterable[Path | str]) -> None:
    """Drop the entries of ``files`` from ``folder/manifest.toml`` (atomically); the rest of
    the file, comments included, is kept as it was."""
    names = {Path(f).name for f in files}
    if not names or not (folder / MANIFEST_NAME).exists():
        return
    with flock(folder):
        text = _read_manifest(folder)
        starts = [m.start() for m in _BLOCK.finditer(text)]
        if not starts:
            return
        kept = [text[: starts[0]]]
        for a, b in zip(starts, starts[1:] + [len(text)]):
            block = text[a:b]
            entry = (tomllib.loads(block).get("document") or [{}])[0]
            if str(entry.get("file")) not in names:
                kept.append(block)
        _write_manifest(folder, "".join(kept))


def manifest_ids(folder: Path) -> set[str]:
    """Document ids ``folder/manifest.toml`` gives (empty when it has none or cannot be read)."""
    try:
        entries = tomllib.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8")).get("document", [])
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return set()
    return {str(e["id"]) for e in entries if isinstance(e, dict) and "id" in e}


def discard_upload(folder: Path, path: Path) -> None:
    """Undo `save_upload` and its manifest entry (the file could not be indexed)."""
    remove_manifest_entries(folder, [path])
    with contextlib.suppress(OSError):
        os.unlink(path)


# Document types metadata inference gives (`ingest.metadata`), for a picker.
DOC_TYPES = ("peel-report", "inspection-report", "thematic-inspection", "crime-data-integrity",
             "force-progress-report", "pcc-report", "peel-web-summary", "news", "unknown")
_YEAR_RANGE = re.compile(r"^\s*(\d{4})\s*(?:-|–|—|to)\s*(\d{2}|\d{4})\s*$")
_SHORT_YEAR = re.compile(r"^\s*(\d{4})\s*/\s*(\d{2}|\d{4})\s*$")


def format_years(years: Iterable[int]) -> str:
    """[2018, 2019] → '2018-2019'; [2016, 2018] → '2016, 2018'; [] → ''."""
    years = sorted(set(int(y) for y in years))
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def parse_years(text: str) -> list[int]:
    """'2018', '2018-2019', '2018/19', '2016, 2018' → the years; '' → []. ValueError says what
    is wrong with anything else."""
    years: set[int] = set()
    for part in (p for p in re.split(r"[,;]", text or "") if p.strip()):
        m = _YEAR_RANGE.match(part) or _SHORT_YEAR.match(part)
        if m:
            a, b = int(m.group(1)), m.group(2)
            b = int(b) if len(b) == 4 else a // 100 * 100 + int(b)
        elif re.fullmatch(r"\s*\d{4}\s*", part):
            a = b = int(part)
        else:
            raise ValueError(f"'{part.strip()[:40]}' is not a year or a range of years (e.g. 2018 or 2018-2019)")
        if not (1900 <= a <= b <= 2100) or b - a > 50:
            raise ValueError(f"'{part.strip()[:40]}' is not a plausible range of years")
        years.update(range(a, b + 1))
    return sorted(years)
