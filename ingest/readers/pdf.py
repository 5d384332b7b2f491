"""PDF reader: an inspection report PDF to content blocks, with page numbers.

pdfplumber (on pdfminer.six) gives positioned words with font name and size. Each page's
words are read once and grouped into lines; the rest is layout reasoning over the whole
document:

* body size = the most common font size, by character count;
* furniture = lines in the top/bottom margin band whose text (digits masked) repeats on
  several pages, plus whatever ``is_furniture_line`` recognises (banners, page numbers);
* footnotes = the run of small-font lines at the page bottom, from the first one that
  starts with a digit;
* headings = runs of lines clearly larger than body (>= 1.15x), or bold at body size and
  short; levels rank the distinct heading styles by size (largest = 1);
* tables = pdfplumber's ruled-table finder; their words are not read again as lines;
* paragraphs = body lines split at vertical gaps, size changes, bullets and short final
  lines; a paragraph left open at a page end continues on the next page.

``ParsedDocument.text`` is built from the blocks (joined by blank lines), so offsets are
exact and furniture never reaches it.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

from ingest.furniture import is_furniture_line
from ingest.records import Block, ParsedDocument

MARGIN_BAND = 0.08  # top/bottom share of the page where running headers/footers live
HEADING_RATIO = 1.15  # "clearly larger" than body
SMALL_RATIO = 0.88  # "clearly smaller" than body (footnotes)
MAX_HEADING_WORDS = 12  # per line, for bold body-size headings
MAX_LARGE_HEADING_WORDS = 30  # a large-font run longer than this is a lead paragraph

_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_CID = re.compile(r"\(cid:\d+\)")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_BULLET = re.compile(r"^([•●▪◦‣∙·■□➢►–—*-]|\(?\d{1,2}[.)]|\([a-z0-9]{1,3}\)|[a-z][.)])\s")
_BULLET_GLYPH = re.compile(r"^[•●▪◦‣∙·■□➢►–—*-]\s+")
_CAPTION = re.compile(r"^\s*(figure|fig\.|chart|graph|diagram|image|map)\s*\d+[a-z]?\s*[:.\-–—]", re.I)
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_USELESS_TITLE = re.compile(
    r"^(untitled.*|document\d*|microsoft (word|powerpoint|excel)\b.*|powerpoint presentation"
    r"|slide \d+|.*\.(docx?|pdf|pptx?|xlsx?|indd|rtf|odt|qxp)|[\w\-]+_[\w\-_]+|[\d\W_]+)$",
    re.I,
)


@dataclass
class _Line:
    """One text line of a page, with the layout facts the classifiers need."""

    page: int
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # dominant font size, by character count
    bold: bool  # (nearly) all characters in a bold face


@dataclass
class _Table:
    page: int
    top: float
    text: str


@dataclass
class _Page:
    number: int
    top: float
    bottom: float
    lines: list[_Line] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)


@dataclass
class _Para:
    """A block being assembled from lines."""

    kind: str
    lines: list[_Line]
    level: int = 0

    @property
    def text(self) -> str:
        text = _join_lines([line.text for line in self.lines])
        # The bullet glyph is layout, not content; item numbers ("1.", "(a)") are kept.
        return _BULLET_GLYPH.sub("", text) if self.kind == "list" else text


# --- opening and extraction -------------------------------------------------------------


def _check_file(path: str) -> None:
    """Cheap sanity checks, so the common failures get a plain reason."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 8192))
            tail = fh.read()
    except OSError as exc:
        raise ValueError(f"cannot read file: {exc.strerror or exc}") from None
    if not head.strip():
        raise ValueError("empty file")
    if b"%PDF-" not in head:
        raise ValueError("not a PDF (no %PDF header)")
    # pdfminer can half-read a cut-off download and return some pages silently; a missing
    # end marker is the reliable sign, and a partial report is worse than none.
    if b"%%EOF" not in tail:
        raise ValueError("PDF is truncated or damaged: no %%EOF end marker (incomplete download?)")


def _short_reason(exc: BaseException) -> str:
    """A one-line reason from a pdfminer/pdfplumber exception."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]  # pdfplumber wraps pdfminer's errors in PdfminerException
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:160]


def _clean(text: str) -> str:
    return _CID.sub("", text).translate(_LIGATURES)


def _extract(path: str) -> tuple[list[_Page], str | None]:
    """Read every page's words and ruled tables once; the only place pdfminer runs."""
    pages: list[_Page] = []
    try:
        with pdfplumber.open(path) as pdf:
            meta_title = pdf.metadata.get("Title")
            for number, page in enumerate(pdf.pages, start=1):
                x0, top, x1, bottom = page.bbox
                data = _Page(number, top, bottom)
                words = page.extract_words(extra_attrs=["fontname", "size"], keep_blank_chars=False)
                boxes: list[tuple[float, float, float, float]] = []
                # Finding tables costs edge analysis; a page without drawn lines has none.
                if page.rects or page.lines or page.curves:
                    for table in page.find_tables():
                        text = _table_text(table.extract())
                        if text:
                            boxes.append(table.bbox)
                            data.tables.append(_Table(number, table.bbox[1], text))
                data.lines = _lines(number, [w for w in words if not _inside(w, boxes)])
                pages.append(data)
                page.close()  # drop pdfplumber's per-page caches: long reports stay small
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise ValueError("PDF is encrypted (password required)") from None
    except Exception as exc:  # pdfminer raises many unrelated types on broken files
        if isinstance(exc.args[0] if exc.args else None, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise ValueError("PDF is encrypted (password required)") from None
        raise ValueError(f"PDF is truncated or damaged: {_short_reason(exc)}") from None
    title = meta_title if isinstance(meta_title, str) else None
    return pages, title


def _inside(word: dict[str, Any], boxes: list[tuple[float, float, float, float]]) -> bool:
    cx = (word["x0"] + word["x1"]) / 2
    cy = (word["top"] + word["bottom"]) / 2
    return any(b[0] - 1 <= cx <= b[2] + 1 and b[1] - 1 <= cy <= b[3] + 1 for b in boxes)


def _table_text(rows: list[list[str | None]]) -> str:
    """A real table (>= 2 rows and 2 columns) as ' | '-joined rows; '' for a framed box."""
    cleaned = [[" ".join(_clean(cell or "").split()) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if len(cleaned) < 2 or max(len(row) for row in cleaned) < 2:
        return ""  # a box drawn round a paragraph or a call-out, not a table
    return "\n".join(" | ".join(row) for row in cleaned)


def _lines(page: int, words: list[dict[str, Any]]) -> list[_Line]:
    """Group words into lines by vertical overlap, then read each line left to right."""
    # Rotated text is watermarks ("UNDER EMBARGO" across the page) and axis labels.
    words = [
        w
        for w in words
        if w.get("upright", True) and (_clean(w["text"]).strip() or _CID.fullmatch(w["text"]))
    ]
    words.sort(key=lambda w: (w["top"], w["x0"]))
    groups: list[list[dict[str, Any]]] = []
    spans: list[list[float]] = []
    for word in words:
        height = max(word["bottom"] - word["top"], 0.1)
        for i in range(len(groups) - 1, max(len(groups) - 3, -1), -1):
            top, bottom = spans[i]
            overlap = min(bottom, word["bottom"]) - max(top, word["top"])
            # Superscripts and mixed sizes overlap their line by far more than half.
            if overlap >= 0.5 * min(height, bottom - top):
                groups[i].append(word)
                spans[i] = [min(top, word["top"]), max(bottom, word["bottom"])]
                break
        else:
            groups.append([word])
            spans.append([word["top"], word["bottom"]])
    return [line for group in groups if (line := _make_line(page, group)) is not None]


def _make_line(page: int, words: list[dict[str, Any]]) -> _Line | None:
    """One line from its words; footnote reference marks (raised small digits) dropped."""
    sizes: Counter[float] = Counter()
    for w in words:
        sizes[round(w["size"], 1)] += len(w["text"])
    size = sizes.most_common(1)[0][0]
    main_bottom = max(w["bottom"] for w in words if round(w["size"], 1) == size)
    kept = [
        w
        for w in words
        if not (
            w["size"] <= 0.85 * size
            and re.fullmatch(r"[\d,*†‡]+", w["text"])
            and w["bottom"] < main_bottom - 0.15 * size
        )
    ]
    kept.sort(key=lambda w: w["x0"])
    parts: list[str] = []
    previous: dict[str, Any] | None = None
    for w in kept:
        # Words split only by a font change touch each other: no space between them.
        if previous is not None and w["x0"] - previous["x1"] > min(1.5, 0.15 * size):
            parts.append(" ")
        if previous is None and _CID.fullmatch(w["text"]):
            # A lone unmapped glyph opening a line is, in practice, a bullet drawn from a
            # symbol font without a Unicode map.
            parts.append("•")
        else:
            parts.append(_clean(w["text"]))
        previous = w
    text = " ".join("".join(parts).split())
    if not text:
        return None
    bold_chars = sum(len(w["text"]) for w in kept if _BOLD_FONT.search(w.get("fontname", "")))
    total = sum(len(w["text"]) for w in kept)
    return _Line(
        page=page,
        text=text,
        x0=min(w["x0"] for w in kept),
        x1=max(w["x1"] for w in kept),
        top=min(w["top"] for w in kept),
        bottom=max(w["bottom"] for w in kept),
        size=size,
        bold=bold_chars >= 0.9 * total,
    )


# --- classification ---------------------------------------------------------------------


def _mask(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _drop_furniture(pages: list[_Page]) -> None:
    """Remove running headers/footers, banners and page numbers from every page."""
    n = len(pages)
    need = 3 if n >= 6 else max(2, math.ceil(n / 2))
    seen: dict[str, set[int]] = defaultdict(set)
    for page in pages:
        for line in page.lines:
            if _in_margin(line, page):
                seen[_mask(line.text)].add(page.number)
    repeated = {key for key, where in seen.items() if len(where) >= need}
    for page in pages:
        page.lines = [
            line
            for line in page.lines
            if not is_furniture_line(line.text)
            and not (_in_margin(line, page) and _mask(line.text) in repeated)
        ]


def _in_margin(line: _Line, page: _Page) -> bool:
    band = MARGIN_BAND * (page.bottom - page.top)
    return line.top < page.top + band or line.bottom > page.bottom - band


def _body_size(pages: list[_Page]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0]


def _drop_footnotes(pages: list[_Page], body: float) -> None:
    """Remove footnotes: the small-font run at a page's bottom, from its first numbered line."""
    for page in pages:
        lines = sorted(page.lines, key=lambda line: line.top)
        start = len(lines)
        while start > 0 and lines[start - 1].size <= SMALL_RATIO * body:
            start -= 1
        if start == 0:
            continue  # a page set entirely in small type (an annex): not footnotes
        middle = page.top + 0.5 * (page.bottom - page.top)
        for i in range(start, len(lines)):
            if re.match(r"\d", lines[i].text) and lines[i].top > middle:
                page.lines = lines[:i]
                break
        else:
            page.lines = lines


def _heading_style(line: _Line, body: float) -> tuple[float, bool] | None:
    """The style key of a line that may be (part of) a heading, else None."""
    if sum(ch.isalpha() for ch in line.text) < 2:
        return None  # big numbers in infographics are not headings
    if line.size >= HEADING_RATIO * body:
        return (round(line.size * 2) / 2, line.bold)
    if line.bold and abs(line.size - body) <= 0.1 * body and len(line.text.split()) <= MAX_HEADING_WORDS:
        return (body, True)
    return None


def _is_heading(lines: list[_Line], style: tuple[float, bool], body: float) -> bool:
    """Whether a run of same-style lines reads as a heading rather than a paragraph."""
    text = _join_lines([line.text for line in lines])
    if text.endswith(".") and not text.endswith(".."):
        return False
    if style[0] >= HEADING_RATIO * body:
        return len(text.split()) <= MAX_LARGE_HEADING_WORDS
    return len(lines) <= 3


def _join_lines(lines: list[str]) -> str:
    """Join wrapped lines; a line-final hyphen before a lower-case word keeps no space."""
    out = ""
    for text in lines:
        if out and out[-1] == "-" and len(out) > 1 and out[-2].isalpha() and text[:1].islower():
            out += text
        elif out:
            out += " " + text
        else:
            out = text
    return out


# --- assembling blocks ------------------------------------------------------------------


@dataclass
class _Layout:
    """Document-wide measures used to split body lines into paragraphs."""

    body: float
    para_gap: float  # a vertical gap above this starts a new paragraph
    left: float
    right: float

    @classmethod
    def measure(cls, pages: list[_Page], body: float) -> "_Layout":
        gaps: Counter[float] = Counter()
        lefts: list[float] = []
        rights: list[float] = []
        for page in pages:
            previous: _Line | None = None
            for line in page.lines:
                if abs(line.size - body) <= 0.5:
                    lefts.append(line.x0)
                    rights.append(line.x1)
                    if previous is not None:
                        gap = line.top - previous.bottom
                        if 0 <= gap < 1.5 * body:
                            gaps[round(gap * 2) / 2] += 1
                    previous = line
                else:
                    previous = None
        line_gap = gaps.most_common(1)[0][0] if gaps else 0.25 * body
        lefts.sort()
        rights.sort()
        left = lefts[len(lefts) // 10] if lefts else 0.0
        right = rights[(len(rights) * 9) // 10] if rights else 0.0
        return cls(body, line_gap + max(0.3 * body, 2.0), left, right)

    def continues(self, para: _Para, line: _Line) -> bool:
        """Whether ``line`` carries on ``para`` rather than starting a new block."""
        last = para.lines[-1]
        if para.kind not in {"text", "list"} or abs(line.size - last.size) > 0.5:
            return False
        if _BULLET.match(line.text):
            return False
        if para.kind == "list" and line.x0 <= para.lines[0].x0 + 2:
            return False  # back at the bullet's margin: the item is over
        if line.page != last.page:
            # Only an unfinished sentence runs over a page break.
            return not _SENTENCE_END.search(last.text)
        if line.top - last.bottom > self.para_gap:
            return False
        ended = bool(_SENTENCE_END.search(last.text))
        short = self.right > self.left and last.x1 < self.right - 0.12 * (self.right - self.left)
        indented = line.x0 > last.x0 + 0.8 * self.body
        return not (ended and (short or indented))


def _items(pages: list[_Page]) -> list[_Line | _Table]:
    """All content lines and tables of the document in reading order."""
    out: list[_Line | _Table] = []
    for page in pages:
        entries: list[_Line | _Table] = [*page.lines, *page.tables]
        entries.sort(key=lambda item: item.top)
        out.extend(entries)
    return out


def _assemble(pages: list[_Page], body: float) -> list[tuple[_Para | _Table, int]]:
    """Headings, paragraphs, list items and tables, in reading order, with their pages."""
    layout = _Layout.measure(pages, body)
    items = _items(pages)

    # Group runs of same-style candidate lines (wrapped headings) first.
    runs: list[list[_Line]] = []
    styles: list[tuple[float, bool]] = []
    blocks: list[_Para | _Table] = []
    i = 0
    while i < len(items):
        item = items[i]
        style = _heading_style(item, body) if isinstance(item, _Line) else None
        if style is None:
            blocks.append(item if isinstance(item, _Table) else _Para("line", [item]))
            i += 1
            continue
        run = [item]
        j = i + 1
        while j < len(items):
            nxt = items[j]
            if (
                not isinstance(nxt, _Line)
                or nxt.page != run[-1].page
                or _heading_style(nxt, body) != style
                or nxt.top - run[-1].bottom > 0.8 * nxt.size
            ):
                break
            run.append(nxt)
            j += 1
        if _is_heading(run, style, body):
            blocks.append(_Para("heading", run))
            runs.append(run)
            styles.append(style)
        else:
            blocks.extend(_Para("line", [line]) for line in run)
        i = j

    ranked = sorted(set(styles), key=lambda s: (-s[0], not s[1]))
    level_of = {style: min(6, rank + 1) for rank, style in enumerate(ranked)}
    heading_levels = iter(level_of[s] for s in styles)

    result: list[tuple[_Para | _Table, int]] = []
    open_para: _Para | None = None

    def close() -> None:
        nonlocal open_para
        if open_para is not None and not _CAPTION.match(open_para.lines[0].text):
            result.append((open_para, open_para.lines[0].page))
        open_para = None

    for block in blocks:
        if isinstance(block, _Table):
            close()
            result.append((block, block.page))
        elif block.kind == "heading":
            close()
            block.level = next(heading_levels)
            result.append((block, block.lines[0].page))
        else:
            line = block.lines[0]
            if open_para is not None and layout.continues(open_para, line):
                open_para.lines.append(line)
            else:
                close()
                open_para = _Para("list" if _BULLET.match(line.text) else "text", [line])
    close()
    return result


# --- title ------------------------------------------------------------------------------


def _meaningful(title: str | None) -> str | None:
    """The metadata title unless it is empty, a file name or a template default."""
    if not title:
        return None
    title = " ".join("".join(ch for ch in title if ch.isprintable()).split())
    if sum(ch.isalpha() for ch in title) < 3 or _USELESS_TITLE.match(title):
        return None
    return title


def _first_page_title(pages: list[_Page]) -> str | None:
    """The largest-font text on page 1 (consecutive lines of that size joined)."""
    lines = sorted(pages[0].lines, key=lambda line: line.top) if pages else []
    lines = [line for line in lines if sum(ch.isalpha() for ch in line.text) >= 2]
    if not lines:
        return None
    biggest = max(line.size for line in lines)
    start = next(i for i, line in enumerate(lines) if abs(line.size - biggest) < 0.25)
    run = [lines[start]]
    for line in lines[start + 1 :]:
        if abs(line.size - biggest) >= 0.25 or line.top - run[-1].bottom > line.size:
            break
        run.append(line)
    return _join_lines([line.text for line in run])


# --- entry point ------------------------------------------------------------------------


def read_pdf(path: str) -> ParsedDocument:
    """Parse a PDF into content blocks with page numbers; raise ValueError if unreadable."""
    _check_file(path)
    pages, meta_title = _extract(path)
    warnings: list[str] = []
    if not any(page.lines or page.tables for page in pages):
        raise ValueError("PDF has no extractable text (scanned?)")
    empty = sum(1 for page in pages if not page.lines and not page.tables)
    if empty:
        warnings.append(f"{empty} of {len(pages)} pages have no extractable text (scanned?)")

    title = _meaningful(meta_title)
    _drop_furniture(pages)
    if not any(page.lines or page.tables for page in pages):
        raise ValueError("PDF has no extractable text beyond page furniture")
    body = _body_size(pages) if any(page.lines for page in pages) else 0.0
    _drop_footnotes(pages, body)
    title = title or _first_page_title(pages)

    blocks: list[Block] = []
    parts: list[str] = []
    offset = 0
    for item, page in _assemble(pages, body):
        text = item.text
        kind = "table" if isinstance(item, _Table) else item.kind
        level = item.level if isinstance(item, _Para) else 0
        if parts:
            offset += 2  # the "\n\n" separator
        blocks.append(Block(text, offset, offset + len(text), kind, level, page))
        parts.append(text)
        offset += len(text)
    return ParsedDocument(
        path=path, fmt="pdf", text="\n\n".join(parts), blocks=blocks, title=title, warnings=warnings
    )
