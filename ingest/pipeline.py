"""Files → ParsedDocuments → Chunks, for a list of files and folders.

One unreadable file never aborts a run: it is recorded in ``IngestResult.skipped`` with
a plain reason, and everything else is ingested.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ingest.chunking import Chunker, ChunkerSettings
from ingest.dedup import mark_near_duplicates
from ingest.metadata import MANIFEST_NAME, infer_meta, load_manifest, slug
from ingest.records import Chunk, DocumentMeta, ParsedDocument

SUPPORTED = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf"}
# Files that describe a corpus rather than belong to it.
_NOT_DOCUMENTS = {MANIFEST_NAME, "glossary.toml", "readme.md", "readme.txt"}
MAX_TEXT_BYTES = 200 * 1024 * 1024


class ReadError(Exception):
    """A file that cannot be ingested; the message is the plain reason."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IngestResult:
    documents: list[DocumentMeta]
    chunks: list[Chunk]
    skipped: list[Skipped] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # doc_id → the text offsets refer to
    seconds: float = 0.0

    @property
    def n_tokens(self) -> int:
        return sum(c.n_tokens for c in self.chunks)


def decode_text(raw: bytes) -> str:
    """Bytes of a text file → str: UTF-8 (with or without BOM), else the best detected charset."""
    if not raw.strip():
        raise ReadError("empty file")
    sample = raw[:65536]
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("binary data, not text (contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # English-language reports that are not UTF-8 are nearly always Windows-1252; a
    # detector guesses poorly on short files (it picks cp1250 for '£'), so try it first.
    try:
        text = raw.decode("cp1252")
        controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f")
        if controls <= len(text[:65536]) // 1000:
            return text
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: 4 * 1024 * 1024]).best()
    if best is None or best.encoding is None:
        raise ReadError("not readable as text in any known encoding")
    text = raw.decode(best.encoding, errors="replace")
    if text.count("\ufffd") > max(10, len(text) // 100):
        raise ReadError(f"binary data, not text (decoding as {best.encoding} fails)")
    return text


def read_document(path: Path) -> ParsedDocument:
    """Parse one file with the reader for its type; ReadError says why not."""
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise ReadError(f"unsupported file type '{path.suffix or '(none)'}' (supported: {', '.join(sorted(SUPPORTED))})")
    try:
        size = path.stat().st_size
        if fmt == "pdf":
            from ingest.readers.pdf import read_pdf

            return read_pdf(str(path))
        if size > MAX_TEXT_BYTES:
            raise ReadError(f"too large ({size // (1024 * 1024)} MB; limit {MAX_TEXT_BYTES // (1024 * 1024)} MB)")
        raw = path.read_bytes()
        if fmt == "html":
            from ingest.readers.html import read_html

            return read_html(str(path), raw)
        text = decode_text(raw)
        if fmt == "md":
            from ingest.readers.markdown import read_markdown

            return read_markdown(str(path), text)
        from ingest.readers.text import read_text

        return read_text(str(path), text)
    except ReadError:
        raise
    except PermissionError:
        raise ReadError("permission denied (cannot read the file)") from None
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReadError(str(exc)) from None


def discover(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Supported files under ``paths`` in a stable order; explicit unsupported files are skipped."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            files.append(p)

    for root in paths:
        if not root.exists():
            skipped.append(Skipped(str(root), "no such file or folder" if not root.is_symlink() else "broken symlink"))
            continue
        if root.is_file():
            if root.suffix.lower() in SUPPORTED:
                add(root)
            else:
                skipped.append(Skipped(str(root), f"unsupported file type '{root.suffix or '(none)'}'"))
            continue
        # followlinks=False: a symlink loop cannot send the walk round forever.
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=lambda e: skipped.append(Skipped(e.filename, f"cannot list folder: {e.strerror}"))):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if name.startswith(".") or name.lower() in _NOT_DOCUMENTS:
                    continue
                if p.suffix.lower() not in SUPPORTED:
                    continue
                if p.is_symlink() and not p.exists():
                    skipped.append(Skipped(str(p), "broken symlink"))
                    continue
                add(p)
    return files, skipped


def _manifest_for(path: Path, cache: dict[Path, dict[Path, DocumentMeta]]) -> DocumentMeta | None:
    folder = path.resolve().parent
    if folder not in cache:
        cache[folder] = load_manifest(folder)
    return cache[folder].get(path.resolve())


def load_corpus(
    paths: list[Path],
    settings: ChunkerSettings | None = None,
    progress: Callable[[Path], None] | None = None,
) -> IngestResult:
    """Read, chunk and de-duplicate every supported file under ``paths``."""
    t0 = time.perf_counter()
    files, skipped = discover(paths)
    chunker = Chunker(settings)
    manifests: dict[Path, dict[Path, DocumentMeta]] = {}
    documents: list[DocumentMeta] = []
    chunks: list[Chunk] = []
    texts: dict[str, str] = {}
    used_ids: set[str] = set()
    for path in files:
        if progress:
            progress(path)
        try:
            meta = _manifest_for(path, manifests)
        except ValueError as exc:
            skipped.append(Skipped(str(path), f"manifest problem: {exc}"))
            meta = None
        try:
            doc = read_document(path)
            if not doc.blocks:
                raise ReadError("no text content found")
            if meta is None:
                doc_id = slug(path.stem)
                n = 2
                while doc_id in used_ids:
                    doc_id = f"{slug(path.stem)}-{n}"
                    n += 1
                meta = infer_meta(doc, doc_id)
            if meta.doc_id in used_ids:
                raise ReadError(f"duplicate document id '{meta.doc_id}' in the manifest")
            doc_chunks = chunker.chunk(doc, meta)
        except ReadError as exc:
            skipped.append(Skipped(str(path), str(exc)))
            continue
        except Exception as exc:  # a reader bug must not lose the rest of the corpus
            skipped.append(Skipped(str(path), f"could not be parsed ({type(exc).__name__}: {exc})"))
            continue
        used_ids.add(meta.doc_id)
        documents.append(meta)
        chunks.extend(doc_chunks)
        texts[meta.doc_id] = doc.text
    mark_near_duplicates(chunks)
    return IngestResult(documents, chunks, skipped, texts, time.perf_counter() - t0)
