"""UK police forces: canonical names, the ways documents spell them, and a fast finder.

Three kinds of name, matched differently because they mislead differently:

* full names ("Kent Police", "Avon & Somerset Constabulary") are a force wherever they
  occur, in any letter case (PDF titles are often in capitals);
* acronyms and nicknames ("GMP", "the Met") are matched in their own letter case only,
  so "met police" (a verb) and "MPs" (members of Parliament) do not count;
* bare area names ("Kent", "Essex") are also the county, so they count only in a force
  context: near "force", "police" or "constabulary", in a list with another force, or
  anywhere in a text that is itself about a force (a title, a file name).

An inspectorate, a police and crime commissioner or the College of Policing is never a
force: none of their names is in the list, and the finder only knows listed names.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Force:
    """One police force and the names it goes by."""

    name: str  # canonical
    kind: str  # "territorial" | "national" | "crown-dependency"
    country: str
    places: tuple[str, ...] = ()  # bare area names: a force only in a force context
    names: tuple[str, ...] = ()  # other full names, matched in any letter case
    short: tuple[str, ...] = ()  # acronyms and nicknames, matched in their own case


@dataclass(frozen=True)
class ForceMention:
    """Where a text names a force, and which one."""

    name: str  # canonical
    start: int
    end: int
    surface: str  # as written

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


def _area(place: str, suffix: str, country: str = "England", *, also: tuple[str, ...] = (),
          short: tuple[str, ...] = (), places: tuple[str, ...] = ()) -> Force:
    """A territorial force called '<place> <suffix>', also known as '<place> Police|Constabulary'."""
    areas = (place, *places)
    names = tuple(f"{p} {s}" for p in areas for s in ("Police", "Constabulary")) + also
    return Force(f"{place} {suffix}", "territorial", country, areas, names, short)


FORCES: tuple[Force, ...] = (
    _area("Avon and Somerset", "Constabulary"),
    _area("Bedfordshire", "Police"),
    _area("Cambridgeshire", "Constabulary"),
    _area("Cheshire", "Constabulary"),
    _area("City of London", "Police", short=("CoLP",)),
    _area("Cleveland", "Police"),
    _area("Cumbria", "Constabulary"),
    _area("Derbyshire", "Constabulary"),
    _area("Devon and Cornwall", "Police"),
    _area("Dorset", "Police"),
    _area("Durham", "Constabulary"),
    _area("Dyfed-Powys", "Police", "Wales"),
    _area("Essex", "Police"),
    _area("Gloucestershire", "Constabulary"),
    _area("Greater Manchester", "Police", short=("GMP",)),
    _area("Gwent", "Police", "Wales"),
    # Renamed from Hampshire Constabulary in 2022; older reports use the old name.
    _area("Hampshire and Isle of Wight", "Constabulary", places=("Hampshire",)),
    _area("Hertfordshire", "Constabulary"),
    _area("Humberside", "Police"),
    _area("Kent", "Police"),
    _area("Lancashire", "Constabulary"),
    _area("Leicestershire", "Police"),
    _area("Lincolnshire", "Police"),
    _area("Merseyside", "Police"),
    Force("Metropolitan Police Service", "territorial", "England",
          names=("Metropolitan Police", "Metropolitan Police Force"),
          short=("the Met", "Met Police", "Met Police Service", "MPS")),
    _area("Norfolk", "Constabulary"),
    _area("North Wales", "Police", "Wales"),
    _area("North Yorkshire", "Police", short=("NYP",)),
    _area("Northamptonshire", "Police"),
    _area("Northumbria", "Police"),
    _area("Nottinghamshire", "Police"),
    _area("South Wales", "Police", "Wales"),
    _area("South Yorkshire", "Police", short=("SYP",)),
    _area("Staffordshire", "Police"),
    _area("Suffolk", "Constabulary"),
    _area("Surrey", "Police"),
    _area("Sussex", "Police"),
    _area("Thames Valley", "Police", short=("TVP",)),
    _area("Warwickshire", "Police"),
    _area("West Mercia", "Police"),
    _area("West Midlands", "Police", short=("WMP",)),
    _area("West Yorkshire", "Police", short=("WYP",)),
    _area("Wiltshire", "Police"),
    Force("Police Scotland", "territorial", "Scotland", names=("Police Service of Scotland",), short=("PSoS",)),
    Force("Police Service of Northern Ireland", "territorial", "Northern Ireland",
          names=("Northern Ireland Police Service",), short=("PSNI",)),
    Force("British Transport Police", "national", "UK", short=("BTP",)),
    Force("Civil Nuclear Constabulary", "national", "UK", names=("Civil Nuclear Police",), short=("CNC",)),
    Force("Ministry of Defence Police", "national", "UK", names=("MoD Police", "MOD Police"), short=("MDP", "MoDP")),
    Force("States of Jersey Police", "crown-dependency", "Jersey", names=("Jersey Police",)),
    Force("Isle of Man Constabulary", "crown-dependency", "Isle of Man", names=("Isle of Man Police",)),
    Force("Guernsey Police", "crown-dependency", "Guernsey", names=("States of Guernsey Police",)),
)


def _key(name: str) -> str:
    """'Avon & Somerset', 'avon and  somerset' → one lookup key."""
    s = name.casefold().replace("&", " and ").replace("’", "'")
    s = re.sub(r"[\s\-–]+", " ", s).strip(" .,'")
    return s.removeprefix("the ")


_SEP = r"[\s\-–]+"  # words may be split by line breaks (PDF text) or hyphens ("Dyfed Powys")
_SUFFIXES = {"Police", "Constabulary", "Service", "Force"}


def _spellings(name: str, *, any_case: bool) -> list[str]:
    """The literal forms of ``name`` to match: "and" or "&"; with ``any_case``, Title and
    CAPITAL words, and a lower-case "police" as newspapers write it."""
    spellings = [""]
    for w in (w for w in re.split(_SEP, name) if w):
        if w == "and":
            options = ["and", "&", "AND"] if any_case else ["and", "&"]
        elif w == "the" and not any_case:
            options = ["the", "The"]
        elif any_case:
            options = list(dict.fromkeys([w, w.upper(), w.title(), *([w.lower()] if w in _SUFFIXES else [])]))
        else:
            options = [w]
        spellings = [f"{s} {o}" if s else o for s in spellings for o in options]
    return spellings


def _trie_regex(strings: list[str]) -> str:
    """One alternation shaped as a prefix tree: the engine tests one branch per character
    instead of every name at every position (10 MB in about 0.3 s, not 4 s)."""
    root: dict = {}
    for s in strings:
        node = root
        for ch in s:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict) -> str:
        alts = [(_SEP if ch == " " else re.escape(ch)) + walk(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return walk(root)


_BY_KEY: dict[str, str] = {}
for _f in FORCES:
    for _n in (_f.name, *_f.names, *_f.short, *_f.places):
        _BY_KEY.setdefault(_key(_n), _f.name)
_BY_KEY["met"] = "Metropolitan Police Service"  # a user's spelling; too risky in running text
_PLACE_KEYS = {_key(p) for f in FORCES for p in f.places}

_FINDER = re.compile(
    r"\b(?:"
    + _trie_regex(
        [s for f in FORCES for n in (f.name, *f.names) for s in _spellings(n, any_case=True)]
        + [s for f in FORCES for n in (*f.short, *f.places) for s in _spellings(n, any_case=False)]
    )
    + r")\b(?!\s+Office)"  # "the Met Office" is the weather service
)
_CONTEXT = re.compile(r"\b(?:forces?|police|constabular(?:y|ies)|O?PF?CCs?)\b", re.IGNORECASE)
_LIST_GAP = re.compile(r"\s*(?:,|/|,?\s*(?:and|&|or))\s*")
_BEFORE, _AFTER = 40, 25  # characters either side of a bare area name searched for context


def find_forces(text: str, *, force_context: bool = False) -> list[ForceMention]:
    """Every force named in ``text``, in order.

    ``force_context``: the whole text is about a force (a title, a file name), so a bare
    area name ("Essex") counts without a nearby "police" or "force".
    """
    out: list[ForceMention] = []
    for m in _FINDER.finditer(text):
        start, end = m.span()
        key = _key(m.group())
        if key in _PLACE_KEYS and not force_context:
            in_list = bool(out) and _LIST_GAP.fullmatch(text, out[-1].end, start) is not None
            if not in_list and not _CONTEXT.search(text[max(0, start - _BEFORE): end + _AFTER]):
                continue
        name = _BY_KEY.get(key)
        if name:
            out.append(ForceMention(name, start, end, m.group()))
    return out


def canonical_force(name: str) -> str | None:
    """The canonical name for any spelling of a force ('Kent', 'the Met', 'GMP'), else None."""
    if not name or not name.strip():
        return None
    hit = _BY_KEY.get(_key(name))
    if hit:
        return hit
    # A bare area name inside a longer phrase ("Essex County Council") is not a force;
    # capwords lets a lower-case spelling ("kent police force") match.
    found = {m.name for m in find_forces(string.capwords(name))}
    return found.pop() if len(found) == 1 else None


BY_NAME: dict[str, Force] = {f.name: f for f in FORCES}
DOMINANCE = 0.6  # share of the opening's force mentions the document's force must hold


def dominant_force(title: str, file_words: str, opening: str) -> str | None:
    """The one force a document is about, or None when it covers several forces or none.

    The force the title names (else the file name) must also hold ``DOMINANCE`` of the
    force mentions in ``opening``; with neither naming one, the most mentioned force must
    hold that share and be named at least twice. A title naming several forces means a
    document about several.
    """
    named = {m.name for m in find_forces(title, force_context=True)}
    if not named:
        named = {m.name for m in find_forces(file_words, force_context=True)}
    if len(named) > 1:
        return None
    counts = Counter(m.name for m in find_forces(opening))
    total = sum(counts.values())
    if named:
        force = named.pop()
        return force if not total or counts[force] / total >= DOMINANCE else None
    if not counts:
        return None
    force, n = counts.most_common(1)[0]
    return force if n >= 2 and n / total >= DOMINANCE else None
