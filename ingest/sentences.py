"""Sentence spans inside a chunk's text, and their offsets in the source document.

``split_sentences(text)`` returns ``(start, end)`` spans that index ``text`` exactly, so
``text[start:end]`` is the sentence shown to the user, verbatim. Rules:

* The text is first cut into lines. A chunk joins the blocks of a document with ``"\\n"``,
  so a line is a paragraph, a list item, a table row or a heading.
* Bullets (``•``, ``-``, ``*``, ``1.``, ``(a)`` …), table rows (``|`` or tab separated)
  and heading-like lines (short, no closing punctuation) are never merged with their
  neighbours. The bullet marker itself is left out of the span.
* A line that plainly continues the previous one (the previous line has no closing
  punctuation and this one starts in lower case) is joined to it: hard-wrapped text.
* Prose (and long bullets) is split into sentences by pysbd (rule-based, no data files),
  with its ``char_span`` output checked against the text; every span is trimmed of
  surrounding whitespace.

``source_span`` turns a chunk-relative span into offsets in the source text. A chunk's text
equals its source slice on letters and digits (only whitespace and markup punctuation
differ), so with the source text at hand the mapping is exact; without it the offsets are
``chunk.char_start + offset``, clamped to the chunk, and exact only where the chunk kept
the source's whitespace.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from ingest.records import alnum_key

__all__ = ["split_sentences", "source_span", "is_heading_like", "evidence_spans", "span_text", "n_words",
           "MIN_WORDS", "MAX_CHARS"]

MIN_WORDS = 2  # a sentence of one word ("Good") is a grade or a label, not evidence
MAX_CHARS = 600  # what is embedded of a very long "sentence" (a table row run together)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")

_BULLET = re.compile(
    r"\s*(?:[•·▪◦●○■□‣⁃∙\-–—*+>]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s+"
)
_TERMINAL = ".!?:;"
_BULLET_SYMBOLS = "•·▪◦●○■□‣⁃∙"
_INLINE_BULLET = re.compile(r"(?<=\s)[•▪◦●■‣∙](?=\s)")
_MAX_HEADING_WORDS = 14
_local = threading.local()


def _segmenter():
    seg = getattr(_local, "segmenter", None)
    if seg is None:
        import pysbd

        # char_span=True compiles one regex per sentence (slow): sentences are found with
        # str.find from a cursor instead, which is exact because clean=False keeps the text.
        seg = _local.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=False)
    return seg


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _is_table_row(line: str) -> bool:
    return "|" in line or "\t" in line or len(re.findall(r"\S {3,}\S", line)) >= 2


def is_heading_like(line: str) -> bool:
    """A short line without closing punctuation that starts with a capital or a digit."""
    s = line.strip()
    if not s or s[-1] in _TERMINAL + ",":
        return False
    if s.startswith("#"):
        return True
    words = s.split()
    if len(words) > _MAX_HEADING_WORDS:
        return False
    first = s.lstrip("*_\"'“‘([")
    return bool(first) and (first[0].isupper() or first[0].isdigit())


def _lines(text: str) -> list[tuple[int, int]]:
    out = []
    pos = 0
    for line in text.split("\n"):
        a, b = _trim(text, pos, pos + len(line))
        if a < b:
            out.append((a, b))
        pos += len(line) + 1
    return out


def _paragraphs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) with kind in prose | bullet | table | heading."""
    paras: list[tuple[int, int, str]] = []
    for a, b in _lines(text):
        line = text[a:b]
        if _BULLET.match(line):
            kind = "bullet"
        elif _is_table_row(line):
            kind = "table"
        elif is_heading_like(line):
            kind = "heading"
        else:
            kind = "prose"
        if paras:
            pa, pb, pkind = paras[-1]
            prev = text[pa:pb]
            continues = (
                pkind in ("prose", "bullet", "heading")
                and prev[-1] not in _TERMINAL
                and kind in ("prose", "heading")
                and (line[0].islower() or line[0] in "(,;")
            )
            if continues:  # a hard-wrapped line: part of the paragraph before
                paras[-1] = (pa, b, "prose" if pkind == "heading" else pkind)
                continue
        paras.append((a, b, kind))
    return paras


_INNER_STOP = re.compile(r"[.!?…]\W*\s+\S")


def _segment(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """pysbd over text[a:b] (newlines seen as spaces), as trimmed spans of ``text``."""
    piece = text[a:b].replace("\n", " ").replace("\r", " ")
    if not _INNER_STOP.search(piece):  # no full stop before the end: one sentence
        ts, te = _trim(text, a, b)
        return [(ts, te)] if ts < te else []
    spans: list[tuple[int, int]] = []
    cursor = 0
    try:
        segments = _segmenter().segment(piece)
    except Exception:  # pysbd is rule-based but not bullet-proof: fall back to the whole line
        segments = []
    for seg in segments:
        sent = seg.strip()
        if not sent:
            continue
        found = piece.find(sent, cursor)
        if found < 0:  # pysbd changed the text (it should not with clean=False): skip it
            continue
        s, e = found, found + len(sent)
        cursor = e
        ts, te = _trim(text, a + s, a + e)
        if ts < te:
            spans.append((ts, te))
    if not spans:
        ts, te = _trim(text, a, b)
        return [(ts, te)] if ts < te else []
    # pysbd may leave gaps (text it dropped): give them to the sentence before.
    fixed = []
    for i, (s, e) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else None
        if nxt is not None and alnum_key(text[e:nxt]):
            e = _trim(text, s, nxt)[1]
        fixed.append((s, e))
    first_s = fixed[0][0]
    if alnum_key(text[a:first_s]):
        fixed[0] = (_trim(text, a, fixed[0][1])[0], fixed[0][1])
    last_e = fixed[-1][1]
    if alnum_key(text[last_e:b]):
        fixed[-1] = (fixed[-1][0], _trim(text, fixed[-1][0], b)[1])
    return fixed


@lru_cache(maxsize=4096)
def _split_cached(text: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b, kind in _paragraphs(text):
        if kind == "bullet":
            m = _BULLET.match(text, a)
            a = _trim(text, m.end() if m else a, b)[0]
            if a >= b:
                continue
        if kind in ("table", "heading"):
            out.append((a, b))
        else:
            out.extend(_segment(text, a, b))
    # bullets run into a line ("… the following: • Sexual Harm … • HMRC …") split it
    split_out: list[tuple[int, int]] = []
    for a, b in out:
        cut = a
        for m in _INLINE_BULLET.finditer(text, a, b):
            if alnum_key(text[cut : m.start()]):
                split_out.append(_trim(text, cut, m.start()))
            cut = m.start()
        split_out.append(_trim(text, cut, b))
    cleaned = []
    for a, b in split_out:
        # a bullet run into a line ("… the following: • Sexual Harm …") starts a sentence
        while a < b and text[a] in _BULLET_SYMBOLS:
            a = _trim(text, a + 1, b)[0]
        if a < b and alnum_key(text[a:b]):
            cleaned.append((a, b))
    return tuple(cleaned)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``: ``text[s:e]`` is each sentence, verbatim, in order."""
    if not text or not text.strip():
        return []
    return list(_split_cached(text))


@lru_cache(maxsize=None)
def _counts(ch: str) -> bool:
    return bool(alnum_key(ch))


@lru_cache(maxsize=256)
def _alnum_positions(text: str) -> tuple[int, ...]:
    """Positions of the characters that `alnum_key` keeps (letters and digits)."""
    return tuple(i for i, ch in enumerate(text) if _counts(ch))


def source_span(
    chunk_text: str,
    char_start: int,
    char_end: int,
    span: tuple[int, int],
    source_text: str | None = None,
) -> tuple[int, int, bool]:
    """Offsets in the source of ``chunk_text[span[0]:span[1]]``, and whether they are exact.

    With ``source_text`` (the full text the chunk's ``char_start``/``char_end`` refer to) the
    sentence's first and last letter or digit are aligned with the source slice, so the
    result is exact. Without it, ``char_start + offset`` clamped to the chunk.
    """
    a, b = span
    if source_text is not None and 0 <= char_start <= char_end <= len(source_text):
        source = source_text[char_start:char_end]
        tpos = _alnum_positions(chunk_text)
        spos = _alnum_positions(source)
        if tpos and len(tpos) == len(spos):
            first = next((k for k, p in enumerate(tpos) if p >= a), None)
            last = next((k for k in range(len(tpos) - 1, -1, -1) if tpos[k] < b), None)
            if first is not None and last is not None and last >= first:
                s = char_start + spos[first]
                e = char_start + spos[last] + 1
                # keep closing punctuation that follows the last letter in both texts
                tail = chunk_text[tpos[last] + 1 : b]
                if tail and source_text[e : e + len(tail)] == tail:
                    e += len(tail)
                head = chunk_text[a : tpos[first]]
                if head and source_text[s - len(head) : s] == head:
                    s -= len(head)
                return s, e, True
    s = min(char_start + a, char_end)
    e = min(char_start + b, char_end)
    return s, max(s, e), False


def n_words(text: str) -> int:
    """Words (letters/digits, with inner apostrophes) in ``text``."""
    return len(_WORD.findall(text))


def evidence_spans(text: str) -> list[tuple[int, int]]:
    """The sentence spans of a chunk's text that count as evidence (at least MIN_WORDS
    words); the whole text, trimmed, when no sentence qualifies."""
    spans = [(a, b) for a, b in split_sentences(text) if n_words(text[a:b]) >= MIN_WORDS]
    if not spans and text.strip():
        a = len(text) - len(text.lstrip())
        spans = [(a, len(text.rstrip()))]
    return spans


def span_text(text: str, span: tuple[int, int]) -> str:
    """What is embedded for one span."""
    return text[span[0] : span[1]][:MAX_CHARS]
