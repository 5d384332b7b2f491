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
import re
from collections import Counter, defaultdict
from dataclasses import dataclass


from ingest.furniture import is_furniture_line
from ingest.readers.pdf_layout import Line, Page, Table, check_file, extract
from ingest.records import Block, ParsedDocument

MARGIN_BAND = 0.08  # top/bottom share of the page where running headers/footers live
HEADING_RATIO = 1.15  # "clearly larger" than body
SMALL_RATIO = 0.88  # "clearly smaller" than body (footnotes)
MAX_HEADING_WORDS = 12  # per line, for bold body-size headings
MAX_LARGE_HEADING_WORDS = 30  # a large-font run longer than this is a lead paragraph

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


@dataclass
class _Para:
    """A block being assembled from lines."""

    kind: str
    lines: list[Line]
    level: int = 0

    @property
    def text(self) -> str:
        text = _join_lines([line.text for line in self.lines])
        # The bullet glyph is layout, not content; item numbers ("1.", "(a)") are kept.
        return _BULLET_GLYPH.sub("", text) if self.kind == "list" else text


# --- classification ---------------------------------------------------------------------


def _mask(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _drop_furniture(pages: list[Page]) -> None:
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


def _in_margin(line: Line, page: Page) -> bool:
    band = MARGIN_BAND * (page.bottom - page.top)
    return line.top < page.top + band or line.bottom > page.bottom - band


def _body_size(pages: list[Page]) -> float:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0]


def _drop_footnotes(pages: list[Page], body: float) -> None:
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


def _heading_style(line: Line, body: float) -> tuple[float, bool] | None:
    """The style key of a line that may be (part of) a heading, else None."""
    if sum(ch.isalpha() for ch in line.text) < 2:
        return None  # big numbers in infographics are not headings
    if line.size >= HEADING_RATIO * body:
        return (round(line.size * 2) / 2, line.bold)
    short = len(line.text.split()) <= MAX_HEADING_WORDS
    if line.bold and short and abs(line.size - body) <= 0.1 * body:
        return (body, True)
    return None


def _is_heading(lines: list[Line], style: tuple[float, bool], body: float) -> bool:
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
    def measure(cls, pages: list[Page], body: float) -> "_Layout":
        gaps: Counter[float] = Counter()
        lefts: list[float] = []
        rights: list[float] = []
        for page in pages:
            previous: Line | None = None
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

    def continues(self, para: _Para, line: Line) -> bool:
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


def _items(pages: list[Page]) -> list[Line | Table]:
    """All content lines and tables of the document in reading order."""
    out: list[Line | Table] = []
    for page in pages:
        entries: list[Line | Table] = [*page.lines, *page.tables]
        entries.sort(key=lambda item: item.top)
        out.extend(entries)
    return out


def _assemble(pages: list[Page], body: float) -> list[tuple[_Para | Table, int]]:
    """Headings, paragraphs, list items and tables, in reading order, with their pages."""
    layout = _Layout.measure(pages, body)
    items = _items(pages)

    # Runs of same-style candidate lines first: a wrapped heading is one heading.
    blocks: list[Line | Table | _Para] = []
    styles: list[tuple[float, bool]] = []
    i = 0
    while i < len(items):
        item = items[i]
        style = _heading_style(item, body) if isinstance(item, Line) else None
        if style is None:
            blocks.append(item)
            i += 1
            continue
        run = [item]
        i += 1
        while i < len(items):
            nxt = items[i]
            if (
                not isinstance(nxt, Line)
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

    result: list[tuple[_Para | Table, int]] = []
    open_para: _Para | None = None

    def close() -> None:
        nonlocal open_para
        if open_para is not None and not _CAPTION.match(open_para.lines[0].text):
            result.append((open_para, open_para.lines[0].page))
        open_para = None

    for block in blocks:
        if isinstance(block, Table):
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


def _first_page_title(pages: list[Page]) -> str | None:
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
    check_file(path)
    pages, meta_title, warnings = extract(path)
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
        kind = "table" if isinstance(item, Table) else item.kind
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
