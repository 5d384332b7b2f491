"""PDF reader: an inspection report PDF to content blocks, with page numbers.

pdfplumber (on pdfminer.six) opens the file and interprets each page once; the glyphs of
its pdfminer layout, with font name and size, are grouped into lines. The rest is layout
reasoning over the whole document:

* body size = the most common font size, by character count;
* furniture = lines in the top/bottom margin band whose text (digits masked) repeats on
  several pages, plus whatever ``is_furniture_line`` recognises (banners, page numbers);
* footnotes = the run of small-font lines at the page bottom, from the first one that
  starts with a digit;
* headings = runs of lines clearly larger than body (>= 1.15x), or bold at body size and
  short; levels rank the distinct heading styles by size (largest = 1);
* tables = pdfplumber's table finder, fed the ruling lines of the layout; their glyphs
  are not read again as lines;
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
from operator import attrgetter
from typing import Any, NamedTuple

import pdfplumber
from pdfminer.layout import LTChar, LTCurve, LTFigure, LTPage, LTRect
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
_MARK_CHARS = set("0123456789,*†‡")
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
# A list item opens with a bullet glyph, "1." / "2)", "(a)" / "(iv)", or "a." / "b)".
_BULLET = re.compile(r"^([•●▪◦‣∙·■□➢►–—*-]|\(?\d{1,2}[.)]|\([a-z0-9]{1,3}\)|[a-z][.)])\s")
_BULLET_GLYPH = re.compile(r"^[•●▪◦‣∙·■□➢►–—*-]\s+")
_CAPTION = re.compile(
    r"^\s*(figure|fig\.|chart|graph|diagram|image|map)\s*\d+[a-z]?\s*[:.\-–—]", re.I
)
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_USELESS_TITLE = re.compile(
    r"^(untitled.*|document\d*|microsoft (word|powerpoint|excel)\b.*|powerpoint presentation"
    r"|slide \d+|.*\.(docx?|pdf|pptx?|xlsx?|indd|rtf|odt|qxp)|[\w\-]+_[\w\-_]+|[\d\W_]+)$",
    re.I,
)


_BBox = tuple[float, float, float, float]  # x0, top, x1, bottom


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
    marked: bool = False  # opens with a raised number, as a footnote does


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
    rotated: int = 0  # glyphs skipped because they do not run left to right


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


class _Char(NamedTuple):
    """A glyph in page coordinates measured from the top, as pdfplumber does."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool


def _extract(path: str) -> tuple[list[_Page], str | None, list[str]]:
    """Read every page's glyphs, and its ruled tables, once.

    Glyphs come straight from the pdfminer layout pdfplumber computes (``page.layout``):
    building pdfplumber's per-character dicts (``page.chars``, which ``extract_words`` and
    the default table finder rely on) costs about three times the PDF interpretation
    itself, which would make a 100-page report take many seconds.
    """
    pages: list[_Page] = []
    warnings: list[str] = []
    failed = 0
    try:
        with pdfplumber.open(path) as pdf:
            meta_title = pdf.metadata.get("Title")
            for number, page in enumerate(pdf.pages, start=1):
                try:
                    layout = page.layout
                except Exception as exc:  # one damaged content stream: keep the rest
                    failed += 1
                    warnings.append(f"page {number} could not be read: {_short_reason(exc)}")
                    pages.append(_Page(number, 0.0, float(page.height)))
                    continue
                pages.append(_read_page(page, layout, number))
                page.close()  # drop pdfplumber's per-page caches: long reports stay small
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise ValueError("PDF is encrypted (password required)") from None
    except Exception as exc:  # pdfminer raises many unrelated types on broken files
        cause = exc.args[0] if exc.args else None  # pdfplumber wraps pdfminer's errors
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise ValueError("PDF is encrypted (password required)") from None
        raise ValueError(f"PDF is truncated or damaged: {_short_reason(exc)}") from None
    if pages and failed == len(pages):
        raise ValueError(f"PDF is truncated or damaged: {warnings[0].split(': ', 1)[1]}")
    title = meta_title if isinstance(meta_title, str) else None
    return pages, title, warnings


def _read_page(page: Any, layout: LTPage, number: int) -> _Page:
    """Glyphs and drawn edges of one page; ruled tables cut out as table blocks."""
    height = layout.y1
    chars: list[_Char] = []
    edges: list[dict[str, Any]] = []
    bold_font: dict[str, bool] = {}
    rotated = 0
    stack: list[Any] = [layout]
    while stack:
        for obj in stack.pop():
            if isinstance(obj, LTChar):
                text = obj.get_text()
                if text.isspace():
                    continue  # spaces are restored from the gaps between glyphs
                # Rotated text is watermarks ("UNDER EMBARGO" across the page) and chart
                # axis labels, never running prose.
                if not obj.upright:
                    rotated += 1
                    continue
                font = obj.fontname
                if font not in bold_font:
                    bold_font[font] = bool(_BOLD_FONT.search(font))
                top, bottom = height - obj.y1, height - obj.y0
                chars.append(_Char(text, obj.x0, obj.x1, top, bottom, obj.size, bold_font[font]))
            elif isinstance(obj, LTCurve):  # LTLine and LTRect are curves too
                edges.extend(_edges(obj, height))
            elif isinstance(obj, LTFigure):  # form XObjects hold text as well
                stack.append(obj)
    data = _Page(number, 0.0, height, rotated=rotated)
    boxes: list[_BBox] = []
    for bbox, text in _tables(page, chars, edges):
        boxes.append(bbox)
        data.tables.append(_Table(number, bbox[1], text))
    if boxes:
        chars = [c for c in chars if not any(_inside(c, box) for box in boxes)]
    data.lines = _lines(number, chars)
    return data


def _edges(obj: LTCurve, height: float) -> list[dict[str, Any]]:
    """Horizontal and vertical edges of a drawn path, as pdfplumber's table finder wants."""
    if isinstance(obj, LTRect):
        x0, y0, x1, y1 = obj.bbox
        points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    else:
        points = list(obj.pts or [])
    out: list[dict[str, Any]] = []
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        if abs(ay - by) < 0.5:
            orientation = "h"
        elif abs(ax - bx) < 0.5:
            orientation = "v"
        else:
            continue  # diagonal strokes are chart lines, not table rules
        top, bottom = height - max(ay, by), height - min(ay, by)
        out.append(
            {
                "object_type": "line_edge",
                "orientation": orientation,
                "x0": min(ax, bx),
                "x1": max(ax, bx),
                "top": top,
                "bottom": bottom,
                "doctop": top,
                "width": abs(ax - bx),
                "height": bottom - top,
            }
        )
    return out


def _tables(page: Any, chars: list[_Char], edges: list[dict[str, Any]]) -> list[tuple[_BBox, str]]:
    """Ruled tables found by pdfplumber's table finder, from edges read off the layout."""
    vertical = [e for e in edges if e["orientation"] == "v" and e["height"] >= 3]
    horizontal = [e for e in edges if e["orientation"] == "h" and e["width"] >= 3]
    if len(vertical) < 3 or len(horizontal) < 3:
        return []  # fewer rules than the smallest 2 x 2 grid
    settings = {
        "vertical_strategy": "explicit",
        "horizontal_strategy": "explicit",
        "explicit_vertical_lines": vertical,
        "explicit_horizontal_lines": horizontal,
    }
    try:
        tables = page.find_tables(table_settings=settings)
    except Exception:  # best effort: a table finder failure must not cost the page's text
        return []
    found = []
    for table in tables:
        in_table = [c for c in chars if _inside(c, table.bbox)]
        rows = []
        for row in table.rows:
            in_row = [c for c in in_table if _inside(c, row.bbox)]
            cells = []
            for cell in row.cells:
                inside = [c for c in in_row if _inside(c, cell)] if cell is not None else []
                cells.append(" ".join(line.text for line in _lines(0, inside)))
            rows.append(cells)
        text = _table_text(rows)
        if text:
            found.append((table.bbox, text))
    return found


def _inside(char: _Char, box: _BBox) -> bool:
    cx = (char.x0 + char.x1) / 2
    cy = (char.top + char.bottom) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _table_text(rows: list[list[str]]) -> str:
    """A real table (>= 2 rows and 2 columns) as ' | '-joined rows; '' for a framed box."""
    cleaned = [row for row in rows if any(row)]
    if len(cleaned) < 2 or max(len(row) for row in cleaned) < 2:
        return ""  # a box drawn round a paragraph or a call-out, not a table
    return "\n".join(" | ".join(row) for row in cleaned)


def _lines(page: int, chars: list[_Char]) -> list[_Line]:
    """Group glyphs into lines by vertical overlap, then read each line left to right."""
    groups: list[list[_Char]] = []
    tops: list[float] = []
    bottoms: list[float] = []
    for char in sorted(chars, key=attrgetter("top", "x0")):
        top, bottom = char.top, char.bottom
        height = bottom - top
        # Sorted by top, a glyph can only belong to one of the last two lines (the
        # previous one when it is a raised superscript that sorted early).
        for i in (-1, -2)[: len(groups)]:
            line_top, line_bottom = tops[i], bottoms[i]
            overlap = min(line_bottom, bottom) - max(line_top, top)
            # Superscripts and mixed sizes overlap their line by far more than half.
            if overlap >= 0.5 * min(height, line_bottom - line_top):
                groups[i].append(char)
                if top < line_top:
                    tops[i] = top
                if bottom > line_bottom:
                    bottoms[i] = bottom
                break
        else:
            groups.append([char])
            tops.append(top)
            bottoms.append(bottom)
    return [line for group in groups if (line := _make_line(page, group)) is not None]


def _make_line(page: int, chars: list[_Char]) -> _Line | None:
    """One line from its glyphs, spaces restored from gaps; footnote marks dropped."""
    sizes: Counter[float] = Counter(round(c.size, 1) for c in chars)
    size = sizes.most_common(1)[0][0]
    base = max(c.bottom for c in chars if round(c.size, 1) == size)
    raised_below = base - 0.15 * size
    small = 0.85 * size
    gap = 0.12 * size
    chars.sort(key=attrgetter("x0"))
    parts: list[str] = []
    previous: _Char | None = None
    marked = False  # the line opens with a raised footnote number (a footnote itself)
    n_bold = n_kept = 0
    x0 = x1 = top = bottom = 0.0
    for c in chars:
        if c.size <= small and c.bottom < raised_below and c.text in _MARK_CHARS:
            # Raised small digits are footnote references; left in, they glue onto the
            # word before them ("crime1") and spoil search.
            marked = marked or previous is None
            continue
        if previous is None:
            x0, top, bottom = c.x0, c.top, c.bottom
            # A lone unmapped glyph opening a line is, in practice, a bullet drawn from a
            # symbol font without a Unicode map.
            parts.append("• " if _CID.fullmatch(c.text) else c.text)
        else:
            same_spot = abs(c.x0 - previous.x0) < 1 and abs(c.top - previous.top) < 1
            if c.text == previous.text and same_spot:
                continue  # the same glyph printed twice (fake bold)
            if c.x0 - previous.x1 > gap:
                parts.append(" ")
            parts.append(c.text)
            if c.top < top:
                top = c.top
            if c.bottom > bottom:
                bottom = c.bottom
        if c.x1 > x1:
            x1 = c.x1
        n_kept += 1
        n_bold += c.bold
        previous = c
    text = " ".join(_clean("".join(parts)).split())
    if not text:
        return None
    return _Line(page, text, x0, x1, top, bottom, size, n_bold >= 0.9 * n_kept, marked)


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
            if (lines[i].marked or re.match(r"\d", lines[i].text)) and lines[i].top > middle:
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
    short = len(line.text.split()) <= MAX_HEADING_WORDS
    if line.bold and short and abs(line.size - body) <= 0.1 * body:
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

    # Runs of same-style candidate lines first: a wrapped heading is one heading.
    blocks: list[_Line | _Table | _Para] = []
    styles: list[tuple[float, bool]] = []
    i = 0
    while i < len(items):
        item = items[i]
        style = _heading_style(item, body) if isinstance(item, _Line) else None
        if style is None:
            blocks.append(item)
            i += 1
            continue
        run = [item]
        i += 1
        while i < len(items):
            nxt = items[i]
            if (
                not isinstance(nxt, _Line)
                or nxt.page != run[-1].page
                or _heading_style(nxt, body) != style
                or nxt.top - run[-1].bottom > 0.8 * nxt.size
            ):
                break
            run.append(nxt)
            i += 1
        if _is_heading(run, style, body):
            blocks.append(_Para("heading", run))
            styles.append(style)
        else:
            blocks.extend(run)

    # Heading levels rank the distinct heading styles: larger first, bold before regular.
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
        elif isinstance(block, _Para):
            close()
            block.level = next(heading_levels)
            result.append((block, block.lines[0].page))
        elif open_para is not None and layout.continues(open_para, block):
            open_para.lines.append(block)
        else:
            close()
            open_para = _Para("list" if _BULLET.match(block.text) else "text", [block])
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
    pages, meta_title, warnings = _extract(path)
    sideways = [page.number for page in pages if page.rotated > 50 and not page.lines]
    if not any(page.lines or page.tables for page in pages):
        if sideways:
            raise ValueError("PDF text all runs sideways (rotated pages); not read")
        raise ValueError("PDF has no extractable text (scanned?)")
    if sideways:
        warnings.append(f"pages with sideways text skipped: {', '.join(map(str, sideways))}")
    empty = sum(1 for p in pages if not p.lines and not p.tables and p.number not in sideways)
    if empty:
        warnings.append(f"{empty} of {len(pages)} pages have no extractable text (scanned?)")

    title = _meaningful(meta_title)
    _drop_furniture(pages)
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
    if not blocks:
        raise ValueError("PDF has no extractable text beyond page furniture")
    if title is None:
        title = next((b.text for b in blocks if b.kind == "heading"), None)
    return ParsedDocument(
        path=path, fmt="pdf", text="\n\n".join(parts), blocks=blocks, title=title, warnings=warnings
    )
