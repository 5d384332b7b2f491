"""One text analyser for matching words: the word pattern and the Snowball stemmer.

BM25, the answer's term overlap and the app's highlighting all decide "is this the same
word?" the same way: a word is letters/digits with inner apostrophes, folded to lower case,
its possessive "'s" dropped, then stemmed by PyStemmer's English (Porter2) stemmer.
"""

from __future__ import annotations

import re
import threading

import Stemmer

__all__ = ["WORD", "STEMMER_LANGUAGE", "stemmer", "normalise_word", "stem", "stems_of"]

STEMMER_LANGUAGE = "english"
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")

_local = threading.local()  # PyStemmer objects are not thread-safe: one per thread


def stemmer() -> Stemmer.Stemmer:
    """This thread's Snowball stemmer."""
    s = getattr(_local, "stemmer", None)
    if s is None:
        s = _local.stemmer = Stemmer.Stemmer(STEMMER_LANGUAGE)
    return s


def normalise_word(word: str) -> str:
    """Lower case, typographic apostrophe folded, possessive "'s" dropped."""
    w = word.lower().replace("’", "'")
    return w[:-2] if w.endswith("'s") else w


def stem(word: str) -> str:
    """The stem two spellings of one word share ("orders" / "order's" → "order")."""
    return stemmer().stemWord(normalise_word(word))


def stems_of(text: str) -> set[str]:
    """The stems of every word in ``text``."""
    return {stem(m.group(0)) for m in WORD.finditer(text)}
