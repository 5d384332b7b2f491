"""``select_evidence``: the best verbatim sentences of the retrieved passages, with citations,
grouped by period for questions answered period by period (or by force, when asked to compare
forces), and for change questions the figures those sentences state (`_figures`).

1. Every sentence of every retrieved passage is scored (`index.answers.scoring`).
2. Per passage the best sentence is the evidence; a neighbour is shown as context
   (``context_before`` / ``context_after``) when the sentence introduces a list (ends with
   ":"), is heading-like or under six words, or the neighbour scores ≥ 0.85 of it. A second
   sentence of the same passage, not next to the first, is kept when it scores ≥ 0.88 of
   the best. Identical sentences (letters and digits) from different passages — folded or
   unfolded duplicates — are shown once.
3. Per group, evidence scoring below 0.75 × the group's best is dropped; at most
   ``max_sentences`` in total ("All years"), or ``max(2, min(3, ⌈max_sentences/groups⌉))``
   per period group, and 1 for a period with no close match (``Answer.weak_groups``).
   Groups are in chronological order (`index.query.periods.period_label`).

Strong or weak (``Answer.strong``): support = cosine + 0.5 · term overlap of the best
sentence; strong at ≥ 0.75. Calibrated on the bundled corpus and the labelled questions of
``evals/queries.jsonl``: with the adapted all-mpnet-base-v2, unanswerable questions reach
at most 0.59 (one about Kent Police's cyber fraud 0.82, because the Essex report mentions
Kent, cyber-crime and fraud together) while 63 of 64 answerable factoid / acronym /
temporal / analyst questions reach 0.75 or more. Slang with no shared words ("bobbies")
mostly comes out weak; the nearest passages are still shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from index.answers.figures import extract_figures
from index.answers.scoring import (
    EvidenceSource,
    Passage,
    is_strong,
    quantity_pattern,
    score_sentences,
)
from index.answers.terms import Terms, highlights, query_terms
from index.query.glossary import Glossary
from index.query.groups import NO_FORCE, force_label
from index.query.periods import evidence_period, hit_period, period_key, period_label
from index.query.prepare import PreparedQuery
from index.records import Answer, Evidence, Figure, Hit
from ingest.records import alnum_key
from ingest.sentences import is_heading_like, n_words, source_span

__all__ = ["select_evidence", "ALL_YEARS"]

ALL_YEARS = "All years"
NEIGHBOUR_RATIO = 0.85  # a neighbour this close to the best sentence is shown as context
SECOND_RATIO = 0.88  # a second sentence of the same passage
KEEP_RATIO = 0.75  # evidence below this share of the group's best is dropped
FIGURE_SENTENCES = 6  # per period: close sentences whose figures the answer tabulates


@dataclass
class _Pick:
    passage: Passage
    idx: int
    score: float
    before: int | None = None  # index of the context sentence before
    after: int | None = None


def _picks(p: Passage, per_passage: int) -> list[_Pick]:
    order = [i for i in sorted(range(len(p.scores)), key=lambda i: -p.scores[i]) if p.scores[i] > float("-inf")]
    if not order:
        return []
    best = order[0]
    out = [_Pick(p, best, p.scores[best])]
    taken = {best}
    a, b = p.spans[best]
    sent = p.hit.text[a:b]
    wants_next = sent.rstrip().endswith(":") or is_heading_like(sent) or n_words(sent) < 6
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
    if per_passage > 1:
        for i in order[1:]:
            if p.scores[i] < SECOND_RATIO * p.scores[best]:
                break
            if i in taken or abs(i - best) <= 1:
                continue
            out.append(_Pick(p, i, p.scores[i]))
            taken.add(i)
            if len(out) >= per_passage:
                break
    return out


def _evidence(pick: _Pick, terms: Terms, glossary: Glossary, source: str | None) -> Evidence:
    p = pick.passage
    hit = p.hit
    a, b = p.spans[pick.idx]
    sentence = hit.text[a:b]
    s, e, exact = source_span(hit.text, hit.char_start, hit.char_end, (a, b), source)

    def text_of(i: int | None) -> str:
        return hit.text[p.spans[i][0] : p.spans[i][1]] if i is not None else ""

    return Evidence(
        sentence=sentence,
        char_start=s,
        char_end=e,
        score=round(float(pick.score), 4),
        citation=hit.citation,
        chunk_id=hit.chunk_id,
        highlights=highlights(sentence, terms, glossary),
        context_before=text_of(pick.before),
        context_after=text_of(pick.after),
        offsets_exact=exact,
    )


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
    return out if n_words(out) >= 1 else text


def _forces_in_scope(searcher: EvidenceSource, prepared: PreparedQuery) -> set[str]:
    """The police forces the question can be answered from (documents in its filters)."""
    f = prepared.filters
    return {d.get("force") or "" for d in searcher.documents() if f is None or f.allows_document(d)}


def _passages(hits: list[Hit], prepared: PreparedQuery) -> list[Passage]:
    if prepared.by_force:
        return [Passage(h, i, force_label(h), (force_label(h) == NO_FORCE, force_label(h)))
                for i, h in enumerate(hits, start=1)]
    if not prepared.by_period:
        return [Passage(h, i, ALL_YEARS, (0,)) for i, h in enumerate(hits, start=1)]
    # the periods shown are those of the question's time frame; passages of other periods
    # stay among the hits, but give no period of their own to the answer
    ranked = list(enumerate(hits, start=1))
    in_frame = [(i, h) for i, h in ranked if prepared.in_time_frame(hit_period(h))]
    return [Passage(h, i, period_label(hit_period(h)), period_key(hit_period(h))) for i, h in in_frame or ranked]


def select_evidence(searcher: EvidenceSource, prepared: PreparedQuery, hits: list[Hit], *,
                    max_sentences: int = 6, per_passage: int = 2) -> Answer:
    """Evidence sentences from ``hits`` (what `index.retrieve.retrieve` returned for
    ``prepared``); the answer's ``hits`` are exactly those passages."""
    answer: dict[str, Any] = dict(question=prepared.question, temporal=prepared.parsed.temporal, hits=hits,
                                  message=prepared.message)
    if prepared.empty or not hits:
        return Answer(strong=False, groups=[], **answer)
    by_period = prepared.by_period
    grouped = by_period or prepared.by_force
    passages = _passages(hits, prepared)
    glossary = prepared.glossary
    terms = query_terms(prepared.parsed, glossary)
    # only the question's own glossary entries matter inside sentences: a small glossary
    # keeps sentence matching fast
    qg = Glossary([glossary.entries[a] for a in terms.concepts if a in glossary.entries])
    # the question with every expansion: sentences may use either spelling of an acronym
    cos_query = _strip_forces(prepared.parsed.search_text(), _forces_in_scope(searcher, prepared))
    score_sentences(searcher, cos_query, passages, terms, qg, by_period, quantity_pattern(prepared.text))

    by_group: dict[str, list[_Pick]] = {}
    keys: dict[str, tuple] = {}
    for p in passages:
        keys[p.group] = p.group_key
        by_group.setdefault(p.group, []).extend(_picks(p, per_passage))
    cap = max(1, max_sentences) if not grouped else max(2, min(3, math.ceil(max_sentences / max(1, len(by_group)))))
    seen: list[str] = []
    sources: dict[str, str | None] = {}
    groups: list[tuple[str, list[Evidence]]] = []
    weak_groups: list[str] = []
    for label in sorted(by_group, key=lambda lb: keys[lb]):
        picks = sorted(by_group[label], key=lambda pk: -pk.score)
        if not picks:
            continue
        top = picks[0].score
        group_strong = is_strong([p for p in passages if p.group == label])
        group_cap = cap if group_strong or not grouped else 1  # a group with no close match: its nearest sentence
        chosen: list[Evidence] = []
        for pk in picks:
            if len(chosen) >= group_cap or (chosen and pk.score < KEEP_RATIO * top):
                break
            a, b = pk.passage.spans[pk.idx]
            key = alnum_key(pk.passage.hit.text[a:b])
            if not key or any(key == s or (len(key) > 40 and key in s) for s in seen):
                continue
            seen.append(key)
            doc_id = pk.passage.hit.doc_id
            if doc_id not in sources:
                sources[doc_id] = searcher.doc_text(doc_id)
            chosen.append(_evidence(pk, terms, qg, sources[doc_id]))
        if chosen:
            groups.append((label, chosen))
            if not group_strong:
                weak_groups.append(label)
    strong = bool(groups) and is_strong(passages)
    figures = _figures(by_group, prepared, sources, searcher, terms, qg) if by_period and strong else []
    group_by = "period" if by_period else "force" if prepared.by_force else ""
    return Answer(strong=strong, groups=groups, weak_groups=weak_groups if strong else [lb for lb, _ in groups],
                  figures=figures, group_by=group_by, **answer)


def _figures(by_group: dict[str, list[_Pick]], prepared: PreparedQuery, sources: dict[str, str | None],
             searcher: EvidenceSource, terms: Terms, glossary: Glossary) -> list[Figure]:
    """The quantities stated by each period's close evidence (up to ``FIGURE_SENTENCES`` sentences
    scoring ≥ ``KEEP_RATIO`` of the period's best and naming a term of the question), read from
    the source text itself so every figure's offsets are exact; figures dated outside the
    question's time frame are left out."""
    out: list[Figure] = []
    seen: set[tuple[str, int]] = set()
    for picks in by_group.values():
        picks = sorted(picks, key=lambda pk: -pk.score)
        if not picks:
            continue
        for pk in [p for p in picks if p.score >= KEEP_RATIO * picks[0].score][:FIGURE_SENTENCES]:
            hit = pk.passage.hit
            if hit.doc_id not in sources:
                sources[hit.doc_id] = searcher.doc_text(hit.doc_id)
            source = sources[hit.doc_id]
            a, b = pk.passage.spans[pk.idx]
            if not highlights(hit.text[a:b], terms, glossary):
                continue
            start, end, exact = source_span(hit.text, hit.char_start, hit.char_end, (a, b), source)
            sentence = source[start:end] if exact and source is not None else hit.text[a:b]
            # a passage's own years stand in for an undated figure only where they are its
            # evidence period (a document holding several inspections); elsewhere they are
            # mostly look-backs ("our 2015 report") and the document's period is the figure's
            for f in extract_figures(sentence, start, evidence_period(hit.years, hit.doc_years), hit.doc_years):
                if (hit.doc_id, f.start) in seen or not prepared.in_time_frame(f.period):
                    continue
                seen.add((hit.doc_id, f.start))
                f.chunk_id, f.citation = hit.chunk_id, hit.citation
                out.append(f)
    return sorted(out, key=lambda f: (period_key(f.period), f.citation.doc_id if f.citation else "", f.start))

