"""PDF extraction: pdfplumber opens the file and interprets each page once; the glyphs of
its pdfminer layout, with font name and size, become text lines and tables of a page, the
facts `ingest.readers.pdf` reasons over."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple

import pdfplumber
from pdfminer.layout import LTChar, LTCurve, LTFigure, LTPage, LTRect
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

_CID = re.compile(r"\(cid:\d+\)")
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_MARK_CHARS = set("0123456789,*†‡")

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom


@dataclass
class Line:
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
class Table:
    page: int
    top: float
    text: str


@dataclass
class Page:
    number: int
    top: float
    bottom: float
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    rotated: int = 0  # glyphs skipped because they do not run left to right


# --- opening and extraction -------------------------------------------------------------


def check_file(path: str) -> None:
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


class Char(NamedTuple):
    """A glyph in page coordinates measured from the top, as pdfplumber does."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool


def extract(path: str) -> tuple[list[Page], str | None, list[str]]:
    """Read every page's glyphs, and its ruled tables, once.

    Glyphs come straight from the pdfminer layout pdfplumber computes (``page.layout``):
    building pdfplumber's per-character dicts (``page.chars``, which ``extract_words`` and
    the default table finder rely on) costs about three times the PDF interpretation
    itself, which would make a 100-page report take many seconds.
    """
    pages: list[Page] = []
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
                    pages.append(Page(number, 0.0, float(page.height)))
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


def _read_page(page: Any, layout: LTPage, number: int) -> Page:
    """Glyphs and drawn edges of one page; ruled tables cut out as table blocks."""
    height = layout.y1
    chars: list[Char] = []
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
                chars.append(Char(text, obj.x0, obj.x1, top, bottom, obj.size, bold_font[font]))
            elif isinstance(obj, LTCurve):  # LTLine and LTRect are curves too
                edges.extend(_edges(obj, height))
            elif isinstance(obj, LTFigure):  # form XObjects hold text as well
                stack.append(obj)
    data = Page(number, 0.0, height, rotated=rotated)
    boxes: list[BBox] = []
    for bbox, text in _tables(page, chars, edges):
        boxes.append(bbox)
        data.tables.append(Table(number, bbox[1], text))
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


def _tables(page: Any, chars: list[Char], edges: list[dict[str, Any]]) -> list[tuple[BBox, str]]:
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


def _inside(char: Char, box: BBox) -> bool:
    cx = (char.x0 + char.x1) / 2
    cy = (char.top + char.bottom) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _table_text(rows: list[list[str]]) -> str:
    """A real table (>= 2 rows and 2 columns) as ' | '-joined rows; '' for a framed box."""
    cleaned = [row for row in rows if any(row)]
    if len(cleaned) < 2 or max(len(row) for row in cleaned) < 2:
        return ""  # a box drawn round a paragraph or a call-out, not a table
    return "\n".join(" | ".join(row) for row in cleaned)


def _lines(page: int, chars: list[Char]) -> list[Line]:
    """Group glyphs into lines by vertical overlap, then read each line left to right."""
    groups: list[list[Char]] = []
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


def _make_line(page: int, chars: list[Char]) -> Line | None:
    """One line from its glyphs, spaces restored from gaps; footnote marks dropped."""
    sizes: Counter[float] = Counter(round(c.size, 1) for c in chars)
    size = sizes.most_common(1)[0][0]
    base = max(c.bottom for c in chars if round(c.size, 1) == size)
    raised_below = base - 0.15 * size
    small = 0.85 * size
    gap = 0.12 * size
    chars.sort(key=attrgetter("x0"))
    parts: list[str] = []
    previous: Char | None = None
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
    return Line(page, text, x0, x1, top, bottom, size, n_bold >= 0.9 * n_kept, marked)


