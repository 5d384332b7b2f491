"""Question parsing: year range, change-over-time intent, glossary expansions, phrases.

    pq = parse_query('How did "DVPO" use change 2016–2018?')
    pq.year_from, pq.year_to, pq.temporal   # 2016, 2018, True
    pq.expansions                           # ['domestic violence protection order', …]

Years (1990–2035 only; never part of a bigger number, an amount or a percentage)
------------------------------------------------------------------------------------
=================================  ===================  ==========================
form                               range                counts as change over time
=================================  ===================  ==========================
2016–2018, 2016-2018, 2016 to 2018  2016..2018          yes
2016-18, 2016/2018                 2016..2018           yes
between 2016 and 2018              2016..2018           yes
from 2016 to 2018                  2016..2018           yes
2016 and 2018, 2016 vs 2018        2016..2018           yes
compared with 2016, than in 2016   2016..               yes (that year up to now)
2018/19, 2017/18, 2018-19          2018..2019           no (a financial / inspection
                                                        year is one period)
since 2017, 2017 onwards           2017..               yes
from 2017, after 2017              2017.., 2018..       no
before 2018, prior to 2018         ..2017               no
until 2018, up to 2018, by 2018    ..2018               no
in 2016, 2016                      2016..2016           no
=================================  ===================  ==========================

Several expressions combine into the span that covers them all ("in 2016 and in 2018" →
2016..2018), and two or more distinct year expressions count as a comparison. Relative
dates ("last year") are ignored.

Change over time (``temporal``)
-------------------------------
True when the question has a year range of two or more years (other than a single
financial year), "since YEAR", two or more year expressions, or change vocabulary:
change/changed/changing, trend, over time, over the last/past N years, year on year,
evolve(d), progress (not "progress report"), improved/improving/worsened/deteriorated
(not "to be improved"), increase/decrease/rise/fall/decline/drop (and their past forms),
got/became better/worse, then and now, since the last/previous inspection, compared with
the previous/last inspection or year. "compare"/"compared with"/"comparison"/"versus"
count only together with a year or a word of time (year, inspection, previous, last,
earlier, before, then, now, time), and not when the comparison is with a place ("compared
with other forces / England and Wales / the national average").
A bare "in 2016" is not temporal.

Robustness
----------
Any string parses: quotes, brackets, wildcards, backslashes and Boolean operators are
stripped from ``text``; all-caps AND/OR/NOT become ordinary words; unbalanced quotes are
ignored. ``text`` keeps at most ``MAX_QUERY_CHARS`` characters (cut at a word boundary,
``truncated`` is then True); it is "" when nothing searchable is left, and the caller
should ask the user to type a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.query.glossary import Glossary, default_glossary

__all__ = ["ParsedQuery", "parse_query", "MAX_QUERY_CHARS", "YEAR_MIN", "YEAR_MAX"]

MAX_QUERY_CHARS = 2000
YEAR_MIN, YEAR_MAX = 1990, 2035


@dataclass
class ParsedQuery:
    raw: str
    text: str  # the question, year expressions kept, quotes/syntax noise stripped
    year_from: int | None  # inclusive
    year_to: int | None  # inclusive
    temporal: bool  # asks about change over time
    expansions: list[str] = field(default_factory=list)  # glossary terms
    phrases: list[str] = field(default_factory=list)  # "quoted phrases"
    truncated: bool = False  # text was cut to MAX_QUERY_CHARS

    @property
    def empty(self) -> bool:
        return not self.text

    @property
    def years(self) -> tuple[int | None, int | None] | None:
        if self.year_from is None and self.year_to is None:
            return None
        return (self.year_from, self.year_to)

    @property
    def topic(self) -> str:
        """What a change-over-time question is about, without its time frame: year
        expressions and framing words ("how did … change between … and … inspections")
        removed. "How did DVPO use change 2016–2018?" → "DVPO use"."""
        return question_topic(self.text)

    def search_text(self) -> str:
        """The text to search with: the question plus any expansion terms it lacks."""
        return " ".join([self.text, *self.expansions]).strip()


# --- years -----------------------------------------------------------------------------

_Y = r"(?:199\d|20[0-2]\d|203[0-5])"
# not inside a bigger number, an amount (£2016, 1,2016, 12.2016), a code (#2016) or a word
_PRE = r"(?<![\d£$€#.,\w])"
_POST = r"(?![\d\w])(?!,\d{3})(?!\.\d)(?!\s*(?:%|percent\b|per\s+cent\b))"
_YEAR = _PRE + r"(" + _Y + r")" + _POST
_DASH = r"\s*[-‐‑–—]\s*"
_TO = r"(?:" + _DASH + r"|\s+(?:to|until|till|through|thru)\s+|\s*/\s*)"

_RANGE_WORDS = re.compile(
    r"\b(between|from)\s+" + _YEAR + r"\s+(?:and|to|until|till|through|thru|-|–|—)\s+"
    + r"(?:" + _YEAR + r"|(\d{2})(?![\d\w]))",
    re.IGNORECASE,
)
_RANGE_FULL = re.compile(_YEAR + r"(" + _TO + r")" + _YEAR, re.IGNORECASE)
_RANGE_SHORT = re.compile(_YEAR + r"(" + _DASH + r"|\s*/\s*)(\d{2})(?![\d\w/])", re.IGNORECASE)
_PAIR = re.compile(
    _YEAR + r"\s*(?:,\s*)?(?:and|&|vs\.?|v\.?|versus|or|compared\s+(?:with|to)|with)\s+(?:in\s+)?" + _YEAR,
    re.IGNORECASE,
)
_OPEN_END = re.compile(
    _YEAR + r"(?:\s+onwards?|" + _DASH + r"(?:present|now|date|today)\b|\s+to\s+(?:the\s+)?(?:present|now|date|today)\b)",
    re.IGNORECASE,
)
_SINCE = re.compile(
    r"\b(since|after|from|post)\s+(?:the\s+)?(?:(?:start|end|beginning|middle)\s+of\s+)?"
    r"(?:(?:early|late|mid)[\s-]+)?" + _YEAR,
    re.IGNORECASE,
)
_BEFORE = re.compile(
    r"\b(before|prior\s+to|pre|until|till|up\s+to|up\s+until|by)\s+(?:the\s+)?"
    r"(?:(?:start|end|beginning|middle)\s+of\s+)?" + _YEAR,
    re.IGNORECASE,
)
_VERSUS = re.compile(
    r"\b(?:compar(?:e|ed|ing)\s+(?:with|to|against)|than|versus|vs\.?|relative\s+to|since)\s+(?:in\s+|the\s+)?" + _YEAR,
    re.IGNORECASE,
)
_BARE = re.compile(_YEAR, re.IGNORECASE)


@dataclass
class _Years:
    intervals: list[tuple[int | None, int | None]] = field(default_factory=list)
    temporal: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)

    def free(self, a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in self.spans)

    def add(self, a: int, b: int, lo: int | None, hi: int | None, temporal: bool = False) -> None:
        self.spans.append((a, b))
        self.intervals.append((lo, hi))
        self.temporal = self.temporal or temporal


def _short_end(y1: int, yy: str) -> int | None:
    y2 = (y1 // 100) * 100 + int(yy)
    if y2 < y1:
        y2 += 100
    return y2 if 0 < y2 - y1 <= 20 and y2 <= YEAR_MAX else None


def _find_years(text: str) -> _Years:
    found = _Years()
    for m in _RANGE_WORDS.finditer(text):
        y1 = int(m.group(2))
        y2 = int(m.group(3)) if m.group(3) else _short_end(y1, m.group(4))
        if y2 is None or not found.free(m.start(), m.end()):
            continue
        lo, hi = min(y1, y2), max(y1, y2)
        found.add(m.start(), m.end(), lo, hi, temporal=True)
    for m in _RANGE_FULL.finditer(text):
        if not found.free(m.start(), m.end()):
            continue
        y1, y2 = int(m.group(1)), int(m.group(3))
        lo, hi = min(y1, y2), max(y1, y2)
        period = "/" in m.group(2) and hi - lo == 1  # 2018/2019: one financial year
        found.add(m.start(), m.end(), lo, hi, temporal=not period and hi > lo)
    for m in _RANGE_SHORT.finditer(text):
        if not found.free(m.start(), m.end()):
            continue
        y1 = int(m.group(1))
        y2 = _short_end(y1, m.group(3))
        if y2 is None:
            continue
        found.add(m.start(), m.end(), y1, y2, temporal=y2 - y1 >= 2)
    for m in _PAIR.finditer(text):
        if not found.free(m.start(), m.end()):
            continue
        y1, y2 = int(m.group(1)), int(m.group(2))
        found.add(m.start(), m.end(), min(y1, y2), max(y1, y2), temporal=y1 != y2)
    for m in _OPEN_END.finditer(text):
        if found.free(m.start(), m.end()):
            found.add(m.start(), m.end(), int(m.group(1)), None, temporal=True)
    for m in _VERSUS.finditer(text):  # "compared with 2016": 2016 up to now
        if found.free(m.start(), m.end()):
            found.add(m.start(), m.end(), int(m.group(1)), None, temporal=True)
    for m in _SINCE.finditer(text):
        if not found.free(m.start(), m.end()):
            continue
        word, y = m.group(1).lower(), int(m.group(2))
        if word == "since":
            found.add(m.start(), m.end(), y, None, temporal=True)
        elif word == "after":
            found.add(m.start(), m.end(), y + 1, None)
        else:  # from / post
            found.add(m.start(), m.end(), y + (1 if word == "post" else 0), None)
    for m in _BEFORE.finditer(text):
        if not found.free(m.start(), m.end()):
            continue
        word, y = m.group(1).lower().split()[0], int(m.group(2))
        if word in ("before", "prior", "pre"):
            found.add(m.start(), m.end(), None, y - 1)
        else:
            found.add(m.start(), m.end(), None, y)
    for m in _BARE.finditer(text):
        if found.free(m.start(), m.end()):
            y = int(m.group(1))
            found.add(m.start(), m.end(), y, y)
    if len(set(found.intervals)) >= 2:
        found.temporal = True
    return found


def _hull(intervals: list[tuple[int | None, int | None]]) -> tuple[int | None, int | None]:
    if not intervals:
        return None, None
    lows = [lo for lo, _ in intervals]
    highs = [hi for _, hi in intervals]
    lo = None if any(v is None for v in lows) else min(lows)  # type: ignore[type-var]
    hi = None if any(v is None for v in highs) else max(highs)  # type: ignore[type-var]
    if lo is not None and hi is not None and lo > hi:  # "before 2016 … since 2018": nonsense
        lo, hi = hi, lo
    return lo, hi


# --- change over time ------------------------------------------------------------------

_TEMPORAL = re.compile(
    r"""\b(?:
        chang(?:e|es|ed|ing)
      | trend(?:s|ed|ing)?
      | over\s+time
      | over\s+(?:the\s+)?(?:last|past|previous|recent)\s+(?:\w+\s+)?(?:years?|months?|inspections?|decade)
      | over\s+the\s+years
      | year[\s-]+(?:on|over|to)[\s-]+year
      | evolv(?:e|ed|es|ing)
      | progress(?:ed|ing)?(?!\s+(?:report|against))
      | (?<!be\s)improved | improving
      | worsen(?:ed|ing)? | deteriorat(?:ed|ing|ion)
      | increas(?:e|es|ed|ing) | decreas(?:e|es|ed|ing)
      | ris(?:e|es|en|ing) | rose | fell | fallen | falling
      | declin(?:e|ed|es|ing) | dropp(?:ed|ing)
      | (?:got|gotten|get|getting|become|became|becoming)\s+(?:any\s+)?(?:better|worse)
      | then\s+and\s+now
      | since\s+(?:the\s+)?(?:last|previous|earlier|first|prior)\b
      | (?:than|from)\s+(?:before|previously)
      | (?:last|previous|earlier|prior)\s+(?:inspection|report|assessment)s?
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
_COMPARE = re.compile(r"\b(?:compar(?:e|ed|es|ing|ison|isons)|versus|vs\.?|differences?)\b", re.I)
_TIME_WORD = re.compile(
    r"\b(?:years?|yearly|annual|inspections?|previous(?:ly)?|last|earlier|before|then|now|time|"
    r"today|current(?:ly)?|past|prior|since)\b",
    re.IGNORECASE,
)


_COMPARE_PLACE = re.compile(
    r"\b(?:compar\w*|versus|vs\.?|than)\s+(?:\w+\s+){0,3}?(?:england|wales|other|national|nationally|"
    r"average|rest|forces?|similar|peers?|neighbouring|regional)\b",
    re.IGNORECASE,
)


def _is_temporal(text: str, years: _Years) -> bool:
    if years.temporal:
        return True
    if _TEMPORAL.search(text):
        return True
    # "compared with other forces / England and Wales" is about place, not time
    if _COMPARE.search(text) and not _COMPARE_PLACE.search(text):
        if years.intervals or _TIME_WORD.search(text):
            return True
    return False


_FRAME = re.compile(
    r"""\b(?:how|what|whether|did|does|do|has|have|had|is|are|was|were|been|be|
        the|a|an|in|of|and|to|from|between|since|during|across|over|
        chang(?:e|es|ed|ing)|trends?|time|years?|periods?|inspections?|reports?|
        compar(?:e|ed|es|ing)|evolv(?:e|ed|es|ing))\b""",
    re.IGNORECASE | re.VERBOSE,
)


def question_topic(text: str) -> str:
    """``text`` without year expressions and change-over-time framing (see ParsedQuery.topic);
    ``text`` itself when nothing would be left."""
    spans = _find_years(text).spans
    out = text
    for a, b in sorted(spans, reverse=True):
        out = out[:a] + " " + out[b:]
    out = _FRAME.sub(" ", out)
    out = re.sub(r"(?<![\w])[-‐‑–—/.,'’?]+(?![\w])", " ", out)
    out = re.sub(r"\s+", " ", out).strip(" ?.,")
    return out if _HAS_WORD.search(out) else text


# --- cleaning --------------------------------------------------------------------------

_PHRASE = re.compile(r'"([^"\n]{1,300})"|“([^”\n]{1,300})”|„([^“”\n]{1,300})[“”]')
_NOISE = re.compile(r"[\"“”„«»‘`*()\[\]{}<>\\^~|=+#@!;:_]")
_LONE_PUNCT = re.compile(r"(?<![\w])[-‐‑–—/.,'’?]+(?![\w])")
_APOS = re.compile(r"(?<![A-Za-z])['’]|['’](?![A-Za-z])")
_LEAD_DASH = re.compile(r"(?<![\w])[-‐‑–—]+(?=\w)")
_BOOL = re.compile(r"\b(AND|OR|NOT)\b")
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)


def _clean(raw: str) -> str:
    text = raw.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = re.sub(r"(?<=\d)\s+([-‐‑–—])\s+(?=\d)", r"\1", text)  # "2016 – 18" → "2016–18"
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _NOISE.sub(" ", text)
    text = _APOS.sub(" ", text)
    text = _LEAD_DASH.sub("", text)  # "-crime" (exclusion syntax) → "crime"
    text = _LONE_PUNCT.sub(lambda m: m.group(0) if m.group(0) == "?" else " ", text)
    text = _BOOL.sub(lambda m: m.group(1).lower(), text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([?,.])", r"\1", text)
    if not _HAS_WORD.search(text):
        return ""
    return text


def _phrases(raw: str) -> list[str]:
    out: list[str] = []
    for m in _PHRASE.finditer(raw):
        inner = next(g for g in m.groups() if g is not None)
        cleaned = _clean(inner).strip(" ?.,")
        if cleaned and cleaned.casefold() not in {p.casefold() for p in out}:
            out.append(cleaned)
    return out


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    cut = text.rfind(" ", 0, limit + 1)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip(), True


def parse_query(q: str, glossary: Glossary | None = None) -> ParsedQuery:
    """Parse a free-text question. ``glossary`` None: the curated default glossary; pass
    ``Glossary.empty()`` for no expansions. Never raises on any string."""
    raw = q if isinstance(q, str) else ("" if q is None else str(q))
    text, truncated = _truncate(_clean(raw), MAX_QUERY_CHARS)
    if not text:
        return ParsedQuery(raw=raw, text="", year_from=None, year_to=None, temporal=False, truncated=truncated)
    # years are read before punctuation is dropped ("2016 – 18" needs its dash)
    years_src = re.sub(r"\s+", " ", _NOISE.sub(" ", raw[: MAX_QUERY_CHARS * 2]))
    years = _find_years(years_src)
    year_from, year_to = _hull(years.intervals)
    temporal = _is_temporal(years_src, years)
    g = default_glossary() if glossary is None else glossary
    expansions = g.expand(text)
    return ParsedQuery(
        raw=raw,
        text=text,
        year_from=year_from,
        year_to=year_to,
        temporal=temporal,
        expansions=expansions,
        phrases=_phrases(raw[: MAX_QUERY_CHARS * 2]),
        truncated=truncated,
    )
