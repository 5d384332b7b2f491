"""``ask``: verbatim evidence sentences with citations, grouped by year for questions about
change over time.

    answer = ask(searcher, "How did DVPO use change 2016-2018?")
    print(format_answer_text(answer))

The searcher
------------
Anything with ``search(query, k=10, mode="hybrid", filters=Filters|None,
expansions=list[str]|None) -> list[Hit]``. Sentence embeddings come from
``searcher.encode_queries(list) / searcher.encode_texts(list)`` (normalised rows), or
``searcher.embedder.encode_queries / .encode``; without either, sentences are scored on
query terms only. Optional extras that are used when present: ``documents()`` (the years
of each document, for per-year searches), ``chunks`` (texts the glossary mines acronyms
from) and ``doc_text(doc_id) -> str`` (the source text, for exact sentence offsets).

How it works
------------
1. ``parse_query``: year range, change-over-time intent, glossary expansions (curated
   glossary + acronyms mined from the searcher's chunks, see `glossary_for`). The year
   range is intersected with any explicit ``filters``; expansions are appended to the
   search text (the dense query) and passed as ``expansions`` (BM25).
2. Passages: the top ``k_passages``. When the question is about change over time, or its
   years span two or more years, evidence is grouped by document period, and every period
   in range gets its own search (``filters.doc_ids`` = that period's documents, top
   ``max(3, ⌈k_passages/periods⌉)``), so each year that has any passages is represented
   ("2016" next to "2018/19"). Without ``documents()``: one search of
   ``max(4·k_passages, 24)`` passages, split by period with the same quota.
3. Sentences of those passages (``ingest.sentences.evidence_spans``) are scored::

       score = 0.60 · cosine(query, sentence) + 0.30 · term overlap + 0.10 · rank prior

   * cosine: the search text with the force's name removed when every document in scope
     is about one force ("Essex Police" says nothing about which sentence answers, and
     otherwise pulls in any sentence that names the force).
   * term overlap: weighted share of the question's content words (Snowball-stemmed),
     glossary concepts (an acronym and its full names count as one concept, weight 1.5)
     and quoted phrases (1.5) found in the sentence, each weighted by its rarity among the
     candidate sentences; generic words (force, police, Essex, inspection …) and the
     inspectorate's own acronyms (HMIC, HMICFRS, PEEL) weigh 0.3 and are not highlighted,
     years 0.5; words about time (change, trend, since …) do not count in temporal
     questions.
   * rank prior: 1/√rank of the passage in the result list it came from.
   * adjustments: × 0.85 under four words; × 0.8 for a heading-like line without figures;
     + 0.04 in temporal questions for a sentence that states a change (increased, fell,
     "from 196 … to 212", since, compared with …); + 0.05 when the question asks for a
     quantity ("how many", "what percentage" …) and the sentence has a figure (a
     percentage, for percentage/proportion/rate questions).
   * vectors: the index stores every chunk's sentence vectors (``index.engine.sentence_vectors``), so
     every sentence is scored without running the model. For a searcher without them, the
     8 best sentences per passage by term overlap (then position), at most 120 per
     question, are embedded (first 600 characters) and cached per searcher. Without an
     encoder: 0.75 · overlap + 0.25 · prior.
4. Per passage the best sentence is the evidence; a neighbour is shown as context
   (``context_before`` / ``context_after``) when the sentence introduces a list (ends
   with ":"), is heading-like or under six words, or the neighbour scores ≥ 0.85 of it. A
   second sentence of the same passage, not next to the first, is kept when it scores
   ≥ 0.88 of the best. Identical sentences (letters and digits) from different passages —
   folded or unfolded duplicates — are shown once.
5. Per group, evidence scoring below 0.75 × the group's best is dropped; at most
   ``max_sentences`` in total ("All years"), or ``max(2, min(3, ⌈max_sentences/groups⌉))``
   per period group, and 1 for a period with no close match (listed in
   ``Answer.weak_groups``). Groups are in chronological order; label = the document's
   years ("2016", "2018/19", "2014–2016"; "Undated" last). Otherwise one group, "All
   years".

Strong or weak (``Answer.strong``)
----------------------------------
``support(sentence) = cosine + 0.5 · term overlap``; the answer is strong when some scored
sentence has support ≥ ``STRONG_SUPPORT`` = 0.75 (without an encoder: term overlap ≥ 0.75).
The same rule per period group gives ``weak_groups``. Calibrated with all-MiniLM-L6-v2 on
the bundled Essex corpus and the 88 labelled questions of ``evals/queries.jsonl``:
questions the corpus cannot answer reach at most 0.72 (Taser use, COVID lockdown, deaths
in custody, sickness absence; one about Kent Police's cyber fraud reaches 0.86 because
the Essex report mentions Kent, cyber-crime and fraud together), while 60 of the 64
answerable factoid / acronym / temporal / analyst questions reach 0.75 or more. Checked
again with the adapted all-mpnet-base-v2: unanswerable at most 0.59 (Kent: 0.82), 63 of
the 64 at 0.75 or more, so the threshold stayed. Questions
phrased in slang with no shared words ("bobbies", "cabbies") mostly come out weak: their
nearest passages are still shown. When False the CLI says "No strong evidence found —
nearest passages:".
"""

from __future__ import annotations

import math
import re
import textwrap
import threading
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from ingest.records import alnum_key

from index.query.glossary import Glossary, load_glossary
from index.query.parse import ParsedQuery, parse_query
from index.records import Answer, Evidence, Hit
from ingest.sentences import evidence_spans, n_words as _n_words, span_text
from ingest.sentences import is_heading_like, source_span

__all__ = [
    "ask",
    "format_answer_text",
    "period_label",
    "merge_year_filters",
    "glossary_for",
    "support",
    "STRONG_LEX",
    "STRONG_SUPPORT",
]

# --- tunables --------------------------------------------------------------------------

W_COS, W_LEX, W_PRIOR = 0.60, 0.30, 0.10
W_LEX_ONLY, W_PRIOR_ONLY = 0.75, 0.25
SHORT_WORDS, SHORT_FACTOR = 4, 0.85
NEIGHBOUR_RATIO = 0.85  # a neighbour this close to the best sentence is shown as context
SECOND_RATIO = 0.88  # a second sentence of the same passage
KEEP_RATIO = 0.75  # evidence below this share of the group's best is dropped
HEADING_FACTOR = 0.8  # heading-like sentences without figures
CHANGE_BONUS = 0.04  # change-over-time questions: sentences that state a change
QUANTITY_BONUS = 0.05  # "how many / what percentage …" questions: sentences with a figure
MAX_ENCODE_PER_PASSAGE = 8  # sentences embedded per passage (best term overlap first)
MAX_ENCODE = 120  # sentences embedded per question

_QUANTITY_Q = re.compile(
    r"\b(?:how\s+(?:many|much|often|long|quickly|big|large|high|low)|what\s+(?:percentage|proportion|"
    r"share|number|rate|level|amount)|number\s+of|percentage|proportion|rate\s+of|by\s+how\s+much|"
    r"how\s+far|figures?|statistics?|headcount|total)\b",
    re.IGNORECASE,
)
_PERCENT_Q = re.compile(r"\b(?:percentage|proportion|share|percent|per\s+cent)\b|%|\brate\b", re.IGNORECASE)
_PERCENT = re.compile(r"\d\s*(?:%|percent\b|per\s+cent\b)", re.IGNORECASE)
_FIGURE = re.compile(r"(?<![\w.])(?!(?:199\d|20[0-2]\d|203[0-5])\b)\d[\d,.]*(?:\s*(?:%|percent|per cent))?")
_CHANGE = re.compile(
    r"\b(?:increas\w*|decreas\w*|rose|risen|rising|fell|fallen|falling|declin\w*|reduc\w*|"
    r"improv\w*|deteriorat\w*|worsen\w*|dropp\w*|doubled|halved|grew|grown|up from|down from|"
    r"compared (?:with|to)|since|previous(?:ly)?|last year|no longer|now)\b|\bfrom\s+[\d,.]+%?\s+(?:in\s+\S+\s+)?to\s+[\d,.]+",
    re.IGNORECASE,
)

# Strong / weak: support = cosine + STRONG_LEX × term overlap of the best sentence.
STRONG_LEX = 0.5
STRONG_SUPPORT = 0.75
STRONG_OVERLAP_NO_ENCODER = 0.75

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
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_YEARLIKE = re.compile(r"^(?:199\d|20[0-2]\d|203[0-5])$")

_local = threading.local()


def _stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", False)
    if stemmer is False:
        try:
            import Stemmer

            stemmer = Stemmer.Stemmer("english")
        except Exception:  # PyStemmer missing: a crude suffix rule is enough for overlap
            stemmer = None
        _local.stemmer = stemmer
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if stemmer is not None:
        return stemmer.stemWord(w)
    for suf in ("ingly", "edly", "ing", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


# --- filters ---------------------------------------------------------------------------


def _filters_cls():
    try:
        from index.engine.filters import Filters

        return Filters
    except ImportError:  # pragma: no cover - the index package always ships filters
        return None


def _as_filters(filters: Any) -> Any:
    if isinstance(filters, dict):
        cls = _filters_cls()
        return cls(**filters) if cls else filters
    return filters


def merge_year_filters(filters: Any, year_from: int | None, year_to: int | None) -> Any:
    """``filters`` narrowed by the years a question names (index.engine.filters.with_question_years)."""
    from index.engine.filters import with_question_years

    return with_question_years(_as_filters(filters), year_from, year_to)


def _doc_allowed(doc: dict[str, Any], filters: Any) -> bool:
    """Does a `documents()` entry pass the filter (same rules as Filters.matches)?"""
    if filters is None:
        return True
    years = [int(y) for y in doc.get("years") or []]
    lo, hi = getattr(filters, "year_from", None), getattr(filters, "year_to", None)
    if lo is not None or hi is not None:
        lo = -(10**9) if lo is None else lo
        hi = 10**9 if hi is None else hi
        if not any(lo <= y <= hi for y in years):
            return False
    forces = getattr(filters, "forces", None)
    if forces is not None:
        force = doc.get("force")
        if force is None or force.casefold().strip() not in {f.casefold().strip() for f in forces}:
            return False
    types = getattr(filters, "doc_types", None)
    if types is not None and (doc.get("doc_type") or "").casefold().strip() not in {
        t.casefold().strip() for t in types
    }:
        return False
    ids = getattr(filters, "doc_ids", None)
    if ids is not None and doc.get("doc_id") not in set(ids):
        return False
    return True


def _with_doc_ids(filters: Any, doc_ids: Sequence[str]) -> Any:
    cls = _filters_cls()
    if filters is None:
        return cls(doc_ids=tuple(doc_ids)) if cls else None
    current = getattr(filters, "doc_ids", None)
    ids = tuple(d for d in doc_ids if current is None or d in set(current))
    return replace(filters, doc_ids=ids)


# --- periods ---------------------------------------------------------------------------


def period_label(years: Sequence[int] | None) -> str:
    """'2016', '2018/19' (two consecutive years), '2014–2016', or 'Undated'."""
    ys = sorted({int(y) for y in years or []})
    if not ys:
        return "Undated"
    if len(ys) == 1:
        return str(ys[0])
    if len(ys) == 2 and ys[1] == ys[0] + 1:
        return f"{ys[0]}/{ys[1] % 100:02d}"
    return f"{ys[0]}–{ys[-1]}"


def _period_key(years: Sequence[int] | None) -> tuple:
    ys = sorted({int(y) for y in years or []})
    return (0, ys[0], ys[-1]) if ys else (1, 0, 0)


# --- glossary per searcher -------------------------------------------------------------

_GLOSSARIES: "weakref.WeakKeyDictionary[Any, Glossary]" = weakref.WeakKeyDictionary()
_GLOSSARY_LOCK = threading.Lock()


def glossary_for(searcher: Any) -> Glossary:
    """The curated glossary plus acronyms mined from the searcher's chunks (if it exposes
    ``chunks``), built once per searcher."""
    try:
        with _GLOSSARY_LOCK:
            g = _GLOSSARIES.get(searcher)
    except TypeError:
        g = None
    if g is not None:
        return g
    chunks = getattr(searcher, "chunks", None)
    texts: list[str] = []
    if chunks is not None and not callable(chunks):
        try:
            texts = [c.text for c in chunks]
        except Exception:
            texts = []
    g = load_glossary(extra_texts=texts)
    try:
        with _GLOSSARY_LOCK:
            _GLOSSARIES[searcher] = g
    except TypeError:
        pass
    return g


# --- encoders --------------------------------------------------------------------------

_VEC_CACHE: "weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
_VEC_LOCK = threading.Lock()
_VEC_CACHE_MAX = 20000


def _encoders(searcher: Any) -> tuple[Callable | None, Callable | None]:
    eq = getattr(searcher, "encode_queries", None)
    et = getattr(searcher, "encode_texts", None)
    emb = getattr(searcher, "embedder", None)
    if eq is None and emb is not None:
        eq = getattr(emb, "encode_queries", None)
    if et is None and emb is not None:
        et = getattr(emb, "encode_texts", None) or getattr(emb, "encode", None)
    return eq, et


def _encode_sentences(searcher: Any, encode: Callable, texts: list[str]) -> np.ndarray:
    try:
        with _VEC_LOCK:
            cache = _VEC_CACHE.setdefault(searcher, {})
    except TypeError:
        cache = {}
    with _VEC_LOCK:
        found = {t: cache[t] for t in texts if t in cache}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        vecs = np.asarray(encode(missing), dtype=np.float32)
        vecs = _normalise(vecs)
        with _VEC_LOCK:
            for t, v in zip(missing, vecs):
                found[t] = v
                if len(cache) < _VEC_CACHE_MAX:
                    cache[t] = v
    return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)


def _stored_vectors(searcher: Any, passages: list["_Passage"]) -> dict[tuple[int, int], np.ndarray]:
    """(passage index, sentence index) -> the vector the index stored for that sentence."""
    lookup = getattr(searcher, "sentence_vectors", None)
    if lookup is None:
        return {}
    out: dict[tuple[int, int], np.ndarray] = {}
    for k, p in enumerate(passages):
        try:
            by_span = lookup(p.hit.chunk_id)
        except Exception:
            by_span = None
        if not by_span:
            continue
        for i, span in enumerate(p.spans):
            v = by_span.get(tuple(span))
            if v is not None:
                out[(k, i)] = v
    return out


def _normalise(v: np.ndarray) -> np.ndarray:
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return v / n


# --- query terms -----------------------------------------------------------------------


@dataclass
class _Terms:
    words: dict[str, float]  # stem → weight
    highlight_stems: set[str]
    concepts: dict[str, float]  # glossary acronym → weight
    phrases: list[str]  # casefolded, whitespace-normalised

    @property
    def empty(self) -> bool:
        return not (self.words or self.concepts or self.phrases)


_FISCAL = re.compile(r"\b((?:19|20)(\d{2}))\s*[/-]\s*(\d{2})\b")


def _query_terms(pq: ParsedQuery, glossary: Glossary) -> _Terms:
    # "2018/19" → "2018/2019" (same length class): the "19" is a year, not a figure
    text = _FISCAL.sub(lambda m: f"{m.group(1)}/{m.group(1)[:2]}{m.group(3)}", pq.text)
    matches = glossary.find(text)
    covered = [(m.start, m.end) for m in matches]
    concepts = {
        m.acronym: GENERIC_WEIGHT if m.acronym.upper() in _GENERIC_CONCEPTS else CONCEPT_WEIGHT for m in matches
    }
    words: dict[str, float] = {}
    highlight: set[str] = set()
    for m in _WORD.finditer(text):
        if any(a <= m.start() < b for a, b in covered):
            continue
        w = m.group(0).lower().replace("’", "'")
        base = w[:-2] if w.endswith("'s") else w
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
        stem = _stem(base)
        words[stem] = max(words.get(stem, 0.0), weight)
        if base not in _GENERIC:
            highlight.add(stem)
    # expansion terms that did not come from a glossary match (none today) still count
    phrases = [re.sub(r"\s+", " ", p.casefold()) for p in pq.phrases if len(p.split()) > 1]
    return _Terms(words, highlight, concepts, phrases)


@dataclass
class _SentFeatures:
    stems: set[str]
    concepts: set[str]
    folded: str


def _features(sentence: str, glossary: Glossary) -> _SentFeatures:
    stems = {_stem(m.group(0)) for m in _WORD.finditer(sentence)}
    concepts = {m.acronym for m in glossary.find(sentence)}
    return _SentFeatures(stems, concepts, re.sub(r"\s+", " ", sentence.casefold()))


def _present(terms: _Terms, f: _SentFeatures) -> tuple[list[str], list[str], list[str]]:
    return (
        [s for s in terms.words if s in f.stems],
        [c for c in terms.concepts if c in f.concepts],
        [p for p in terms.phrases if p in f.folded],
    )


def _highlights(sentence: str, terms: _Terms, glossary: Glossary) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _WORD.finditer(sentence):
        if _stem(m.group(0)) in terms.highlight_stems:
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


# --- candidates ------------------------------------------------------------------------


@dataclass
class _Passage:
    hit: Hit
    rank: int  # 1-based rank in the list it came from
    group: str
    group_key: tuple
    spans: list[tuple[int, int]] = field(default_factory=list)
    feats: list[Any] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    cosines: list[float] = field(default_factory=list)
    overlaps: list[float] = field(default_factory=list)


@dataclass
class _Pick:
    passage: _Passage
    idx: int
    score: float
    cos: float
    overlap: float
    before: int | None = None  # index of the context sentence before
    after: int | None = None


def _search(searcher: Any, text: str, k: int, mode: str, filters: Any, expansions: list[str]) -> list[Hit]:
    if k <= 0:
        return []
    return list(searcher.search(text, k=k, mode=mode, filters=filters, expansions=expansions or None))


def _gather(
    searcher: Any,
    pq: ParsedQuery,
    qtext: str,
    k_passages: int,
    mode: str,
    filters: Any,
    by_period: bool,
) -> tuple[list[Hit], list[_Passage]]:
    """The main hits, and the passages to take sentences from (with their group)."""
    main = _search(searcher, qtext, k_passages, mode, filters, pq.expansions)
    if not by_period:
        return main, [_Passage(h, i, "All years", (0,)) for i, h in enumerate(main, start=1)]

    passages: dict[str, _Passage] = {}

    def keep(hit: Hit, rank: int) -> None:
        label = period_label(hit.years or ([hit.year] if hit.year else []))
        key = _period_key(hit.years or ([hit.year] if hit.year else []))
        old = passages.get(hit.chunk_id)
        if old is None or rank < old.rank:
            passages[hit.chunk_id] = _Passage(hit, rank, label, key)

    docs = None
    documents = getattr(searcher, "documents", None)
    if callable(documents):
        try:
            docs = list(documents())
        except Exception:
            docs = None
    if docs:
        periods: dict[str, tuple[tuple, list[str]]] = {}
        for d in docs:
            if not _doc_allowed(d, filters):
                continue
            years = d.get("years") or []
            label = period_label(years)
            periods.setdefault(label, (_period_key(years), []))[1].append(d["doc_id"])
        n = max(1, len(periods))
        k_each = max(3, math.ceil(k_passages / n))
        for label, (key, ids) in periods.items():
            for r, h in enumerate(_search(searcher, qtext, k_each, mode, _with_doc_ids(filters, ids), pq.expansions), 1):
                keep(h, r)
        for r, h in enumerate(main, 1):
            keep(h, r)
    else:
        wide = _search(searcher, qtext, max(k_passages * 4, 24), mode, filters, pq.expansions)
        groups: dict[str, list[Hit]] = {}
        for h in wide:
            groups.setdefault(period_label(h.years or ([h.year] if h.year else [])), []).append(h)
        n = max(1, len(groups))
        k_each = max(3, math.ceil(k_passages / n))
        for hits in groups.values():
            for r, h in enumerate(hits[:k_each], 1):
                keep(h, r)
        for r, h in enumerate(main, 1):
            keep(h, r)
    return main, list(passages.values())


def _prepare_sentences(p: _Passage, glossary: Glossary) -> list[str]:
    text = p.hit.text
    p.spans = evidence_spans(text)
    sents = [text[a:b] for a, b in p.spans]
    p.feats = [_features(t, glossary) for t in sents]
    return sents


def _score(
    searcher: Any,
    cos_query: str,
    passages: list[_Passage],
    terms: _Terms,
    glossary: Glossary,
    temporal: bool,
    quantity: re.Pattern[str] | None = None,
) -> bool:
    """Score every sentence of every passage in place (``p.scores``; -inf for sentences
    left unscored by the encoding budget). Returns whether an encoder was used."""
    texts_by_p = [_prepare_sentences(p, glossary) for p in passages]
    feats = [f for p in passages for f in p.feats]
    if not feats:
        return False

    # rarity of each query term among the candidate sentences
    n = len(feats)
    idf: dict[tuple[str, str], float] = {}
    for st in terms.words:
        idf[("w", st)] = 1.0 + math.log((n + 1) / (sum(1 for f in feats if st in f.stems) + 1))
    for c in terms.concepts:
        idf[("c", c)] = 1.0 + math.log((n + 1) / (sum(1 for f in feats if c in f.concepts) + 1))
    for ph in terms.phrases:
        idf[("p", ph)] = 1.0 + math.log((n + 1) / (sum(1 for f in feats if ph in f.folded) + 1))
    total = (
        sum(w * idf[("w", st)] for st, w in terms.words.items())
        + sum(w * idf[("c", c)] for c, w in terms.concepts.items())
        + sum(PHRASE_WEIGHT * idf[("p", ph)] for ph in terms.phrases)
    )
    for p in passages:
        p.overlaps = []
        for f in p.feats:
            words, concepts, phrases = _present(terms, f)
            got = (
                sum(terms.words[st] * idf[("w", st)] for st in words)
                + sum(terms.concepts[c] * idf[("c", c)] for c in concepts)
                + sum(PHRASE_WEIGHT * idf[("p", ph)] for ph in phrases)
            )
            p.overlaps.append(got / total if total > 0 else 0.0)

    # which sentences to embed: the best few per passage (by term overlap, then position),
    # top-ranked passages first, within an overall budget
    chosen: list[tuple[int, int]] = []  # (passage index, sentence index)
    order = sorted(range(len(passages)), key=lambda k: (passages[k].rank, passages[k].group_key))
    for k in order:
        p = passages[k]
        idx = sorted(range(len(p.spans)), key=lambda i: (-p.overlaps[i], i))[:MAX_ENCODE_PER_PASSAGE]
        for i in sorted(idx):
            if len(chosen) < MAX_ENCODE:
                chosen.append((k, i))

    # the index's own sentence vectors (same spans) cost nothing: every sentence is scored
    stored = _stored_vectors(searcher, passages)
    chosen = list(dict.fromkeys([*chosen, *stored]))

    enc_q, enc_t = _encoders(searcher)
    cos_of: dict[tuple[int, int], float] = {}
    used_encoder = False
    if enc_q is not None and chosen and (enc_t is not None or len(stored) == len(chosen)):
        try:
            qv = _normalise(np.asarray(enc_q([cos_query]), dtype=np.float32))[0]
            missing = [key for key in chosen if key not in stored]
            if missing:
                sv = _encode_sentences(
                    searcher, enc_t, [span_text(passages[k].hit.text, passages[k].spans[i]) for k, i in missing]
                )
                stored = {**stored, **dict(zip(missing, sv))}
            for key in chosen:
                cos_of[key] = float(stored[key] @ qv)
            used_encoder = True
        except Exception:
            cos_of = {}
    allowed = set(chosen) if used_encoder else None

    for k, p in enumerate(passages):
        prior = 1.0 / math.sqrt(max(1, p.rank))
        p.scores, p.cosines = [], []
        for i, text in enumerate(texts_by_p[k]):
            overlap = p.overlaps[i]
            if allowed is not None and (k, i) not in allowed:
                p.scores.append(float("-inf"))
                p.cosines.append(0.0)
                continue
            c = cos_of.get((k, i), 0.0)
            if used_encoder:
                sc = W_COS * c + W_LEX * overlap + W_PRIOR * prior
            else:
                sc = W_LEX_ONLY * overlap + W_PRIOR_ONLY * prior
            nw = _n_words(text)
            if nw < SHORT_WORDS:
                sc *= SHORT_FACTOR
            elif is_heading_like(text) and not any(ch.isdigit() for ch in text):
                sc *= HEADING_FACTOR
            if temporal and _CHANGE.search(text):
                sc += CHANGE_BONUS
            if quantity is not None and quantity.search(text):
                sc += QUANTITY_BONUS
            p.scores.append(sc)
            p.cosines.append(c)
    return used_encoder


def _picks(p: _Passage, per_passage: int) -> list[_Pick]:
    if not p.scores:
        return []
    order = [i for i in sorted(range(len(p.scores)), key=lambda i: -p.scores[i]) if p.scores[i] > float("-inf")]
    if not order:
        return []
    best = order[0]
    out = [_Pick(p, best, p.scores[best], p.cosines[best], p.overlaps[best])]
    taken = {best}
    # context neighbour
    text = p.hit.text
    a, b = p.spans[best]
    sent = text[a:b]
    wants_next = sent.rstrip().endswith(":") or is_heading_like(sent) or _n_words(sent) < 6
    cands = []
    if best + 1 < len(p.spans):
        if wants_next or p.scores[best + 1] >= NEIGHBOUR_RATIO * p.scores[best]:
            cands.append((p.scores[best + 1] + (1.0 if wants_next else 0.0), best + 1))
    if best - 1 >= 0 and p.scores[best - 1] >= NEIGHBOUR_RATIO * p.scores[best]:
        cands.append((p.scores[best - 1], best - 1))
    if cands:
        _, j = max(cands)
        if j > best:
            out[0].after = j
        else:
            out[0].before = j
        taken.add(j)
    # a second, separate sentence
    if per_passage > 1:
        for i in order[1:]:
            if p.scores[i] < SECOND_RATIO * p.scores[best]:
                break
            if i in taken or abs(i - best) <= 1:
                continue
            out.append(_Pick(p, i, p.scores[i], p.cosines[i], p.overlaps[i]))
            taken.add(i)
            if len(out) >= per_passage:
                break
    return out


def _evidence(
    pick: _Pick,
    terms: _Terms,
    glossary: Glossary,
    doc_text: Callable[[str], str | None] | None,
) -> Evidence:
    p = pick.passage
    hit = p.hit
    a, b = p.spans[pick.idx]
    sentence = hit.text[a:b]
    source = None
    if doc_text is not None:
        try:
            source = doc_text(hit.doc_id)
        except Exception:
            source = None
    s, e, exact = source_span(hit.text, hit.char_start, hit.char_end, (a, b), source)
    before = hit.text[p.spans[pick.before][0] : p.spans[pick.before][1]] if pick.before is not None else ""
    after = hit.text[p.spans[pick.after][0] : p.spans[pick.after][1]] if pick.after is not None else ""
    return Evidence(
        sentence=sentence,
        char_start=s,
        char_end=e,
        score=round(float(pick.score), 4),
        citation=hit.citation,
        chunk_id=hit.chunk_id,
        highlights=_highlights(sentence, terms, glossary),
        context_before=before,
        context_after=after,
        offsets_exact=exact,
    )


def _doc_text_fn(searcher: Any) -> Callable[[str], str | None] | None:
    fn = getattr(searcher, "doc_text", None)
    return fn if callable(fn) else None


def ask(
    searcher: Any,
    question: str,
    *,
    k_passages: int = 8,
    filters: Any = None,
    mode: str = "hybrid",
    max_sentences: int = 6,
    glossary: Glossary | None = None,
    per_passage: int = 2,
) -> Answer:
    """Evidence sentences for ``question`` (see the module docstring for the rules)."""
    g = glossary if glossary is not None else glossary_for(searcher)
    pq = parse_query(question, g)
    if pq.empty:
        return Answer(question=question, strong=False, temporal=False, groups=[], hits=[])
    merged = merge_year_filters(filters, pq.year_from, pq.year_to)
    qtext = pq.search_text()
    spans_years = (
        pq.year_from is not None and pq.year_to is not None and pq.year_to > pq.year_from
    )
    by_period = pq.temporal or spans_years
    main, passages = _gather(searcher, pq, qtext, max(1, k_passages), mode, merged, by_period)
    if not passages:
        return Answer(question=question, strong=False, temporal=pq.temporal, groups=[], hits=main)

    terms = _query_terms(pq, g)
    # only the question's own glossary entries matter inside sentences: a small glossary
    # keeps sentence matching fast
    qg = Glossary([g.entries[a] for a in terms.concepts if a in g.entries])
    cos_query = _strip_forces(qtext, _forces_in_scope(searcher, merged, passages))
    quantity = None  # what a figure looks like, when the question asks for one
    if _QUANTITY_Q.search(pq.text):
        quantity = _PERCENT if _PERCENT_Q.search(pq.text) else _FIGURE
    used_encoder = _score(searcher, cos_query, passages, terms, qg, by_period, quantity)

    # picks per group, best first, deduplicated across passages
    by_group: dict[str, list[_Pick]] = {}
    keys: dict[str, tuple] = {}
    for p in passages:
        keys[p.group] = p.group_key
        by_group.setdefault(p.group, []).extend(_picks(p, per_passage))
    n_groups = max(1, len(by_group))
    cap = max(1, max_sentences) if not by_period else max(2, min(3, math.ceil(max_sentences / n_groups)))
    seen: list[str] = []
    doc_text = _doc_text_fn(searcher)
    groups: list[tuple[str, list[Evidence]]] = []
    weak_groups: list[str] = []
    for label in sorted(by_group, key=lambda lb: keys[lb]):
        picks = sorted(by_group[label], key=lambda pk: -pk.score)
        if not picks:
            continue
        top = picks[0].score
        group_passages = [p for p in passages if p.group == label]
        group_strong = _is_strong(group_passages, used_encoder)
        # a period with no close match shows only its nearest sentence
        group_cap = cap if group_strong or not by_period else 1
        chosen: list[Evidence] = []
        for pk in picks:
            if len(chosen) >= group_cap:
                break
            if chosen and pk.score < KEEP_RATIO * top:
                break
            a, b = pk.passage.spans[pk.idx]
            key = alnum_key(pk.passage.hit.text[a:b])
            if not key or any(key == s or (len(key) > 40 and key in s) for s in seen):
                continue
            seen.append(key)
            chosen.append(_evidence(pk, terms, qg, doc_text))
        if chosen:
            groups.append((label, chosen))
            if not group_strong:
                weak_groups.append(label)

    strong = bool(groups) and _is_strong(passages, used_encoder)
    return Answer(
        question=question,
        strong=strong,
        temporal=pq.temporal,
        groups=groups,
        hits=main,
        weak_groups=weak_groups if strong else [label for label, _ in groups],
    )


def support(cos: float, overlap: float) -> float:
    """How well one sentence supports an answer: cosine plus a share of term overlap."""
    return cos + STRONG_LEX * overlap


def _is_strong(passages: list[_Passage], used_encoder: bool) -> bool:
    """Strong when some scored sentence has support ≥ STRONG_SUPPORT (without an encoder:
    term overlap ≥ STRONG_OVERLAP_NO_ENCODER)."""
    best = 0.0
    for p in passages:
        for sc, c, o in zip(p.scores, p.cosines, p.overlaps):
            if sc == float("-inf"):
                continue
            best = max(best, support(c, o) if used_encoder else o)
    return best >= (STRONG_SUPPORT if used_encoder else STRONG_OVERLAP_NO_ENCODER)


def _forces_in_scope(searcher: Any, filters: Any, passages: list[_Passage]) -> set[str]:
    """The police forces the question can be answered from (documents in the filter)."""
    forces: set[str] = set()
    documents = getattr(searcher, "documents", None)
    if callable(documents):
        try:
            for d in documents():
                if _doc_allowed(d, filters):
                    forces.add(d.get("force") or "")
        except Exception:
            forces = set()
    if not forces:
        forces = {p.hit.force or "" for p in passages}
    return forces


_FORCE_SUFFIX = re.compile(r"\s+(?:police(?:\s+service)?|constabulary)$", re.IGNORECASE)


def _strip_forces(text: str, forces: set[str]) -> str:
    """When every document in scope is about one force, its name says nothing about which
    sentence answers: drop it from the text sentences are compared with ("How did Essex
    Police enforce …" would otherwise favour any sentence that names Essex Police)."""
    if len(forces) != 1:
        return text
    force = next(iter(forces)).strip()
    if not force:
        return text
    names = {force}
    short = _FORCE_SUFFIX.sub("", force)
    if short and short != force:
        names.add(short)
    out = text
    for name in sorted(names, key=len, reverse=True):
        out = re.sub(r"(?<![\w])" + re.escape(name) + r"(?:['’]s)?(?![\w])", " ", out, flags=re.IGNORECASE)
    out = re.sub(r"\s+", " ", out).strip()
    return out if _n_words(out) >= 1 else text


# --- terminal output -------------------------------------------------------------------

_BOLD, _UNDER, _DIM, _RESET = "\x1b[1m", "\x1b[4m", "\x1b[2m", "\x1b[0m"


def _mark(sentence: str, spans: list[tuple[int, int]], ansi: bool, answer_bold: bool) -> str:
    out = []
    pos = 0
    for a, b in spans:
        a, b = max(a, pos), min(b, len(sentence))
        if a >= b:
            continue
        out.append(sentence[pos:a])
        if ansi:
            out.append(_UNDER + _BOLD + sentence[a:b] + _RESET + (_BOLD if answer_bold else ""))
        else:
            out.append("**" + sentence[a:b] + "**")
        pos = b
    out.append(sentence[pos:])
    text = "".join(out)
    return (_BOLD + text + _RESET) if (ansi and answer_bold) else text


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def format_answer_text(answer: Answer, *, ansi: bool = False, width: int = 88) -> str:
    """The answer for a terminal.

    Per group (a header line, except for a single "All years" group), each evidence item:
    its context sentences (plain, or dim with ``ansi``) around the answering sentence,
    wrapped to ``width``; query terms marked **like this** (``ansi``: the answering sentence
    bold and query terms bold-underlined); when context is shown in plain text the answering
    sentence is set off with « ». Then "— citation label". A weak answer starts with
    "No strong evidence found — nearest passages:".
    """
    lines: list[str] = []
    if not answer.groups:
        if parse_query(answer.question, Glossary.empty()).empty:
            return "Please type a question."
        return "No passages found for this question."
    if not answer.strong:
        lines.append("No strong evidence found — nearest passages:")
        lines.append("")
    show_headers = len(answer.groups) > 1 or answer.groups[0][0] != "All years"
    indent = "  " if show_headers else ""
    weak = set(answer.weak_groups) if answer.strong else set()
    for label, evidence in answer.groups:
        if show_headers:
            head = (_BOLD + label + _RESET) if ansi else label
            if label in weak:
                head += "  (no close match for this period — nearest passages)"
            lines.append(head)
        for ev in evidence:
            before = _one_line(ev.context_before)
            after = _one_line(ev.context_after)
            # highlights index the verbatim sentence; whitespace is folded only for display
            body = _mark(ev.sentence, ev.highlights, ansi, answer_bold=True)
            body = _one_line(body)
            if (before or after) and not ansi:
                body = "«" + body + "»"
            # a sentence cut at the start of its passage begins in lower case: show the cut
            first = before or ev.sentence.lstrip()
            lead = "…" if first[:1].islower() else ""
            parts = [lead] if lead else []
            if before:
                parts.append((_DIM + before + _RESET) if ansi else before)
            parts.append(body)
            if after:
                parts.append((_DIM + after + _RESET) if ansi else after)
            para = " ".join(parts).replace("… ", "…", 1) if lead else " ".join(parts)
            wrapped = textwrap.fill(
                para,
                width=max(20, width),
                initial_indent=indent + "• ",
                subsequent_indent=indent + "  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.append(wrapped)
            label_line = "— " + ev.citation.label()
            lines.append(
                textwrap.fill(
                    label_line,
                    width=max(20, width),
                    initial_indent=indent + "  ",
                    subsequent_indent=indent + "    ",
                    break_long_words=False,
                )
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
