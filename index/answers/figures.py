"""The figures a sentence states, each tied to the period it speaks of and its exact words.

A change-over-time answer sets numbers from different years side by side. Only what the text
states is read (nothing derived), each figure keeping its offsets: ``source[start:end] == value``.
Not findings: years (``ingest.years.year_spans``), dates, times, section, figure and footnote
numbers, ordinals, service numbers ("the 101 line") and the forces every report counts ("all 43
forces"). A figure's period is the nearest year in its clause, else the passage's when that is one
inspection, else the document's.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

from index.records import Figure
from ingest.years import YearSpan, anchor_of, is_compact, year_spans

__all__ = ["Figure", "extract_figures"]


_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# Glued to a word, a decimal point, a colon or a bracket a digit is a footnote mark or a
# section number ("public:1", "forces.1", "3.2.1"), not an amount.
_LEAD = r"(?<![\w.,:/)\]£$€])"
_TAIL = r"(?!\d|[.,]\d)"
_UNIT = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)"
_ADJ = r"(?:(?:working|calendar|business|clear)\s+)?"
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|(?-i:May|MAY)|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
# Months and years have no fixed length: their average one keeps durations comparable.
_SECONDS = {"se": 1, "mi": 60, "ho": 3600, "hr": 3600, "da": 86400, "we": 604800, "mo": 2629800, "ye": 31557600}

_MONEY = re.compile(rf"(?<!\w)[£$€]\s?({_NUM}){_TAIL}(?:\s?(bn|mn|m|k)(?![A-Za-z])|"
                    r"\s+(million|billion|thousand)\b)?", re.I)
_RANGE = rf"(?:\s*[–—-]\s*({_NUM}){_TAIL})?"  # "10–14 days": one figure, with no single number
_DUR_FIRST = re.compile(rf"{_LEAD}({_NUM}){_TAIL}{_RANGE}\s*{_ADJ}({_UNIT})\b", re.I)
_DUR_NEXT = re.compile(rf",?\s+(?:and\s+)?({_NUM}){_TAIL}\s*{_ADJ}({_UNIT})\b", re.I)
_PERCENT = re.compile(rf"{_LEAD}({_NUM}){_TAIL}{_RANGE}\s*(?:%|per\s*cent\b|percent\b|percentage\s+points?\b|pc\b)",
                      re.I)
_RATE = re.compile(rf"{_LEAD}({_NUM}){_TAIL}((?:\s+[A-Za-z][\w\-]*){{0,2}}?)\s+per\s+"
                   rf"(?:({_NUM}){_TAIL}(\s+[A-Za-z][\w\-]*)?|((?:(?:one|a)\s+)?(?:hundred|thousand|million)\b|"
                   rf"[A-Za-z][\w\-]*))", re.I)
_IN_RATE = re.compile(rf"{_LEAD}({_NUM}){_TAIL}\s+(?:in|out\s+of)\s+(?:every\s+)?({_NUM}){_TAIL}(?![\w%])"
                      rf"(?!\s*(?:per\s?cent|percent|{_UNIT}\b))", re.I)
_COUNT = re.compile(rf"{_LEAD}({_NUM}){_TAIL}(?:\s+(million|billion|thousand)\b)?(?![A-Za-z\d%])", re.I)

_NEVER = [  # never quantities, wherever they stand: times of day, numeric dates, phone numbers
    re.compile(r"\b(?:[01]?\d|2[0-3])(?:(?:[:.][0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.)(?![A-Za-z])|:[0-5]\d\b)", re.I),
    re.compile(r"\b(?:0\d[.:]?[0-5]\d(?:\s*(?:hrs|hours)\b)?|(?:[01]\d|2[0-3])\.[0-5]\d\s*(?:hrs|hours)\b)", re.I),
    re.compile(r"\b(?:at|after|before|until)\s+(?:[01]?\d|2[0-3])\.[0-5]\d\b", re.I),
    re.compile(r"\b(?:from|between)\s+(?:[01]?\d|2[0-3])[.:][0-5]\d\s*(?:-|–|to|and|until)\s*(?:[01]?\d|2[0-3])"
               r"[.:][0-5]\d\b", re.I),
    re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b"),
    re.compile(r"(?:\+44\s?(?:\(0\)\s?)?\d{2,4}|\b0\d{2,4})(?:[\s-]\d{3,4}){1,3}\b"),
]
# A number after one of these names a part of a text, a category or a law: "Figure 3",
# "page 12", "grade 1 calls", "Section 136", "the Policing and Crime Act 2017".
_ENUM = r"\.?\s*(?:\d+[a-z]?\s*(?:,|and|or|to|&|–|-|\()\s*)*$"  # "outcomes 14 and 16", "section 136 (2)"
_REF_BEFORE = re.compile(
    r"\b(?:fig(?:ure)?s?|tables?|pages?|pp?|paras?|paragraphs?|sections?|chapters?|annex(?:es)?|appendix|"
    r"appendices|notes?|footnotes?|recommendations?|grades?|priority|categor(?:y|ies)|levels?|tiers?|phases?|"
    r"stages?|types?|version|nos?|number|ref|reference|schedule|article|regulations?|clause|act|bill|outcomes?|"
    r"aged?|ages|published|updated|accessed|retrieved|copyright|tel|telephone|phone|ext|extension)"
    + _ENUM + r"|©\s*$", re.I)
# These name a part only when capitalised: "Part 2" is a heading, "in part 40 cases" is not.
_REF_TITLE = re.compile(r"\b(?:Question|Part|Box|Step|Item|Point|Rule|Order|Code|Option|Wave|Round|Year|Room|"
                        r"Line|Row|Column|Vol|Volume)" + _ENUM)
_CUT_DATE = re.compile(r"\b(?:year|months?|period|quarter)\s+(?:ending|ended|to)\s+$", re.I)  # "ending 30" + cut
_PAGE_BEFORE = re.compile(r"(?:\t|\.{3,}|…)\s*$")
_DENOMINATOR = re.compile(r"\b(?:per|every)\s+$", re.I)
# "the 43 England and Wales police forces": the forces there are, context rather than a finding.
_FORCES_AFTER = re.compile(r"\s+(?:(?:england|wales|and|english|welsh|geographic|territorial|home|local|police)\s+)*"
                           r"forces\b", re.I)
_RESTATES = re.compile(r"(?:\d|%|cent)\s*[(\[]$", re.I)
_DAY_AFTER = re.compile(rf"^(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b", re.I)
_MONTH_BEFORE = re.compile(rf"\b{_MONTH}\.?\s+$", re.I)
# "1. The force", "2.3 The force", "12 Dorset Police is excluded": a list, paragraph or
# footnote number ("22 ACRO manages …" too); a count opening a sentence is followed by lower case.
_LIST_START = re.compile(r"^\s*(?:[(\[]?\d{1,2}[.)\]](?:\s|(?=[A-Z]))|\d+(?:\.\d+)+\s+[A-Z]|\d{1,2}\s+(?![a-z%])\S)")
_SERVICE_NUMBERS = {"101", "111", "112", "999"}
_SERVICE_AFTER = re.compile(r"^(?:\s*(?:and|or|/|and/or)\s*(?:101|111|112|999))?\s*(?:(?:non-emergency|emergency|"
                            r"telephone|phone)\s+)?(?:calls?|callers?|lines?|numbers?|services?)\b", re.I)
_SERVICE_BEFORE = re.compile(r"\b(?:dial(?:s|led|ling)?|ring(?:ing)?|calls?\s+(?:to|via|on)|via)\s+$", re.I)
# "the 12 months to March 2018", "over the last 3 years" frame a period; "18 years old" is an age.
_FRAME_BEFORE = re.compile(r"\b(?:the|last|past|previous|preceding|next|first|final|recent|latest|following)\s+$", re.I)
_FRAME_AFTER = re.compile(r"^\s+(?:to|ending|ended|up\s+to|until|till|from|since|old|of\s+age)\b", re.I)

_VERBISH = frozenset("was were is are be been being had have has will would could should can may might must did do "
                     "does shall".split())
_PREP = frozenset("in on at to for from by with within without during over under between into onto after "
                  "before since until till against per across through throughout about around among "
                  "compared than as via towards toward upon like despite following including except".split())
_CONJ = frozenset("and or but which that who whom whose when where while whereas because so if although though".split())
_CHANGE = frozenset("increased decreased rose fell dropped grew declined remained stood reached doubled halved "
                    "improved reduced totalled totaled averaged went rising falling increasing decreasing".split())
_DET = frozenset("the a an this these those its their his her our each every some any all".split())
_PRON = frozenset("there it they we he she you i what".split())
_STOP_AFTER = _VERBISH | _PREP | _CONJ | _CHANGE | _PRON
_STOP_BEFORE = _STOP_AFTER | _DET
_LINK = _VERBISH | _CHANGE | _DET | frozenset(
    "at to of by around about approximately nearly almost over under just only more less fewer than up down "
    "from slightly exactly roughly still with".split())
_ADVERBS = frozenset("elsewhere overall here now then again too also only respectively instead".split())
_IRREGULAR = frozenset("made held kept sent set put paid done seen given taken found brought caught left lost "
                       "met told won cut let built shown known heard".split())
_PARTICIPLE = re.compile(r"(?:(?:been|being)\s+)?((?:not\s+)?([A-Za-z]+))\b", re.I)
_SUBJECT = re.compile(r"\b(number|proportion|percentage|rate|total|amount|average|median|level|volume|count|"
                      r"share)\s+of\s+", re.I)
_TOKEN = re.compile(r"\([A-Za-z][\w&/\-]*\)|[A-Za-z0-9][\w'’\-]*|\S")

_SPLIT = re.compile(r";|\b(?:but|while|whereas|compared\s+(?:with|to)|than)\b", re.I)
_QUANTIFIER = re.compile(r"\b(?:more|less|fewer|rather|other)\s+$", re.I)
_FROM, _TO = re.compile(r"\bfrom\b", re.I), re.compile(r"\bto\b", re.I)
# The words that set a year ("in the year to 30 June"): not counted in a figure's distance to it.
_FRAME = re.compile(
    rf"(?:\b(in|during|for|over|by|at|as\s+at|since|until|till|to|ending|between|throughout|across|from|on|"
    rf"before|after|of)\s+)?(?:\bthe\s+)?(?:same\s+|(?:end|start|beginning)\s+of\s+)?"
    rf"(?:\b(?:financial|calendar|reporting|inspection|academic)\s+)?"
    rf"(?:\b(?:year|years|period|quarter|twelve\s+months|12\s+months|months)\s+)?"
    rf"(?:\b(?:ending|ended|to|up\s+to|until|of)\s+)?(?:\b\d{{1,2}}(?:st|nd|rd|th)?\s+)?"
    rf"(?:\b{_MONTH}\.?\s+)?(?:\b\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?$", re.I)
# A year after these is a starting point, a baseline or a deadline ("since 2015", "an
# increase on 2017", "by 2021"), not the time a figure describes.
_UNDATING = frozenset({"since", "by", "before", "after", "until", "till", "from", "on"})
_BIND_WORDS = 8
_REACH = 200  # characters either side read for a measure: a phrase, or the sentence's subject


@dataclass
class _Raw:  # a figure before its period is known
    start: int
    end: int
    kind: str
    number: float | None
    measure: str = ""


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def _not_quantity(s: str, start: int, end: int, kind: str) -> bool:
    """True when the digits at s[start:end] name something rather than count it."""
    before, after, digits = s[max(0, start - 40) : start], s[end : end + 60], s[start:end]
    named = (_REF_BEFORE.search(before) or _REF_TITLE.search(before) or _MONTH_BEFORE.search(before)
             or ("." not in digits and _value(digits) <= 31 and (_DAY_AFTER.match(after) or _CUT_DATE.search(before)))
             # "per 1,000" is what a rate is out of; "2015.6" a year with a footnote mark
             or _DENOMINATOR.search(before) or re.fullmatch(r"(?:199\d|20[0-3]\d)\.\d{1,2}", digits)
             or (_PAGE_BEFORE.search(before) and not after.strip())  # "Summary\t10": a page number
             or (start <= 4 and not s[:start].strip(" ([") and _LIST_START.match(s)))
    if named or kind != "count":
        return bool(named)
    # "(2)", "[3]": a list or note mark, unless it restates a figure ("67 percent (418)");
    # "24-hour", "3-tier": part of an adjective
    mark = before.endswith(("(", "[")) and after.startswith((")", "]")) and len(digits) <= 2 \
        and not _RESTATES.search(before)
    if mark or re.match(r"^[-‐][A-Za-z]", after):
        return True
    return digits in _SERVICE_NUMBERS and bool(_SERVICE_AFTER.match(after) or _SERVICE_BEFORE.search(before))


def _is_noun_like(word: str) -> bool:
    """Could follow "per 1,000" as what is counted ("population") rather than an adverb."""
    w = word.lower()
    return w not in _STOP_BEFORE and w not in _ADVERBS and not w.endswith("ly")


def _candidates(s: str, taken: bytearray) -> list[_Raw]:
    """Every quantity in s, the most specific reading first; digits are read only once."""
    found: list[_Raw] = []

    def claim(start: int, end: int, kind: str, number: float | None, lead: tuple[int, int], measure: str = "") -> None:
        # ``lead`` is the first number's digits: what the context checks look around
        if 1 in taken[start:end] or (kind != "money" and _not_quantity(s, *lead, kind)):
            return
        taken[start:end] = b"\x01" * (end - start)
        found.append(_Raw(start, end, kind, number, measure))

    for m in _MONEY.finditer(s):
        mult = _MULT.get((m.group(2) or m.group(3) or "").lower(), 1.0)
        claim(m.start(), m.end(), "money", _value(m.group(1)) * mult, m.span(1))
    for m in _DUR_FIRST.finditer(s):
        unit = _SECONDS[m.group(3)[:2].lower()]
        if unit >= _SECONDS["we"] and (_FRAME_BEFORE.search(s[max(0, m.start() - 12) : m.start()])
                                       or _FRAME_AFTER.match(s[m.end() : m.end() + 12])):
            taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())  # nor is its number a count
            continue
        total, end = None if m.group(2) else _value(m.group(1)) * unit, m.end()
        # "4 minutes 38 seconds" is one figure; "14 days, 28 days" are two.
        while total is not None and (n := _DUR_NEXT.match(s, end)) and _SECONDS[n.group(2)[:2].lower()] < unit:
            unit = _SECONDS[n.group(2)[:2].lower()]
            total, end = total + _value(n.group(1)) * unit, n.end()
        claim(m.start(), end, "duration", total, m.span(1))
    for m in _PERCENT.finditer(s):
        claim(m.start(), m.end(), "percent", None if m.group(2) else _value(m.group(1)), m.span(1))
    for m in _RATE.finditer(s):
        mid = m.group(2).split()
        unit = (m.group(5) or "").lower()
        if any(w.lower() in _STOP_BEFORE for w in mid) or unit == "cent" or unit in _STOP_BEFORE:
            continue
        end = m.end()
        if m.group(4) and not _is_noun_like(m.group(4).split()[0]):
            end = m.end(3)
        claim(m.start(), end, "rate", _value(m.group(1)), m.span(1), " ".join(mid).lower())
    for m in _IN_RATE.finditer(s):
        if _value(m.group(1)) < _value(m.group(2)):
            claim(m.start(), m.end(), "rate", _value(m.group(1)), m.span(1))
    for m in _COUNT.finditer(s):
        mult = _MULT.get((m.group(2) or "").lower(), 1.0)
        claim(m.start(), m.end(), "count", _value(m.group(1)) * mult, m.span(1))
    return sorted(found, key=lambda r: r.start)


def _is_word(token: str) -> bool:  # a word, a number or a bracketed acronym, not punctuation
    return token[0].isalnum() or (token.startswith("(") and len(token) > 2)


def _tidy(words: list[str]) -> str:
    while words and words[-1].lower() in {"of", "the", "a", "an", "and"}:
        words = words[:-1]
    return " ".join(words).lower()


def _after(text: str) -> str:
    """The noun phrase right after a figure; "186 being granted" → the participle."""
    tokens = _TOKEN.findall(text)
    if tokens and tokens[0].lower() == "of":
        tokens = tokens[1:]  # "20 percent of all callers": what it is a share of
    if tokens and tokens[0].lower() in _VERBISH:  # "186 being granted", "53 were not charged"
        m = _PARTICIPLE.match(" ".join(tokens[1:4]))
        verb = m.group(2).lower() if m else ""
        return m.group(1).lower() if m and (verb.endswith(("ed", "en")) or verb in _IRREGULAR) else ""
    out: list[str] = []
    for tok in tokens:
        if not _is_word(tok) or tok.lower() in _STOP_AFTER or len(out) == 6:
            break
        out.append(tok)
    return _tidy(out)


def _before(text: str, floor: int) -> str:
    """The noun phrase a figure is said of: "the proportion of calls abandoned was 20%".

    ``text`` is the sentence up to the figure; the words just before it are read only
    from ``floor`` on (after the previous figure or year, which they describe).
    """
    subject = None
    for m in _SUBJECT.finditer(text):
        np = _after(text[m.end() :])
        if np and not np[0].isdigit():  # "the total of 1,000 …" names a figure, not a measure
            subject = f"{m.group(1).lower()} of {np}"
    if subject:
        return subject
    tokens = _TOKEN.findall(text, floor)
    while tokens and tokens[-1].lower() in _LINK:
        tokens.pop()
    out: list[str] = []
    for tok in reversed(tokens):
        if not _is_word(tok) or tok.lower() in _STOP_BEFORE or len(out) == 6:
            break
        out.insert(0, tok)
    while out and out[0].lower() == "of":
        out.pop(0)
    return _tidy(out)


def _context(s: str, r: _Raw) -> bool:
    """A count that is not a finding: the forces there are, a service number, a bare year-like number."""
    return r.kind == "count" and bool(
        _FORCES_AFTER.match(s, r.end)
        # "use of 999 / 101", "improvements to 101 ensuring": as a count it needs a plural noun
        or (s[r.start : r.end] in _SERVICE_NUMBERS and not r.measure.split(" ")[0].endswith("s"))
        or (not r.measure and r.number is not None and r.number.is_integer() and 1990 <= r.number <= 2035))


def _clause_starts(s: str, in_year: bytearray, raws: list[_Raw]) -> list[int]:
    """Where the sentence's clauses begin: a figure's year is looked for only in its own."""
    firsts = [r.start for r in raws]

    def figure_soon(pos: int) -> bool:
        k = bisect_left(firsts, pos)
        return k < len(firsts) and firsts[k] - pos <= 40 and len(s[pos : firsts[k]].split()) <= 2

    starts = {0}
    for m in _SPLIT.finditer(s):
        quantifier = m.group().lower() == "than" and _QUANTIFIER.search(s[max(0, m.start() - 8) : m.start()])
        if not in_year[m.start()] and not quantifier:  # "more than 200" is a figure's own words
            starts.add(m.start())
    for m in _FROM.finditer(s):  # "from 196 in 2017 to 212 in 2018": each end is its own clause
        if in_year[m.start()] or not figure_soon(m.end()):
            continue
        starts.add(m.start())
        to = next((t.start() for t in _TO.finditer(s, m.end()) if not in_year[t.start()] and figure_soon(t.end())), 0)
        starts.add(to)
    return sorted(starts)


def _frame_start(s: str, span: YearSpan) -> tuple[int, str]:
    """Where the words that set this year begin, and the preposition that opens them."""
    lo = max(0, span.start - 60)
    m = _FRAME.search(s[lo : span.start])
    if not m:
        return span.start, ""
    prep = (m.group(1) or "").lower()
    if prep == "on" and re.search(rf"\d|\b{_MONTH}\b", m.group(), re.I):
        prep = ""  # "on 31 March 2018" dates; "on 2017", "on the same period last year" compare
    return lo + m.start(), prep


def _opens(s: str, a: int, b: int) -> bool:  # whether s[a:b] leaves a bracket open
    return s.rfind("(", max(a, b - _REACH), b) > s.rfind(")", max(a, b - _REACH), b)


def _bind(s: str, raws: list[_Raw], spans: list[YearSpan], starts: list[int]) -> list[tuple[int, ...] | None]:
    """The years each figure's clause gives it: the next year close after it, else the last before it."""
    framed = [(sp, *_frame_start(s, sp)) for sp in spans]
    usable = [(sp, fstart) for sp, fstart, prep in framed if prep not in _UNDATING]
    ustarts, firsts, all_starts = [sp.start for sp, _ in usable], [r.start for r in raws], [sp.start for sp in spans]
    out: list[tuple[int, ...] | None] = []
    for r in raws:
        c, k, nxt = bisect_right(starts, r.start), bisect_left(ustarts, r.end), None
        # spans never overlap a figure: the one starting before it ends before it
        prev = usable[k - 1][0].years if k and bisect_right(starts, usable[k - 1][0].start) == c else None
        if k < len(usable) and bisect_right(starts, usable[k][0].start) == c:  # only the nearest can be its
            sp, fstart = usable[k]
            near = fstart - r.end <= _REACH and len(s[r.end : max(r.end, fstart)].split()) <= _BIND_WORDS
            # a figure between takes the year, unless it restates r in brackets ("4,000 (12%) … in 2017");
            # a year in brackets opened after r is another figure's ("5 seconds (10 seconds in 2016)")
            others = raws[bisect_left(firsts, r.end) : bisect_left(firsts, sp.start)] if near else []
            if near and not _opens(s, r.end, sp.start) and all(_opens(s, r.end, o.start) for o in others):
                nxt = sp.years
        # a figure in brackets glosses the year just before them, whatever its preposition, unless
        # its own year is in them too: "from 2015/16 (1,061 offences) to 2016/17"
        j = bisect_left(all_starts, r.end) - 1
        gloss = j >= 0 and bisect_right(starts, spans[j].start) == c and _opens(s, spans[j].end, r.start) \
            and (nxt is None or s.find(")", r.end, usable[k][0].start) >= 0)
        out.append(spans[j].years if gloss else nxt or prev)
    return out


def extract_figures(
    sentence: str, sentence_start: int, passage_years: Sequence[int], document_years: Sequence[int]
) -> list[Figure]:
    """Quantities stated in one sentence, in reading order."""
    s, spans = sentence, year_spans(sentence, anchor_of(passage_years))
    in_year = bytearray(len(s) + 1)
    for a, b in [(sp.start, sp.end) for sp in spans]:
        in_year[a:b] = b"\x01" * (b - a)
    taken = bytearray(in_year)
    for a, b in [m.span() for pattern in _NEVER for m in pattern.finditer(s)]:
        taken[a:b] = b"\x01" * (b - a)
    raws = _candidates(s, taken)

    # A figure's words stop at the next figure or year and start after the last: theirs.
    edges = sorted([(r.start, r.end) for r in raws] + [(sp.start, sp.end) for sp in spans])
    heads = [a for a, _ in edges]
    for r in raws:
        k = bisect_left(heads, r.end)
        limit = min(heads[k] if k < len(heads) else len(s), r.end + _REACH)
        j = bisect_left(heads, r.start)  # r's own edge: figures and years never overlap
        lo = max(0, r.start - _REACH)
        floor = max(edges[j - 1][1] - lo if j else 0, 0)
        r.measure = r.measure or _after(s[r.end : limit]) or _before(s[lo : r.start], floor)
    raws = [r for r in raws if not _context(s, r)]

    bound = _bind(s, raws, spans, _clause_starts(s, in_year, raws))
    passage = sorted(set(passage_years))
    figures = []
    for r, years in zip(raws, bound):
        if years:
            period, source = sorted(set(years)), "sentence"
        elif passage and is_compact(passage):
            period, source = passage, "passage"
        else:
            period, source = sorted(set(document_years)), "document"
        figures.append(Figure(s[r.start : r.end], r.number, r.kind, r.measure, period, source, s,
                              sentence_start + r.start, sentence_start + r.end))
    return figures
