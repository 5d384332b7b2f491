"""Acronyms mined from report text: "full name (ACR)" pairs the curated glossary lacks.

Mining (``mine_acronyms``)
--------------------------
"full name (ACR)" — and the reverse "ACR (full name)" — where the acronym's letters match
the initials of the words of the name, read right to left from the parenthesis: small
words (of, and, the, for, in, on, to, &…) may be skipped, a capitalised word ("UK", "DA")
may stand for all its letters, hyphenated words count as separate words
("multi-agency" → M, A), and a trailing plural ("PCSOs", "MASHs") is dropped. If no strict
reading fits, a word may also contribute later letters of itself in order ("police online
investigation team (POLIT)"), but every content word of the name must still contribute.
The shortest fitting name wins.
"""

from __future__ import annotations

import re

__all__ = ["mine_acronym_pairs", "mine_acronyms", "SMALL_WORDS", "MAX_ACRONYM_LETTERS"]

SMALL_WORDS = frozenset(
    "of and the for in on to a an at by with from or & its into".split()
)
MAX_ACRONYM_LETTERS = 10

# --- mining ----------------------------------------------------------------------------

_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\([^)\s]*\)")
_PAREN_ACR = re.compile(r"\(\s*([A-Z][A-Za-z&]{1,11})\s*\)")
_ACR_PAREN = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Za-z&]{1,11})\s*\(([^()\n]{3,160})\)")
_BOUNDARY = re.compile(r"[.;:!?()\[\]{}•|\"“”]|\n\s*\n")
_MINE_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*|&")


def _clean_for_mining(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    text = text.replace("\\(", "(").replace("\\)", ")")
    return text.replace("**", "").replace("__", "")


def _acronym_letters(acr: str) -> tuple[str, str] | None:
    """(key, letters) for an acronym as written, or None if it does not look like one."""
    key = acr
    if len(key) > 2 and key.endswith("s") and key[-2].isupper():
        key = key[:-1]
    letters = key.replace("&", "")
    if not letters.isalpha() or len(letters) < 2 or len(letters) > MAX_ACRONYM_LETTERS:
        return None
    n_upper = sum(ch.isupper() for ch in letters)
    if n_upper < 2 or n_upper * 3 < len(letters) * 2:
        return None
    return key, letters.upper()


def _is_subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


def _fits(letters: str, words: list[str], loose: bool) -> bool:
    """Can ``words`` (a whole candidate name) spell ``letters``?"""
    n, m = len(words), len(letters)
    memo: dict[tuple[int, int], bool] = {}

    def f(i: int, j: int) -> bool:
        if i == n:
            return j == m
        key = (i, j)
        if key in memo:
            return memo[key]
        w = words[i]
        small = w.lower() in SMALL_WORDS
        ok = False
        if small and i not in (0, n - 1):
            ok = f(i + 1, j)
        if not ok and j < m:
            if len(w) >= 2 and w.isupper() and w.isalpha() and letters.startswith(w, j):
                ok = f(i + 1, j + len(w))
            if not ok and w[0].upper() == letters[j]:
                ok = f(i + 1, j + 1)
            if not ok and loose and not small and w[0].upper() == letters[j]:
                rest = w[1:].upper()
                for c in range(2, m - j + 1):
                    if not _is_subsequence(letters[j + 1 : j + c], rest):
                        break
                    if f(i + 1, j + c):
                        ok = True
                        break
        memo[key] = ok
        return ok

    return f(0, 0)


def _singular_last(name: str) -> str:
    m = re.search(r"([A-Za-z]+)$", name)
    if not m:
        return name
    w = m.group(1)
    if len(w) > 4 and w.endswith("ies"):
        w2 = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w2 = w[:-1]
    else:
        return name
    return name[: m.start(1)] + w2


def _name_before(segment: str, letters: str) -> str | None:
    words_all = list(_MINE_WORD.finditer(segment))
    # hyphenated words are separate words; apostrophes stay inside a word
    words = [(m.start(), m.end(), m.group(0)) for m in words_all]
    if not words:
        return None
    limit = max(len(letters) * 2 + 2, 6)
    words = words[-limit:]
    for loose in (False, True):
        for s in range(len(words) - 1, -1, -1):
            span = [w for _, _, w in words[s:]]
            if span[0].lower() in SMALL_WORDS or span[-1].lower() in SMALL_WORDS:
                continue
            if len(span) > len(letters) + 4:
                break
            if _fits(letters, span, loose):
                return segment[words[s][0] :]
    return None


def _tidy(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,-–—'’")
    return name


def mine_acronym_pairs(text: str) -> list[tuple[str, str]]:
    """Every ("ACR", "full name") pair found in ``text``, in order (repeats kept).

    The acronym is singular ("RSOs" → "RSO"), and so is the name's last word when the
    acronym was plural ("registered sex offenders (RSOs)" → "registered sex offender").
    """
    if not text:
        return []
    text = _clean_for_mining(text)
    pairs: list[tuple[str, str]] = []
    for m in _PAREN_ACR.finditer(text):
        got = _acronym_letters(m.group(1))
        if got is None:
            continue
        key, letters = got
        start = max(0, m.start() - 400)
        before = text[start : m.start()]
        cut = None
        for b in _BOUNDARY.finditer(before):
            cut = b.end()
        if cut is not None:
            before = before[cut:]
        name = _name_before(before, letters)
        if name is None:
            continue
        name = _tidy(name)
        if key != m.group(1):
            name = _singular_last(name)
        pairs.append((key, name))
    for m in _ACR_PAREN.finditer(text):
        got = _acronym_letters(m.group(1))
        if got is None:
            continue
        key, letters = got
        inner = _tidy(m.group(2))
        words = _MINE_WORD.findall(inner)
        if len(words) < 2 or len(words) > len(letters) + 4 or inner.isupper():
            continue
        if _fits(letters, words, False) or _fits(letters, words, True):
            if key != m.group(1):
                inner = _singular_last(inner)
            pairs.append((key, inner))
    return pairs


def mine_acronyms(text: str) -> dict[str, str]:
    """{"ACR": "full name"} from "full name (ACR)" patterns; the first spelling seen wins."""
    out: dict[str, str] = {}
    for key, name in mine_acronym_pairs(text):
        out.setdefault(key, name)
    return out


# --- loading ---------------------------------------------------------------------------


