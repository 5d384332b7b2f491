"""Years as inspection reports write them, and the years a passage or a document speaks of.

Written by hand rather than with a date library: dateparser and its kin read "2018/19" as
a day and a month and turn amounts and counts into dates, while reports need the
financial-year forms, ranges and the rejection of numbers that only look like years.

- ``year_spans`` / ``years_in``: every year expression in a text, with its span.
- ``section_years``: the years a heading path dates its passages with.
- ``passage_years``: a chunk's years, from its text and its headings.
- ``document_period``: first–last year a document without a manifest speaks of.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ingest.records import DocumentMeta

FIRST_YEAR, LAST_YEAR = 1990, 2035
MAX_SPAN = 10  # a range longer than this is two endpoints, not every year between

_Y = r"(?:199\d|20[0-2]\d|203[0-5])"
_TAIL = r"(\d{4}|\d{2})(?![\d,.]?\d)"
_DASH = r"\s*[/–—‐-]\s*"

_ISO_DATE = re.compile(rf"\b({_Y})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b")
_FINANCIAL = re.compile(rf"\bFY\s?'?(\d{{4}}|\d{{2}})(?:{_DASH}{_TAIL})?\b", re.I)
_WORD_RANGE = re.compile(
    rf"\b(?:(?:between|from)\s+({_Y})\s+(?:and|to|until|till|through)|({_Y})\s+(?:to|until|till|through))\s+({_Y})\b",
    re.I,
)
# "2013/14 to 2017/18": a run of financial years.
_FINANCIAL_RANGE = re.compile(rf"\b({_Y}){_DASH}\d{{2}}\s+(?:to|until|through|–|-)\s+({_Y}){_DASH}(\d{{2}})\b")
_SHORT_RANGE = re.compile(rf"\b({_Y}){_DASH}{_TAIL}")
_YEAR = re.compile(rf"\b({_Y})\b")
# The anchor itself ("this year") adds nothing the passage's section does not already say;
# "the last year" is the twelve months to now, not the year before.
_RELATIVE = re.compile(
    r"\b(?:(?<!the )(?<!past )(?<!over )(last)\s+year|(?:the\s+)?(previous|preceding)\s+year|the\s+year\s+(before)|"
    r"a\s+year\s+(earlier)|(this|current)\s+year|(next)\s+year|the\s+(following|coming)\s+year)\b",
    re.I,
)
_OFFSET = {"last": -1, "previous": -1, "preceding": -1, "before": -1, "earlier": -1,
           "this": 0, "current": 0, "next": 1, "following": 1, "coming": 1}

# What a number that looks like a year is when it is not one.
_BEFORE_NOT_YEAR = re.compile(
    r"(?:[£$€]\s?|\d[,.]|[+#]|\b(?:pp?|nos?|art|figs?|paras?|refs?)\.\s*|\b(?:pages?|paragraphs?|sections?|"
    r"figures?|tables?|chapters?|annex(?:es)?|appendix|appendices|notes?|footnotes?|numbers?|ref|reference|id|"
    r"tel|telephone|phone|dial|ext|extension|room|items?|lines?|rows?|columns?|version|code|clause|"
    r"rule|regulation|article|schedule|Act|Regulations),?\s*|"
    r"\b(?:(?:re-?)?published|updated|accessed|retrieved|copyright)\b:?\s+(?:on\s+)?"
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]|\d{1,2}(?:st|nd|rd|th)?\s+)?"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\s+)?|©\s?)$",
    re.I,
)
_AFTER_NOT_YEAR = re.compile(
    r"^(?:[,.]\d|/\d|\s?%|\s?(?:per\s?cent|percent|pc)\b|\s+(?:million|billion|thousand|bn|m|k)\b|"
    r"\s+(?:officers|staff|PCSOs|people|persons|crimes|offences|offenders|incidents|calls|victims|"
    r"cases|arrests|hours|hrs|minutes|mins|seconds|days|weeks|km|miles|metres|vehicles|members|"
    r"employees|posts|referrals|children|adults|records|GMT|BST)\b)",
    re.I,
)
# A dateline ("Tuesday, January 31, 2023") dates the page, not what it says.
_DATELINE_MAX = 48
_DATELINE = re.compile(r"^\W*(?:mon|tues|wednes|thurs|fri|satur|sun)day\b[\w ,.]{0,30}$", re.I)
# A digit group that opens a phone number ("0300 123 2016", "+44 …") makes its run one.
_PHONE_BEFORE = re.compile(r"(?:\b0\d+|\+\d+)(?:[ -]\d+)*[ -]$")
# A heading that names a year only to look back ("since 2015", "compared with 2014") does
# not date its section: its years add to the ones above it.
_LOOKING_BACK = re.compile(r"\b(?:since|compared\s+(?:with|to)|than|after|before|from)\s+(?:\S+\s+){0,3}?$", re.I)


@dataclass(frozen=True)
class YearSpan:
    """One year expression: ``text[start:end]`` and the years it names, in order."""

    start: int
    end: int
    years: tuple[int, ...]
    kind: str  # "year" | "range" | "financial" | "relative"


def _full(tail: str, first: int) -> int:
    """'19' after 2018 → 2019; a four-digit tail is already a year."""
    if len(tail) == 4:
        return int(tail)
    year = first // 100 * 100 + int(tail)
    return year + 100 if year < first else year


def _span_years(a: int, b: int) -> tuple[int, ...] | None:
    """Every year from a to b; just the two ends past ``MAX_SPAN``; None when b is not after a."""
    if not (FIRST_YEAR <= a < b <= LAST_YEAR):
        return None
    return tuple(range(a, b + 1)) if b - a <= MAX_SPAN else (a, b)


def _is_number(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is an amount, a count, a reference number or a phone number."""
    before = text[max(0, start - 40) : start]
    after = text[end : end + 24]
    if _BEFORE_NOT_YEAR.search(before) or _AFTER_NOT_YEAR.match(after) or _PHONE_BEFORE.search(before):
        return True
    # Only a short line can be a dateline: look no further (a block may be megabytes long).
    a = text.rfind("\n", max(0, start - _DATELINE_MAX), start)
    b = text.find("\n", end, end + _DATELINE_MAX)
    a = a + 1 if a >= 0 else (0 if start <= _DATELINE_MAX else -1)
    b = b if b >= 0 else (len(text) if len(text) - end <= _DATELINE_MAX else -1)
    return a >= 0 and b >= 0 and b - a <= _DATELINE_MAX and bool(_DATELINE.match(text[a:b]))


def year_spans(text: str, anchor: int | None = None) -> list[YearSpan]:
    """Every year expression in ``text``, in reading order.

    Relative ones ("last year", "the following year") are resolved against ``anchor`` and
    left out without one. Compound forms win over the bare years inside them.
    """
    found: list[YearSpan] = []
    claimed = bytearray(len(text))  # characters inside an earlier match: linear in the text

    def add(start: int, end: int, years: tuple[int, ...] | None, kind: str) -> None:
        if not years or 1 in claimed[start:end]:
            return
        claimed[start:end] = b"\x01" * (end - start)  # a number's digits are not bare years either
        if not _is_number(text, start, end):
            found.append(YearSpan(start, end, years, kind))

    for m in _ISO_DATE.finditer(text):
        add(m.start(), m.end(), (int(m.group(1)),), "year")
    for m in _FINANCIAL.finditer(text):
        first = int(m.group(1)) if len(m.group(1)) == 4 else 2000 + int(m.group(1))
        years = _span_years(first, _full(m.group(2), first)) if m.group(2) else (first,)
        if years and FIRST_YEAR <= first <= LAST_YEAR:
            add(m.start(), m.end(), years, "financial")
    for m in _FINANCIAL_RANGE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        add(m.start(), m.end(), _span_years(a, _full(m.group(3), b)) if b >= a else None, "range")
    for m in _WORD_RANGE.finditer(text):
        a = int(m.group(1) or m.group(2))
        add(m.start(), m.end(), _span_years(a, int(m.group(3))), "range")
    for m in _SHORT_RANGE.finditer(text):
        a = int(m.group(1))
        years = _span_years(a, _full(m.group(2), a))
        kind = "financial" if years and len(years) == 2 and ("/" in m.group(0) or len(m.group(2)) == 2) else "range"
        add(m.start(), m.end(), years, kind)
    for m in _YEAR.finditer(text):
        add(m.start(), m.end(), (int(m.group(1)),), "year")
    if anchor is not None:
        for m in _RELATIVE.finditer(text):
            word = next(g for g in m.groups() if g).lower()
            year = anchor + _OFFSET[word]
            if FIRST_YEAR <= year <= LAST_YEAR:
                add(m.start(), m.end(), (year,), "relative")
    return sorted(found, key=lambda s: s.start)


def years_in(text: str, anchor: int | None = None) -> list[int]:
    """The distinct years ``text`` names, sorted."""
    return sorted({y for span in year_spans(text, anchor) for y in span.years})


def is_compact(years: Iterable[int]) -> bool:
    """One year or one financial/inspection year (two consecutive): a single period."""
    ys = sorted(set(years))
    return len(ys) == 1 or (len(ys) == 2 and ys[1] == ys[0] + 1)


def anchor_of(years: Iterable[int]) -> int | None:
    """The year "this year" means in a passage of this period: its first year, if compact.

    A 2018/19 inspection writes in 2018 about 2017 as "last year".
    """
    ys = sorted(set(years))
    return ys[0] if ys and is_compact(ys) else None


@lru_cache(maxsize=4096)
def _heading(text: str) -> tuple[tuple[int, ...], bool]:
    """A heading's years and whether it only looks back to them."""
    spans = year_spans(text)
    back = bool(spans) and all(_LOOKING_BACK.search(text[: s.start]) for s in spans)
    return tuple(sorted({y for s in spans for y in s.years})), back


def heading_years(text: str) -> tuple[int, ...]:
    """The years a heading dates the passages under it with; none if it only looks back."""
    years, back = _heading(text)
    return () if back else years


def section_years(section: Iterable[str], outer: Iterable[int] = ()) -> list[int]:
    """The years a heading path dates its passages with: the nearest dated heading's.

    ``outer`` is what holds above the top heading (the document's own year, if it has
    one); a heading that only looks back ("Progress since 2015") adds to what is above it.
    """
    current = sorted(set(outer))
    for heading in section:
        years, back = _heading(heading)
        if years:
            current = sorted(set(years) | set(current)) if back else list(years)
    return current


def passage_years(
    text: str,
    sections: Iterable[Iterable[str]],
    context: Iterable[int] = (),
    fallback: Iterable[int] = (),
) -> list[int]:
    """The years a passage speaks of: those its text names and its section's.

    ``sections`` are the heading paths its parts sit under (more than one when small
    sections were merged); ``context`` is the document's own year, when it is a single
    period, for passages under no dated heading; ``fallback`` (the document period) is
    used only when nothing else names a year.
    """
    own: set[int] = set()
    anchors = []
    for section in sections:
        years = section_years(section, context)
        own.update(years)
        anchors.append(anchor_of(years))
    anchor = anchors[0] if anchors and len(set(anchors)) == 1 else None
    own.update(years_in(text, anchor))
    return sorted(own) or sorted(set(fallback))


def own_years(title: str, name: str) -> list[int]:
    """The years a document's title (else its file name) dates it with."""
    return years_in(title) or years_in(Path(name).stem.replace("_", " "))


def document_context(meta: DocumentMeta) -> list[int]:
    """The document's own period when it is a single one: the section time of passages
    under no dated heading. A many-period document gives none, or time would be blind.

    From the manifest's years, else from the title or file name (an inferred period also
    holds the years the document looks back on).
    """
    ys = own_years(meta.title, meta.source) if "years" in meta.inferred else sorted(set(meta.years))
    return ys if ys and is_compact(ys) else []


def document_period(title: str, name: str, headings: Iterable[str], passages: Iterable[str]) -> list[int]:
    """Every year from the first to the last a document speaks of.

    Years in its title, file name or headings count; a year in its passages counts when
    several passages name it (at least 3, and a tenth as many as the most named year), so
    a stray citation ("the 2010 review") does not stretch the period, and, when the title,
    name or headings date the document, only if not after them: a report looks back on
    earlier years, and the later ones it names are plans ("a new control room by 2021").
    When nothing qualifies, the most-named year.
    """
    strong = set(years_in(title)) | set(years_in(Path(name).stem.replace("_", " ")))
    for heading in headings:
        strong.update(_heading(heading)[0])
    counts: Counter[int] = Counter()
    for text in passages:
        counts.update(set(years_in(text)))
    if counts:
        top = counts.most_common(1)[0][1]
        need = max(3, math.ceil(top / 10))
        last = max(strong, default=LAST_YEAR)
        strong.update(y for y, n in counts.items() if n >= need and y <= last)
        if not strong:
            strong.add(_top_year(counts))
    return list(range(min(strong), max(strong) + 1)) if strong else []


def _top_year(counts: Counter[int]) -> int:
    """The most-named year; the later one on a tie (a report speaks from its latest year)."""
    return max(counts, key=lambda y: (counts[y], y))
