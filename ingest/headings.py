"""Heading rules shared by the readers that see no markup (plain text extracted from PDFs).

Inspection reports have a recognisable shape: top-level parts (Introduction, Overview,
the core inspection questions "How effective is the force at …?", Next steps, Annex),
sub-questions ("How effectively does the force …?"), and short topic headings
("Supporting victims"). Levels follow that shape rather than typography, which plain
text has lost.
"""

from __future__ import annotations

import re

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
_CONTINUES = {"and", "or", "of", "the", "a", "an", "in", "to", "for", "with", "by", "on", "at", "from", "as", "than", "that"}


_GRADE_CELL = re.compile(r"^(no|\d+) (recommendations?|areas? for improvement)$")


def is_grade(text: str) -> bool:
    """A judgment or a grades-table cell ("Good", "No recommendations"), not prose."""
    t = " ".join(text.lower().split()).rstrip(".")
    return t in GRADES or bool(_GRADE_CELL.match(t))


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
    if _BULLET.match(text) or is_grade(text) or _DATE_LINE.match(text.strip()) or is_caption(text):
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


def heading_level(text: str, listed: frozenset[str] = frozenset()) -> int:
    """1 for parts and core questions, 2 for other questions, 3 for topic headings.

    ``listed`` holds the alnum keys of numbered list items in the document: a report that
    enumerates its core questions early on ("1. How effective is …?") uses them as parts.
    """
    from ingest.records import alnum_key

    t = text.strip()
    if _TOP_LEVEL.match(t) or _CORE_QUESTION.match(t) or (t.endswith("?") and alnum_key(t) in listed):
        return 1
    if t.endswith("?"):
        return 2
    return 3
