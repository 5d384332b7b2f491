"""Heading rules shared by the readers that see no markup (plain text extracted from PDFs).

Inspection reports have a recognisable shape: top-level parts (Introduction, Overview,
the core inspection questions "How effective is the force at …?", Next steps, Annex),
sub-questions ("How effectively does the force …?"), and short topic headings
("Supporting victims"). Levels follow that shape rather than typography, which plain
text has lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.records import Block, alnum_key

GRADES = {"outstanding", "good", "requires improvement", "inadequate", "ungraded", "narrative"}

_TOP_LEVEL = re.compile(
    r"^(introduction|overview|contents|table of contents|overall summary|"
    r"next steps|conclusions?|annex|appendix|foreword|glossary|recommendations|"
    r"force in numbers|force in context|about (this|the) (report|inspection)|"
    r"priority \d+\b|what this report contains)",
    re.I,
)
# A core inspection question: "How effective is the force at …?", "How efficient are …?"
_CORE_QUESTION = re.compile(r"^how (effective|efficient|legitimate)\w* (is|are) (the )?(force|police|constabulary) (at|in)\b", re.I)
_BULLET = re.compile(r"^\s*([•\-–*▪●◦]|\(?\d+[.)]|\(?[a-z][.)]\s)")
_DATE_LINE = re.compile(
    r"^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)?,?\s*"
    r"(\d{1,2}\s+)?(january|february|march|april|may|june|july|august|september|october|november|december)"
    r"\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{4}$|^\d{1,2}/\d{1,2}/\d{2,4}$|^last updated\b|"
    r"^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)$",
    re.I,
)
_FIGURE = re.compile(r"^\s*(figure|chart|graph|map|table|image)\s+\d+[a-z]?\s*[:.–-]", re.I)

MAX_HEADING_WORDS = 22
# A part's dated heading may carry a subtitle or an embargo line before its first part.
_PART_WINDOW = 4
_PART_PREAMBLE_CHARS = 200
_CONTINUES = {"and", "or", "of", "the", "a", "an", "in", "to", "for", "with", "by", "on", "at", "from", "as", "than", "that"}


_GRADE_CELL = re.compile(r"^(no|\d+) (recommendations?|areas? for improvement)$")


def is_grade(text: str) -> bool:
    """A judgment or a grades-table cell ("Good", "No recommendations"), not prose."""
    t = " ".join(text.lower().split()).rstrip(".")
    return t in GRADES or bool(_GRADE_CELL.match(t))


def is_date_line(text: str) -> bool:
    """A dateline or a "Last updated" line, not prose or a heading."""
    return bool(_DATE_LINE.match(text.strip()))


def is_part_name(text: str) -> bool:
    """A generic part of a report ("Introduction", "Contents", "Annex A"), no one report's name."""
    return bool(_TOP_LEVEL.match(text.strip()))


def is_caption(line: str) -> bool:
    """'Figure 3: …' style captions."""
    return bool(_FIGURE.match(line))


def looks_like_heading(text: str) -> bool:
    """Could this (joined, whitespace-normalised) text be a heading at all?"""
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS:
        return False
    first = text.lstrip()[0]
    if not (first.isupper() or first.isdigit()):
        return False
    if _BULLET.match(text) or is_grade(text) or is_date_line(text) or is_caption(text):
        return False
    if re.search(r"\?\s+\S", text):  # "Question?  Good": a row of a grades table
        return False
    if re.search(r"https?:|www\.|\.pdf\b|\.html?\b", text, re.I):
        return False
    if text.rstrip().endswith("?"):
        return True
    if re.search(r"[.,;:!)\]\"”’]\s*$", text):  # ends like a sentence or a fragment
        return False
    if re.search(r"\d[\d,.]*\s*%?$", text) and len(words) > 2:  # a table row of figures
        return False
    if len(words) > 10:
        return False
    if words[-1].lower() in _CONTINUES:  # the line wraps on: a table header or a sentence
        return False
    if re.search(r"[A-Za-z]/[A-Za-z0-9]|\s/\s", text):  # paths and "type / group" table headers
        return False
    # Most words in a heading are letters, not figures.
    words = [w for w in words if re.search(r"\w", w)]  # dashes and ampersands are not words
    alpha = sum(1 for w in words if re.search(r"[A-Za-z]", w))
    return bool(words) and alpha >= max(1, len(words) - 1)


def promote_period_parts(blocks: list[Block], years_of: Callable[[str], tuple[int, ...]]) -> None:
    """Make dated headings that open runs of parts parts of a higher order (level 0).

    A page holding several inspections of one force reads "PEEL 2016: police
    effectiveness", then "Introduction", "Overview" …; then "PEEL 2018/19", then its own
    parts. Guessed levels would make each dated heading a topic heading that the next part
    closes, and every passage would lose its inspection's year. It takes two such headings
    of different years: one alone is more likely a table row or a title than a period.
    ``years_of(text)`` gives the years a heading dates what follows it with (none for a
    look-back such as "since 2015").
    """
    opening: list[Block] = []
    for i, block in enumerate(blocks):
        if block.kind != "heading" or block.level < 1 or not years_of(block.text):
            continue
        for nxt in blocks[i + 1 : i + 1 + _PART_WINDOW]:
            if nxt.kind == "heading" and nxt.level == 1:
                opening.append(block)
                break
            if nxt.kind != "heading" and len(nxt.text) > _PART_PREAMBLE_CHARS:
                break
    if len({years_of(b.text) for b in opening}) >= 2:
        for block in opening:
            block.level = 0


def heading_level(text: str, listed: frozenset[str] = frozenset()) -> int:
    """1 for parts and core questions, 2 for other questions, 3 for topic headings.

    ``listed`` holds the alnum keys of numbered list items in the document: a report that
    enumerates its core questions early on ("1. How effective is …?") uses them as parts.
    """
    t = text.strip()
    if _TOP_LEVEL.match(t) or _CORE_QUESTION.match(t) or (t.endswith("?") and alnum_key(t) in listed):
        return 1
    if t.endswith("?"):
        return 2
    return 3
