"""Safe HTML for passages: document text is untrusted and always escaped.

Only the markup made here (highlights, citations) reaches the page as HTML; anything in a
report that looks like markup or script is shown as text.
"""

from __future__ import annotations

import html

from index.text import WORD, normalise_word, stem

_STOP = frozenset(
    "a an and are as at be been by can did do does for from had has have how in into is it its of on or "
    "so than that the their them there these this those to use used was were what when where which who why will "
    "with would about over between since after before during change changed changes force police".split()
)


def query_stems(query: str, extra: list[str] | tuple[str, ...] = ()) -> frozenset[str]:
    """Stems of the query's content words (and expansion terms), for highlighting."""
    words = WORD.findall(query + " " + " ".join(extra))
    return frozenset(stem(w) for w in words if normalise_word(w) not in _STOP and (len(w) > 2 or w.isupper()))


def _matches(word: str, stems: frozenset[str]) -> bool:
    if stem(word) in stems:
        return True
    # Snowball keeps the "s" of acronym plurals ("DVPOs" → "dvpos"): try without it.
    return word[:-1].isupper() and word.endswith("s") and stem(word[:-1]) in stems


def term_spans(text: str, stems: frozenset[str]) -> list[tuple[int, int]]:
    """Spans of words in ``text`` whose stem is one of ``stems``."""
    if not stems:
        return []
    return [(m.start(), m.end()) for m in WORD.finditer(text) if _matches(m.group(), stems)]


def highlight_html(text: str, sentence_spans: list[tuple[int, int]], terms: list[tuple[int, int]]) -> str:
    """Escaped ``text`` with answering sentences in <mark> and query terms in <b>."""
    events: list[tuple[int, int, str]] = []  # (position, order, tag): closes sort before opens
    for a, b in sentence_spans:
        events += [(a, 1, '<mark class="peel-answer">'), (b, 0, "</mark>")]
    for a, b in terms:
        events += [(a, 2, "<b>"), (b, -1, "</b>")]
    events.sort()
    out, pos = [], 0
    open_terms = 0
    for at, order, tag in events:
        out.append(html.escape(text[pos:at]))
        pos = at
        # A term never spans a sentence edge, but guard anyway: close <b> before </mark>.
        if tag == "</mark>" and open_terms:
            out.append("</b>")
            open_terms = 0
        if tag == "<b>":
            open_terms += 1
        elif tag == "</b>":
            if not open_terms:
                continue
            open_terms -= 1
        out.append(tag)
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def sentence_spans_in(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Where each verbatim evidence sentence sits in a passage (first occurrence)."""
    spans = []
    for s in sentences:
        i = text.find(s)
        if i >= 0:
            spans.append((i, i + len(s)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
