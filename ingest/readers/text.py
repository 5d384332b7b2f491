"""Plain text, including text extracted from PDFs: headings are found from line shape.

PDF extraction leaves no markup. What it does leave: short lines where headings were
(wrapped questions over two or three lines), a run of spaces where the footnote rule
was, a single leading space on the first line of each page, and captions ("Figure 3: …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.furniture import is_furniture_line
from ingest.headings import (
    heading_level,
    is_caption,
    looks_like_heading,
    promote_period_parts,
)
from ingest.records import Block, ParsedDocument, alnum_key
from ingest.years import heading_years

_FOOTNOTE_RULE = re.compile(r"^[ \t]{10,}$")
_PAGE_START = re.compile(r"^ \S")  # first line of a page in pdftotext-style extracts
_NUMBER = re.compile(r"^\s*\d{1,2}\s*[.)]\s*")
_FOOTNOTE_LINE = re.compile(r"^\s*\d{1,3}\s+\S")
_BULLET_START = re.compile(r"^\s*([•▪●◦–-]|\d{1,2}\s*[.)])\s*\S")
# Width of a full body line; a wrapped heading line is clearly shorter.
_HEADING_LINE_MAX = 68


@dataclass
class _Line:
    text: str  # without the newline
    start: int
    end: int
    kind: str = "content"  # content | blank | furniture | footnote | caption

    @property
    def stripped(self) -> str:
        return self.text.strip()


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        out.append(_Line(body, pos, pos + len(body)))
        pos += len(raw)
    return out


def _classify(lines: list[_Line]) -> None:
    """Mark blank lines, furniture, footnote areas and figure captions in place."""
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        s = line.stripped
        if _FOOTNOTE_RULE.match(line.text):
            line.kind = "furniture"
            i = _mark_footnotes(lines, i + 1)
            continue
        if not s:
            line.kind = "blank"
        elif is_furniture_line(s):
            line.kind = "furniture"
        elif is_caption(s):
            # A caption runs to the next blank line.
            while i < n and lines[i].stripped:
                lines[i].kind = "caption"
                i += 1
            continue
        i += 1


def _mark_footnotes(lines: list[_Line], i: int) -> int:
    """Footnotes sit below the rule until the next page starts; return the index after them."""
    n = len(lines)
    limit = min(n, i + 60)
    j = i
    while j < limit:
        line = lines[j]
        s = line.stripped
        if _PAGE_START.match(line.text) and j > i:
            return j
        if not s:
            nxt = next((lines[k] for k in range(j + 1, limit) if lines[k].stripped), None)
            if nxt is None:
                return j
            ns = nxt.stripped
            if not (_FOOTNOTE_LINE.match(ns) or is_furniture_line(ns) or _PAGE_START.match(nxt.text)):
                return j
            line.kind = "blank"
        elif j == i and not _FOOTNOTE_LINE.match(s):
            return j  # a rule with no footnote below it
        else:
            line.kind = "footnote" if not is_furniture_line(s) else "furniture"
        j += 1
    return j


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    """Runs of content lines; anything else ends a run."""
    paras: list[list[_Line]] = []
    cur: list[_Line] = []
    for line in lines:
        if line.kind == "content":
            # A new page may open with a heading, and a bullet starts a new item: both end
            # the run (a paragraph that simply continues is packed back together later).
            if cur and (_PAGE_START.match(line.text) or (_BULLET_START.match(line.text) and not _BULLET_START.match(cur[0].text))):
                paras.append(cur)
                cur = []
            cur.append(line)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    return paras


def _join(lines: list[_Line]) -> str:
    return " ".join(" ".join(line.text.split()) for line in lines if line.stripped)


def _heading_prefix(para: list[_Line]) -> int:
    """How many leading lines of a paragraph form a heading (0 if none)."""
    # A question wrapped over up to three short lines comes first …
    for n in range(1, min(3, len(para)) + 1):
        lead = para[:n]
        joined = _join(lead)
        if joined.endswith("?"):
            # Each wrapped line of a heading is short; body lines run the full width.
            short = all(len(line.stripped) <= _HEADING_LINE_MAX for line in lead)
            if looks_like_heading(joined) and (short or n == len(para)):
                return n
            return 0
        if re.search(r"[.:;!]\s*$", joined):
            break
    # … then a one-line title, alone or followed by a sentence.
    first = para[0]
    if looks_like_heading(first.stripped):
        rest = para[1:]
        if not rest or (len(first.stripped) <= _HEADING_LINE_MAX and _starts_sentence(rest[0])):
            return 1
    return 0


def _starts_sentence(line: _Line) -> bool:
    s = line.stripped
    return bool(s) and (s[0].isupper() or s[0].isdigit() or s[0] in "‘'\"“•")


def read_text(path: str, text: str, fmt: str = "txt") -> ParsedDocument:
    """Parse plain text into heading and paragraph blocks with offsets into ``text``."""
    lines = _lines(text)
    _classify(lines)
    paragraphs = _paragraphs(lines)
    listed = frozenset(
        alnum_key(_NUMBER.sub("", _join(p), count=1)) for p in paragraphs if _NUMBER.match(p[0].text)
    )
    blocks: list[Block] = []
    for para in paragraphs:
        k = _heading_prefix(para)
        if k:
            head = para[:k]
            title = _join(head)
            blocks.append(Block(title, head[0].start, head[-1].end, "heading", heading_level(title, listed)))
            para = para[k:]
        if para:
            body = _join(para)
            kind = "list" if _BULLET_START.match(para[0].text) else "text"
            first = next(line for line in para if line.stripped)
            start = first.start + (len(first.text) - len(first.text.lstrip()))
            last = para[-1]
            end = last.start + len(last.text.rstrip())
            blocks.append(Block(body, start, end, kind))
    promote_period_parts(blocks, heading_years)
    return ParsedDocument(path=path, fmt=fmt, text=text, blocks=blocks)
