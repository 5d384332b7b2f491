"""Files → ParsedDocuments → Chunks, for a list of files and folders.

One unreadable file never aborts a run: it is recorded in ``IngestResult.skipped`` with
a plain reason, and everything else is ingested.

Size limits (a file over them is skipped with the reason, before it is read):
``MAX_TEXT_BYTES`` for .txt/.md (10 MB, some fifty full inspection reports: chunking runs
at about 25 s per MB and embedding at about 90 s per MB on a 2-core CPU, so one such file
already costs some twenty minutes), ``MAX_HTML_BYTES`` for pages (100 MB: saved pages
carry megabytes of inline images, cut before parsing), ``MAX_PDF_BYTES`` (200 MB: scans
and images make PDFs large), and ``MAX_TEXT_CHARS`` for the text any reader extracts.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import time
import unicodedata
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
MB = 1024 * 1024
MAX_TEXT_BYTES = 10 * MB
MAX_HTML_BYTES = 100 * MB
MAX_PDF_BYTES = 200 * MB
MAX_TEXT_CHARS = MAX_TEXT_BYTES  # 10 MB of text, however it was stored
_SURROGATE = re.compile("[\ud800-\udfff]")
# Control characters other than tab and line breaks: an ESC in a document must not reach a
# terminal as an escape sequence (`peel search`, `peel ask`). Each becomes a space.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")


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


def display_path(path: Path | str) -> str:
    """A file name fit to print and to store as JSON: undecodable bytes shown as \\xNN."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def _safe_text(text: str) -> str:
    # Lone surrogates (a PDF's broken ToUnicode map) cannot be written as UTF-8; the
    # replacement keeps every offset where it was, as does blanking control characters.
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub(" ", text) if _CONTROL.search(text) else text


def _scrub(doc: ParsedDocument) -> ParsedDocument:
    doc.text = _safe_text(doc.text)
    for block in doc.blocks:
        block.text = _safe_text(block.text)
    if doc.title:
        doc.title = _safe_text(doc.title)
    doc.path = display_path(doc.path)
    return doc


def _file_problem(path: Path) -> str | None:
    """Why ``path`` (after symlinks) is not a regular file that can be read, or None."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop (the link leads back to itself)"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "broken symlink (its target does not exist)" if os.path.islink(path) else "no such file"
        if exc.errno == errno.EACCES:
            return "permission denied (cannot read the file)"
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(st.st_mode):
        return None
    kind = (
        "a folder" if stat.S_ISDIR(st.st_mode)
        else "a named pipe" if stat.S_ISFIFO(st.st_mode)
        else "a socket" if stat.S_ISSOCK(st.st_mode)
        else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
        else "a special file"
    )
    return f"not a regular file ({kind})"


def read_document(path: Path) -> ParsedDocument:
    """Parse one file with the reader for its type; ReadError says why not."""
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise ReadError(f"unsupported file type '{path.suffix or '(none)'}' (supported: {', '.join(sorted(SUPPORTED))})")
    problem = _file_problem(path)  # before opening: reading a named pipe would wait forever
    if problem:
        raise ReadError(problem)
    doc = _read(path, fmt)
    if len(doc.text) > MAX_TEXT_CHARS:
        raise ReadError(
            f"too much text ({len(doc.text) / 1e6:.1f} million characters; the limit is "
            f"{MAX_TEXT_CHARS / 1e6:.1f} million per document). Split it into smaller files."
        )
    return _scrub(doc)


def _read(path: Path, fmt: str) -> ParsedDocument:
    try:
        size = path.stat().st_size
        limit = {"pdf": MAX_PDF_BYTES, "html": MAX_HTML_BYTES}.get(fmt, MAX_TEXT_BYTES)
        if size > limit:
            raise ReadError(
                f"too large ({size / MB:.0f} MB; the limit for {fmt} files is {limit // MB} MB: reading "
                f"and embedding it would take hours). Split it into smaller files."
            )
        if fmt == "pdf":
            from ingest.readers.pdf import read_pdf

            return read_pdf(str(path))
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
    except MemoryError:
        raise ReadError("too large to read into memory") from None
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

    def skip(p: Path | str, reason: str) -> None:
        skipped.append(Skipped(display_path(p), reason))

    for root in paths:
        if not root.is_dir():
            if os.path.lexists(root) and root.suffix.lower() not in SUPPORTED:
                skip(root, f"unsupported file type '{root.suffix or '(none)'}'")
                continue
            problem = _file_problem(root) if os.path.lexists(root) else "no such file or folder"
            if problem:
                skip(root, problem)
            else:
                add(root)
            continue
        # Linked folders are followed, but never into a folder already being read: a
        # symlink loop cannot send the walk round forever.
        visited = {os.path.realpath(root)}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=lambda e: skip(e.filename, f"cannot list folder: {e.strerror}")):
            parts = Path(dirpath).relative_to(root).parts
            inside = {os.path.realpath(os.path.join(root, *parts[:i])) for i in range(len(parts) + 1)}
            keep = []
            for d in sorted(dirnames):
                if d.startswith("."):
                    continue
                sub = os.path.join(dirpath, d)
                real = os.path.realpath(sub)
                if os.path.islink(sub) and real in inside:
                    skip(sub, "symlink loop (links back to a folder it is inside)")
                    continue
                if real in visited:  # the same folder by another path: read once
                    continue
                visited.add(real)
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if name.startswith(".") or name.lower() in _NOT_DOCUMENTS:
                    continue
                if p.suffix.lower() not in SUPPORTED:
                    continue
                problem = _file_problem(p)
                if problem:
                    skip(p, problem)
                    continue
                add(p)
    return files, skipped


def _ascii_fold(name: str) -> str:
    """'Rapport d’été' → 'Rapport d’ete': accents dropped so document ids keep the letters."""
    raw = os.fsencode(name)
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:  # names from old zip files are usually Windows-1252
        name = raw.decode("cp1252", "replace")
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))


def _manifest_for(path: Path, cache: dict[Path, dict[Path, DocumentMeta]]) -> DocumentMeta | None:
    folder = path.resolve().parent
    if folder not in cache:
        cache[folder] = load_manifest(folder)
    return cache[folder].get(path.resolve())


@dataclass
class FileJob:
    """One file to read and chunk, with what the driver decided before reading it."""

    path: Path
    meta: DocumentMeta | None  # from a manifest.toml; None: inferred from the text
    doc_id: str  # the id an inferred document gets (unused when ``meta`` is given)
    manifest_problem: str | None = None


@dataclass
class FileResult:
    """One file read and chunked, or why it could not be (``error``)."""

    path: Path
    meta: DocumentMeta | None = None
    chunks: list[Chunk] = field(default_factory=list)
    text: str = ""
    error: str | None = None


# Files → results in the jobs' order: `local_map` here, a Dask cluster in ingest.cluster.
FileMap = Callable[[list[FileJob], "ChunkerSettings | None", "Callable[[Path], None] | None"], list[FileResult]]


@functools.lru_cache(maxsize=4)
def _chunker(settings: ChunkerSettings | None) -> Chunker:
    return Chunker(settings)  # loads a tokenizer: once per process and settings


def read_file(job: FileJob, settings: ChunkerSettings | None = None) -> FileResult:
    """Read and chunk one file; never raises for a bad file (the reason is in ``error``).
    A pure function of its arguments, so a cluster can run it anywhere and retry it."""
    try:
        doc = read_document(job.path)
        if not doc.blocks:
            raise ReadError("no text content found")
        meta = job.meta if job.meta is not None else infer_meta(doc, job.doc_id)
        if meta.source:
            meta.source = display_path(meta.source)
        return FileResult(job.path, meta, _chunker(settings).chunk(doc, meta), doc.text)
    except ReadError as exc:
        return FileResult(job.path, error=str(exc))
    except Exception as exc:  # a reader bug must not lose the rest of the corpus
        return FileResult(job.path, error=f"could not be parsed ({type(exc).__name__}: {exc})")


def local_map(
    jobs: list[FileJob], settings: ChunkerSettings | None, progress: Callable[[Path], None] | None
) -> list[FileResult]:
    """Read the files one after another in this process."""
    out = []
    for job in jobs:
        if progress:
            progress(job.path)
        out.append(read_file(job, settings))
    return out


def _new_id(path: Path, used_ids: set[str]) -> str:
    base = slug(_ascii_fold(path.stem))
    doc_id, n = base, 2
    while doc_id in used_ids:
        doc_id = f"{base}-{n}"
        n += 1
    return doc_id


def plan_files(files: list[Path]) -> list[FileJob]:
    """Each file's manifest entry, and the id it gets without one if every file before it
    reads (ids depend on order: `load_corpus` re-reads a file whose id changed)."""
    manifests: dict[Path, dict[Path, DocumentMeta]] = {}
    jobs = []
    used: set[str] = set()
    for path in files:
        problem = None
        try:
            meta = _manifest_for(path, manifests)
        except ValueError as exc:
            meta, problem = None, f"manifest problem: {exc}"
        doc_id = meta.doc_id if meta is not None else _new_id(path, used)
        used.add(doc_id)
        jobs.append(FileJob(path, meta, doc_id, problem))
    return jobs


def load_corpus(
    paths: list[Path],
    settings: ChunkerSettings | None = None,
    progress: Callable[[Path], None] | None = None,
    map_files: FileMap | None = None,
) -> IngestResult:
    """Read, chunk and de-duplicate every supported file under ``paths``. ``map_files``
    runs `read_file` over the jobs (default: here, one by one; `ingest.cluster`: on Dask);
    the result is the same either way."""
    t0 = time.perf_counter()
    files, skipped = discover(paths)
    jobs = plan_files(files)
    results = (map_files or local_map)(jobs, settings, progress)
    documents: list[DocumentMeta] = []
    chunks: list[Chunk] = []
    texts: dict[str, str] = {}
    used_ids: set[str] = set()
    for job, result in zip(jobs, results):
        shown = display_path(job.path)
        if job.manifest_problem:
            skipped.append(Skipped(shown, job.manifest_problem))
        if job.meta is None and result.error is None:
            doc_id = _new_id(job.path, used_ids)
            if doc_id != job.doc_id:  # a file before it failed: its planned id was taken wrongly
                result = read_file(FileJob(job.path, None, doc_id), settings)
        if result.error is None and result.meta.doc_id in used_ids:
            result.error = f"duplicate document id '{result.meta.doc_id}' in the manifest"
        if result.error is not None:
            skipped.append(Skipped(shown, result.error))
            continue
        used_ids.add(result.meta.doc_id)
        documents.append(result.meta)
        chunks.extend(result.chunks)
        texts[result.meta.doc_id] = result.text
    mark_near_duplicates(chunks)
    return IngestResult(documents, chunks, skipped, texts, time.perf_counter() - t0)
