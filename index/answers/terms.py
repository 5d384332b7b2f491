"""The question's terms as evidence selection weighs them, and where they occur in a sentence.

Words are matched by stem (`index.text`); glossary concepts (an acronym and its full
names) count as one concept; quoted phrases count whole. Generic words of the field
(force, police, inspection …) and the inspectorate's own acronyms weigh little and are not
highlighted; in change-over-time questions the words about time (change, trend …) are not
content at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.query.glossary import Glossary
from index.query.parse import ParsedQuery
from index.text import WORD, normalise_word, stem

__all__ = ["Terms", "SentenceFeatures", "query_terms", "features", "present", "highlights",
           "GENERIC_WEIGHT", "YEAR_WEIGHT", "CONCEPT_WEIGHT", "PHRASE_WEIGHT"]

GENERIC_WEIGHT, YEAR_WEIGHT, CONCEPT_WEIGHT, PHRASE_WEIGHT = 0.3, 0.5, 1.5, 1.5

_STOP = frozenset(
    """a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can could did didn't do does doesn't doing
    don't down during each either else ever every few for from further get gets got had has
    hasn't have haven't having he her here hers him his how however i if in into is isn't it
    it's its itself just let like ll made make makes many may me might more most much must
    my no nor not now of off on once one only or other ought our ours out over own per please
    quite rather re really s same say says said shall she should shouldn't show shows so some
    such t than that that's the their theirs them then there there's these they this those
    through thus to too under until up upon us very via was wasn't we were weren't what
    what's when where which while who whom whose why will with within without won't would
    wouldn't yes yet you your yours tell give gives given find found know known list describe
    explain anything something thing things kind way ways use used uses using happen happened
    happening there's lot lots""".split()
)
# words that say "over time" rather than what about: not content terms
_TIME_VOCAB = frozenset(
    """change changed changes changing trend trends trending time times over compare compared
    compares comparing comparison comparisons versus vs since progress evolve evolved
    evolving year years yearly period periods better worse improve improved improving
    improvement improvements increase increased increasing decrease decreased decreasing
    rise rose risen fall fell fallen drop dropped decline declined difference differences
    between before after earlier later previous previously last now then today currently
    current""".split()
)
_GENERIC = frozenset(
    """force forces police policing essex constabulary hmic hmicfrs inspection inspections
    inspectorate report reports peel officer officers staff""".split()
)
# the inspectorate and its framework: in a corpus of inspection reports, no more telling
# than "force" or "police"
_GENERIC_CONCEPTS = frozenset({"HMIC", "HMICFRS", "PEEL", "IPA"})
_YEARLIKE = re.compile(r"^(?:199\d|20[0-2]\d|203[0-5])$")
_FISCAL = re.compile(r"\b((?:19|20)(\d{2}))\s*[/-]\s*(\d{2})\b")


@dataclass
class Terms:
    words: dict[str, float]  # stem → weight
    highlight_stems: set[str]
    concepts: dict[str, float]  # glossary acronym → weight
    phrases: list[str]  # casefolded, whitespace-normalised

    @property
    def empty(self) -> bool:
        return not (self.words or self.concepts or self.phrases)


@dataclass
class SentenceFeatures:
    stems: set[str]
    concepts: set[str]
    folded: str


def query_terms(pq: ParsedQuery, glossary: Glossary) -> Terms:
    """The question's weighted content words, glossary concepts and quoted phrases."""
    # "2018/19" → "2018/2019" (same length class): the "19" is a year, not a figure
    text = _FISCAL.sub(lambda m: f"{m.group(1)}/{m.group(1)[:2]}{m.group(3)}", pq.text)
    matches = glossary.find(text)
    covered = [(m.start, m.end) for m in matches]
    concepts = {
        m.acronym: GENERIC_WEIGHT if m.acronym.upper() in _GENERIC_CONCEPTS else CONCEPT_WEIGHT for m in matches
    }
    words: dict[str, float] = {}
    highlight: set[str] = set()
    for m in WORD.finditer(text):
        if any(a <= m.start() < b for a, b in covered):
            continue
        base = normalise_word(m.group(0))
        if base in _STOP or len(base) < 2:
            continue
        if base in _TIME_VOCAB and pq.temporal:
            continue
        if _YEARLIKE.match(base):
            weight = YEAR_WEIGHT
        elif base in _GENERIC:
            weight = GENERIC_WEIGHT
        elif base.isdigit():
            weight = 0.7
        elif base in _TIME_VOCAB:
            weight = 0.5
        else:
            weight = 1.0
        s = stem(base)
        words[s] = max(words.get(s, 0.0), weight)
        if base not in _GENERIC:
            highlight.add(s)
    phrases = [re.sub(r"\s+", " ", p.casefold()) for p in pq.phrases if len(p.split()) > 1]
    return Terms(words, highlight, concepts, phrases)


def features(sentence: str, glossary: Glossary) -> SentenceFeatures:
    """What term overlap looks for in one sentence."""
    stems = {stem(m.group(0)) for m in WORD.finditer(sentence)}
    concepts = {m.acronym for m in glossary.find(sentence)}
    return SentenceFeatures(stems, concepts, re.sub(r"\s+", " ", sentence.casefold()))


def present(terms: Terms, f: SentenceFeatures) -> tuple[list[str], list[str], list[str]]:
    """The question's words, concepts and phrases found in a sentence."""
    return (
        [s for s in terms.words if s in f.stems],
        [c for c in terms.concepts if c in f.concepts],
        [p for p in terms.phrases if p in f.folded],
    )


def highlights(sentence: str, terms: Terms, glossary: Glossary) -> list[tuple[int, int]]:
    """Spans of the question's terms in ``sentence``, merged where only spaces or dashes
    separate them."""
    spans: list[tuple[int, int]] = []
    for m in WORD.finditer(sentence):
        if stem(m.group(0)) in terms.highlight_stems:
            spans.append((m.start(), m.end()))
    if terms.concepts:
        for g in glossary.find(sentence):
            if g.acronym in terms.concepts and g.acronym.upper() not in _GENERIC_CONCEPTS:
                spans.append((g.start, g.end))
    low = sentence.casefold()
    for p in terms.phrases:
        for m in re.finditer(re.escape(p).replace(r"\ ", r"\s+"), low):
            spans.append((m.start(), m.end()))
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for a, b in spans[1:]:
        pa, pb = merged[-1]
        if a <= pb or (a - pb <= 3 and not sentence[pb:a].strip(" -‐‑–")):
            merged[-1] = (pa, max(pb, b))
        else:
            merged.append((a, b))
    return merged
