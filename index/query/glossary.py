"""Acronym glossary: a curated file merged with "full name (ACR)" pairs mined from reports.

    g = load_glossary(extra_texts=[chunk.text for chunk in chunks])
    g.expand("How did DVPO use change?")
    # ['domestic violence protection order', 'domestic violence prevention order']
    g.expand("registered sex offenders in Essex")   # ['RSO']

Matching rules
--------------
* An acronym in a question is a whole word, in any case ("dvpo", "DVPOs": a plural "s"
  is allowed), except for entries marked ``exact_case`` (acronyms that are also English
  words: GAIN, SET, THRIVE, DASH …) which only match as written in capitals, and two-letter
  acronyms, which never match in lower case ("da", "it").
* A full name in a question matches case-insensitively, loose on plurals ("orders"),
  hyphens and spaces ("anti-social" = "antisocial" = "anti social"), "and" = "&" and
  -our/-or spellings. Only names of two or more words are looked for.
* ``expand`` returns, for each acronym found, its full names (canonical first, then
  aliases); for each full name found, the acronym and the entry's other names. Terms
  already in the question are not repeated.

Mining: `index.query.acronyms`.
"""

from __future__ import annotations

import re
import threading
import tomllib
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from index.query.acronyms import MAX_ACRONYM_LETTERS, mine_acronym_pairs

__all__ = [
    "glossary_for",
    "GlossaryEntry",
    "GlossaryMatch",
    "Glossary",
    "GlossaryError",
    "load_glossary",
    "default_glossary",
    "DEFAULT_GLOSSARY_PATH",
]

DEFAULT_GLOSSARY_PATH = Path(__file__).resolve().parents[2] / "data" / "glossary.toml"



class GlossaryError(ValueError):
    """The glossary file cannot be read; the message says which file and why."""


@dataclass
class GlossaryEntry:
    acronym: str  # as usually written, singular: "DVPO", "ViSOR"
    names: list[str]  # canonical full name first, then aliases
    exact_case: bool = False
    source: str = "curated"  # "curated" | "mined"

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class GlossaryMatch:
    """Where an entry occurs in a text: as its acronym or as one of its names."""

    start: int
    end: int
    acronym: str  # the entry's key
    kind: str  # "acronym" | "name"
    name_index: int = -1  # which of entry.names matched (kind == "name")


# --- helpers --------------------------------------------------------------------------

_WORD_IN_NAME = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|&")


def _name_words(name: str) -> list[str]:
    return _WORD_IN_NAME.findall(name)


def _word_pattern(word: str) -> str:
    """Regex for one word of a full name: loose on plural, apostrophe and -our/-or."""
    if word == "&" or word.lower() == "and":
        return r"(?:and|&)"
    w = word.lower().replace("’", "'")
    possessive = ""
    if w.endswith("'s"):
        w, possessive = w[:-2], r"(?:['’]?s)?"
    if len(w) > 3 and w.endswith("ies"):
        stem, plural = re.escape(w[:-3]), r"(?:y|ies)"
    elif len(w) > 3 and w.endswith("y") and w[-2] not in "aeiou":
        stem, plural = re.escape(w[:-1]), r"(?:y|ies)"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        stem, plural = re.escape(w[:-1]), r"(?:e?s)?"
    elif len(w) > 3 and w.endswith(("s", "x", "ch", "sh")):
        stem, plural = re.escape(w), r"(?:es)?"
    else:
        stem, plural = re.escape(w), r"(?:s)?"
    stem = stem.replace("our", "ou?r")
    stem = stem.replace("'", "['’]?")
    return stem + plural + possessive


_SEP = r"[\s\-‐‑–—,./'’]*"


def _name_regex(name: str) -> re.Pattern[str] | None:
    words = _name_words(name)
    if len(words) < 2:
        return None
    body = _SEP.join(_word_pattern(w) for w in words)
    return re.compile(r"(?<![A-Za-z0-9])" + body + r"(?![A-Za-z0-9])", re.IGNORECASE)


def _norm_name(name: str) -> str:
    """Comparison key for names: lower-case words, singular-ish, and/& folded."""
    out = []
    for w in _name_words(name.casefold()):
        if w in ("and", "&"):
            w = "and"
        elif len(w) > 3 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
            w = w[:-1]
        w = w.replace("’", "'").replace("our", "or")
        out.append(w)
    return " ".join(out)


_TOKEN = re.compile(r"(?<![A-Za-z0-9&])[A-Za-z][A-Za-z&]*(?![A-Za-z0-9&])")


# --- the glossary ----------------------------------------------------------------------


class Glossary:
    """Acronyms and their full names; immutable once built, safe to share across threads."""

    def __init__(self, entries: Iterable[GlossaryEntry] = ()) -> None:
        self.entries: dict[str, GlossaryEntry] = {}
        for e in entries:
            self.entries[e.acronym] = e
        self._by_upper: dict[str, list[GlossaryEntry]] = {}
        for e in self.entries.values():
            self._by_upper.setdefault(e.acronym.upper(), []).append(e)
        self._name_res: list[tuple[GlossaryEntry, int, re.Pattern[str]]] = []
        for e in self.entries.values():
            for i, name in enumerate(e.names):
                rx = _name_regex(name)
                if rx is not None:
                    self._name_res.append((e, i, rx))

    @classmethod
    def empty(cls) -> "Glossary":
        return cls(())

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, acronym: str) -> bool:
        return self.get(acronym) is not None

    def __repr__(self) -> str:
        return f"Glossary({len(self)} entries)"

    def get(self, acronym: str) -> GlossaryEntry | None:
        """The entry for an acronym as written (any case; "DVPOs" finds DVPO)."""
        for cand in (acronym, acronym[:-1] if acronym[-1:] in "sS" and len(acronym) > 2 else None):
            if cand:
                found = self._by_upper.get(cand.upper())
                if found:
                    exact = [e for e in found if e.acronym == cand]
                    return (exact or found)[0]
        return None

    def _acronym_entry(self, token: str) -> GlossaryEntry | None:
        candidates = [token]
        if len(token) > 2 and token[-1] in "sS":
            candidates.append(token[:-1])
        for cand in candidates:
            for e in self._by_upper.get(cand.upper(), ()):
                if cand == e.acronym or cand == e.acronym.upper():
                    return e
                if e.exact_case or len(e.acronym) <= 2:
                    continue
                return e
        return None

    def find(self, text: str) -> list[GlossaryMatch]:
        """Every acronym and full-name occurrence in ``text``, in order of position.

        Name matches that lie inside a longer name match of another entry are kept (a
        question about "domestic abuse, stalking and harassment" is also about "domestic
        abuse"); acronym matches never overlap each other.
        """
        if not text or not self.entries:
            return []
        out: list[GlossaryMatch] = []
        for m in _TOKEN.finditer(text):
            tok = m.group(0)
            if len(tok) > MAX_ACRONYM_LETTERS + 1:
                continue
            e = self._acronym_entry(tok)
            if e is not None:
                out.append(GlossaryMatch(m.start(), m.end(), e.acronym, "acronym"))
        seen: set[tuple[int, int, str]] = set()
        for e, i, rx in self._name_res:
            for m in rx.finditer(text):
                key = (m.start(), m.end(), e.acronym)
                if key in seen:
                    continue
                seen.add(key)
                out.append(GlossaryMatch(m.start(), m.end(), e.acronym, "name", i))
        out.sort(key=lambda g: (g.start, -(g.end - g.start)))
        return out

    def expand(self, query: str) -> list[str]:
        """Expansion terms for a question: full names of its acronyms, acronyms of its names.

        Terms come in order of where their trigger occurs; none repeats, and none that the
        question already contains (as a whole phrase, any case) is returned.
        """
        if not query or not self.entries:
            return []
        terms: list[str] = []
        seen: set[str] = set()
        low_query = query.casefold()

        def add(term: str) -> None:
            key = _norm_name(term) or term.casefold()
            if key in seen:
                return
            seen.add(key)
            if re.search(r"(?<![a-z0-9])" + re.escape(term.casefold()) + r"(?![a-z0-9])", low_query):
                return
            terms.append(term)

        for m in self.find(query):
            e = self.entries[m.acronym]
            if m.kind == "acronym":
                seen.add(e.acronym.casefold())
                for name in e.names:
                    add(name)
            else:
                seen.add(_norm_name(e.names[m.name_index]))
                add(e.acronym)
                for j, name in enumerate(e.names):
                    if j != m.name_index:
                        add(name)
        return terms

    def merged(self, other: "Glossary") -> "Glossary":
        """This glossary with ``other``'s entries added; where both have an acronym, this
        one's names come first and ``other``'s differing names follow as aliases."""
        entries = {k: GlossaryEntry(e.acronym, list(e.names), e.exact_case, e.source) for k, e in self.entries.items()}
        upper = {e.acronym.upper(): e for e in entries.values()}
        for e in other.entries.values():
            mine = entries.get(e.acronym) or upper.get(e.acronym.upper())
            if mine is None:
                new = GlossaryEntry(e.acronym, list(e.names), e.exact_case, e.source)
                entries[e.acronym] = new
                upper[e.acronym.upper()] = new
                continue
            keys = {_norm_name(n) for n in mine.names}
            for name in e.names:
                if _norm_name(name) not in keys:
                    keys.add(_norm_name(name))
                    mine.names.append(name)
        return Glossary(entries.values())


def _parse_file(path: Path) -> list[GlossaryEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GlossaryError(f"Glossary file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GlossaryError(f"Glossary file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GlossaryError(f"Glossary file {path} is not valid TOML: {exc}") from None
    entries = []
    for acr, value in data.items():
        if isinstance(value, str):
            names, exact = [value], False
        elif isinstance(value, dict) and isinstance(value.get("name"), str):
            aliases = value.get("aliases", [])
            if isinstance(aliases, str):
                aliases = [aliases]
            names = [value["name"], *[a for a in aliases if isinstance(a, str)]]
            exact = bool(value.get("exact_case", False))
        else:
            raise GlossaryError(
                f"Glossary file {path}: entry {acr!r} must be a string or a table with a 'name'."
            )
        names = [n.strip() for n in names if n and n.strip()]
        if not names or not str(acr).strip():
            continue
        entries.append(GlossaryEntry(str(acr).strip(), names, exact, "curated"))
    return entries


def _mined_glossary(texts: Iterable[str]) -> Glossary:
    pairs: list[tuple[str, str]] = []
    lower_words: set[str] = set()
    for text in texts:
        if not text:
            continue
        pairs.extend(mine_acronym_pairs(text))
        lower_words.update(re.findall(r"(?<![A-Za-z])[a-z]{2,12}(?![A-Za-z])", text))
    by_acr: dict[str, list[str]] = {}
    counts: dict[tuple[str, str], int] = {}
    for acr, name in pairs:
        k = (acr, _norm_name(name))
        counts[k] = counts.get(k, 0) + 1
        lst = by_acr.setdefault(acr, [])
        if all(_norm_name(n) != k[1] for n in lst):
            lst.append(name)
    entries = []
    for acr, names in by_acr.items():
        names.sort(key=lambda n: -counts[(acr, _norm_name(n))])  # most frequent spelling first
        # an acronym that is also a word of the text ("gain", "set") only matches in capitals
        exact = len(acr) <= 2 or acr.lower() in lower_words or not acr.isupper()
        entries.append(GlossaryEntry(acr, names[:3], exact, "mined"))
    return Glossary(entries)


def load_glossary(path: str | Path | None = None, extra_texts: Iterable[str] = ()) -> Glossary:
    """The curated glossary (``path``, default ``data/glossary.toml``) merged with the pairs
    mined from ``extra_texts``. For an acronym in both, the curated names come first and
    mined spellings that differ are kept as aliases. A missing *default* file gives a
    glossary of mined pairs only; a missing or malformed explicit file raises GlossaryError.
    """
    if path is None:
        p = DEFAULT_GLOSSARY_PATH
        curated = Glossary(_parse_file(p)) if p.is_file() else Glossary.empty()
    else:
        curated = Glossary(_parse_file(Path(path)))
    texts = list(extra_texts) if extra_texts else []
    if not texts:
        return curated
    return curated.merged(_mined_glossary(texts))


_DEFAULT: Glossary | None = None
_DEFAULT_LOCK = threading.Lock()


def default_glossary() -> Glossary:
    """The curated default glossary, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = load_glossary()
    return _DEFAULT


_PER_SEARCHER: "weakref.WeakKeyDictionary[Any, Glossary]" = weakref.WeakKeyDictionary()


def glossary_for(searcher: Any) -> Glossary:
    """The curated glossary plus the "full name (ACR)" pairs mined from ``searcher.chunks``,
    built once per searcher: a user's own reports bring acronyms the curated file lacks."""
    with _DEFAULT_LOCK:
        g = _PER_SEARCHER.get(searcher)
    if g is None:
        g = load_glossary(extra_texts=[c.text for c in searcher.chunks])
        with _DEFAULT_LOCK:
            g = _PER_SEARCHER.setdefault(searcher, g)
    return g
