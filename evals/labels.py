"""The labelled question set and how it judges passages.

Relevance is stored as verbatim phrases, not chunk ids, so the labels survive re-chunking:
a passage is relevant to a question when it belongs to the labelled document and the
phrase's ``alnum_key`` (letters and digits, lower-cased) is a substring of the passage's
``alnum_key``. Grade 2 = the passage answers the question, grade 1 = related or partial.

``evals/queries.jsonl`` holds one question per line::

    {"qid": "q001", "query": "...", "kind": "factoid", "split": "dev",
     "relevant": [{"doc_id": "...", "phrase": "...", "grade": 2}, ...],
     "years": [2016, 2018]}            # temporal questions only

``years`` lists the manifest years of the documents holding grade-2 evidence; it is what
``year_coverage@10`` in :mod:`evals.harness` is scored against.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.records import Chunk, alnum_key

KINDS = ("factoid", "paraphrase", "acronym", "temporal", "analyst", "unanswerable")
SPLITS = ("dev", "test")
GRADES = (1, 2)

QUERIES_PATH = Path(__file__).with_name("queries.jsonl")

Qrels = dict[str, dict[str, int]]
# A ranking is a list of (chunk_id, score), best first.
Ranking = list[tuple[str, float]]


@dataclass(frozen=True)
class RelevantPhrase:
    """One verbatim phrase from one document; ``key`` is its ``alnum_key``."""

    doc_id: str
    phrase: str
    grade: int
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", alnum_key(self.phrase))


@dataclass(frozen=True)
class FigureLabel:
    """A figure a change-over-time answer should state: ``value`` as written, in the sentence
    of ``doc_id`` holding ``phrase``, speaking of ``period``. A labelled sentence has every
    figure it states labelled, so anything else read from it is an error."""

    doc_id: str
    phrase: str
    value: str
    period: tuple[int, ...]


@dataclass(frozen=True)
class Query:
    """One labelled question. ``relevant`` is empty exactly when ``kind == 'unanswerable'``."""

    qid: str
    query: str
    kind: str
    split: str
    relevant: tuple[RelevantPhrase, ...] = ()
    years: tuple[int, ...] = ()
    figures: tuple[FigureLabel, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)

    @property
    def doc_ids(self) -> set[str]:
        return {r.doc_id for r in self.relevant}

    def to_dict(self) -> dict:
        d: dict = {
            "qid": self.qid,
            "query": self.query,
            "kind": self.kind,
            "split": self.split,
            "relevant": [
                {"doc_id": r.doc_id, "phrase": r.phrase, "grade": r.grade} for r in self.relevant
            ],
        }
        if self.years:
            d["years"] = list(self.years)
        if self.figures:
            d["figures"] = [{"doc_id": f.doc_id, "phrase": f.phrase, "value": f.value, "period": list(f.period)}
                            for f in self.figures]
        return d


# --------------------------------------------------------------------------- loading


def _parse_query(obj: object, where: str) -> tuple[Query | None, list[str]]:
    errors: list[str] = []
    if not isinstance(obj, dict):
        return None, [f"{where}: not a JSON object"]
    qid = str(obj.get("qid", "")).strip()
    query = " ".join(str(obj.get("query", "")).split())
    kind = str(obj.get("kind", "")).strip().lower()
    split = str(obj.get("split", "")).strip().lower()
    tag = f"{where} ({qid or 'no qid'})"
    if not qid:
        errors.append(f"{tag}: missing qid")
    if not query:
        errors.append(f"{tag}: missing query")
    if kind not in KINDS:
        errors.append(f"{tag}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if split not in SPLITS:
        errors.append(f"{tag}: split {split!r} is not one of {', '.join(SPLITS)}")

    relevant: list[RelevantPhrase] = []
    raw_rel = obj.get("relevant", [])
    if not isinstance(raw_rel, list):
        errors.append(f"{tag}: relevant must be a list")
        raw_rel = []
    for i, item in enumerate(raw_rel):
        if not isinstance(item, dict):
            errors.append(f"{tag}: relevant[{i}] is not an object")
            continue
        doc_id = str(item.get("doc_id", "")).strip()
        phrase = " ".join(str(item.get("phrase", "")).split())
        try:
            grade = int(item.get("grade", 0))
        except (TypeError, ValueError):
            grade = 0
        if not doc_id:
            errors.append(f"{tag}: relevant[{i}] has no doc_id")
        if not alnum_key(phrase):
            errors.append(f"{tag}: relevant[{i}] has an empty phrase")
        if grade not in GRADES:
            errors.append(f"{tag}: relevant[{i}] grade {item.get('grade')!r} is not 1 or 2")
        relevant.append(RelevantPhrase(doc_id, phrase, grade))

    if kind == "unanswerable" and relevant:
        errors.append(f"{tag}: an unanswerable question must have no relevant phrases")
    if kind in KINDS and kind != "unanswerable" and not relevant:
        errors.append(f"{tag}: an answerable question needs at least one relevant phrase")

    raw_years = obj.get("years", []) or []
    years: list[int] = []
    if not isinstance(raw_years, list):
        errors.append(f"{tag}: years must be a list")
    else:
        for y in raw_years:
            try:
                years.append(int(y))
            except (TypeError, ValueError):
                errors.append(f"{tag}: year {y!r} is not an integer")

    figures = _parse_figures(obj.get("figures", []) or [], tag, errors)
    if errors:
        return None, errors
    return Query(qid, query, kind, split, tuple(relevant), tuple(sorted(set(years))), figures), []


def _parse_figures(raw: object, tag: str, errors: list[str]) -> tuple[FigureLabel, ...]:
    if not isinstance(raw, list):
        errors.append(f"{tag}: figures must be a list")
        return ()
    out = []
    for i, item in enumerate(raw):
        try:
            label = FigureLabel(str(item["doc_id"]).strip(), " ".join(str(item["phrase"]).split()),
                                " ".join(str(item["value"]).split()), tuple(sorted(int(y) for y in item["period"])))
        except (KeyError, TypeError, ValueError):
            errors.append(f"{tag}: figures[{i}] needs doc_id, phrase, value and a period of years")
            continue
        if not (label.doc_id and label.value and label.period) or label.value not in label.phrase:
            errors.append(f"{tag}: figures[{i}]: value {label.value!r} must appear in its phrase")
            continue
        out.append(label)
    return tuple(out)


def load_queries(path: str | Path = QUERIES_PATH) -> list[Query]:
    """Read the JSONL question set; normalises whitespace and case, raises on any bad line."""
    path = Path(path)
    queries: list[Query] = []
    errors: list[str] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: invalid JSON ({exc.msg})")
                continue
            q, errs = _parse_query(obj, where)
            errors.extend(errs)
            if q is None:
                continue
            if q.qid in seen:
                errors.append(f"{where}: duplicate qid {q.qid}")
                continue
            seen.add(q.qid)
            queries.append(q)
    if errors:
        raise ValueError("bad question set:\n" + "\n".join(errors))
    return queries


def load_source_texts(manifest: str | Path) -> dict[str, str]:
    """doc_id -> full text of each document listed in a ``manifest.toml`` (paths relative to it)."""
    manifest = Path(manifest)
    with manifest.open("rb") as fh:
        data = tomllib.load(fh)
    return {
        d["id"]: (manifest.parent / d["file"]).read_text(encoding="utf-8")
        for d in data.get("document", [])
    }


# --------------------------------------------------------------------------- checks against sources


def _short(phrase: str, limit: int = 90) -> str:
    return phrase if len(phrase) <= limit else phrase[: limit - 1] + "…"


def check_phrases(queries: Iterable[Query], doc_texts: Mapping[str, str]) -> list[str]:
    """Problems with the labels, one line each: unknown documents and phrases not in their source.

    A phrase is found when its ``alnum_key`` is a substring of the ``alnum_key`` of the
    document's full text.
    """
    keys = {doc_id: alnum_key(text) for doc_id, text in doc_texts.items()}
    problems: list[str] = []
    for q in queries:
        for r in [*q.relevant, *q.figures]:
            key = alnum_key(r.phrase)
            if r.doc_id not in keys:
                problems.append(f"{q.qid}: unknown document {r.doc_id}: '{_short(r.phrase)}'")
            elif key not in keys[r.doc_id]:
                problems.append(f"{q.qid}: phrase not found in {r.doc_id}: '{_short(r.phrase)}'")
    return problems


def missing_duplicates(queries: Iterable[Query], doc_texts: Mapping[str, str]) -> list[str]:
    """Phrases that also occur verbatim in another document that the question does not list.

    The 2018/19 web summary repeats much of the 2018/19 report; a phrase from one must be
    labelled for both, or a system that cites the other copy is marked wrong.
    """
    keys = {doc_id: alnum_key(text) for doc_id, text in doc_texts.items()}
    problems: list[str] = []
    for q in queries:
        labelled = {(r.doc_id, r.key) for r in q.relevant}
        reported: set[tuple[str, str]] = set()
        for r in q.relevant:
            for doc_id, key in keys.items():
                if doc_id == r.doc_id or (doc_id, r.key) in labelled or (doc_id, r.key) in reported:
                    continue
                if r.key in key:
                    reported.add((doc_id, r.key))
                    problems.append(
                        f"{q.qid}: phrase also occurs in {doc_id} but is not labelled there: "
                        f"'{_short(r.phrase)}'"
                    )
    return problems


_ALNUM_CHAR = re.compile(r"[0-9a-z]")
_BREAK = re.compile(r"\n[ \t\f\r]*\n|\n [^\s]|\f")


def phrases_crossing_breaks(queries: Iterable[Query], doc_texts: Mapping[str, str]) -> list[str]:
    """Phrases whose every occurrence in the source crosses a paragraph or page break.

    A break is a blank line, a form feed, or a line that starts with a single space (how the
    PDF-extracted text files mark a new page). Readers split blocks there, so such a phrase
    may never sit inside one passage.
    """
    offsets: dict[str, tuple[str, list[int]]] = {}
    for doc_id, text in doc_texts.items():
        chars: list[str] = []
        idx: list[int] = []
        for i, ch in enumerate(text):
            for c in ch.casefold():  # per character, so offsets stay in the original text
                if _ALNUM_CHAR.match(c):
                    chars.append(c)
                    idx.append(i)
        offsets[doc_id] = ("".join(chars), idx)
    problems: list[str] = []
    for q in queries:
        for r in q.relevant:
            if r.doc_id not in offsets or not r.key:
                continue
            key, idx = offsets[r.doc_id]
            text = doc_texts[r.doc_id]
            start = key.find(r.key)
            found = clean = False
            while start >= 0:
                found = True
                raw = text[idx[start] : idx[start + len(r.key) - 1] + 1]
                if not _BREAK.search(raw):
                    clean = True
                    break
                start = key.find(r.key, start + 1)
            if found and not clean:
                problems.append(
                    f"{q.qid}: phrase crosses a paragraph or page break in {r.doc_id}: "
                    f"'{_short(r.phrase)}'"
                )
    return problems


# --------------------------------------------------------------------------- chunks -> qrels


def canonical_ids(chunks: Iterable[Chunk]) -> dict[str, str]:
    """chunk_id -> the chunk it stands for: itself, or the end of its ``dup_of`` chain.

    A passage and its verbatim copy in another document (``dup_of``) are one unit of
    relevance: the search folds them, so counting both would cap recall below 1.
    """
    chunks = list(chunks)
    dup = {c.chunk_id: c.dup_of for c in chunks}
    out: dict[str, str] = {}
    for c in chunks:
        cid, seen = c.chunk_id, {c.chunk_id}
        while dup.get(cid) and dup[cid] in dup and dup[cid] not in seen:
            cid = dup[cid]
            seen.add(cid)
        out[c.chunk_id] = cid
    return out


def chunk_years(chunks: Iterable[Chunk]) -> dict[str, tuple[int, ...]]:
    """chunk_id -> the period its evidence counts under (`index.query.periods.evidence_period`:
    its document's, or its own in a document spanning several inspections), sorted."""
    from index.query.periods import evidence_period

    return {c.chunk_id: tuple(evidence_period(c.years, c.doc_years)) for c in chunks}


def _keys_by_doc(chunks: Iterable[Chunk]) -> dict[str, list[tuple[str, str]]]:
    by_doc: dict[str, list[tuple[str, str]]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append((c.chunk_id, alnum_key(c.text)))
    return by_doc


def qrels_for_chunks(
    queries: Iterable[Query], chunks: Iterable[Chunk], fold_duplicates: bool = True
) -> Qrels:
    """qid -> {chunk_id: grade} for every answerable question.

    A chunk is relevant to a question when its ``doc_id`` is a labelled document and the
    phrase's key is a substring of ``alnum_key(chunk.text)``; its grade is the highest over
    the phrases it holds. With ``fold_duplicates`` a relevant ``dup_of`` copy credits the
    chunk it repeats instead (see :func:`canonical_ids`). A question whose phrases match no
    chunk gets an empty dict; :func:`unmatched_phrases` says why.
    """
    chunks = list(chunks)
    by_doc = _keys_by_doc(chunks)
    canon = canonical_ids(chunks) if fold_duplicates else {c.chunk_id: c.chunk_id for c in chunks}
    qrels: Qrels = {}
    for q in queries:
        if not q.answerable:
            continue
        rel: dict[str, int] = {}
        for r in q.relevant:
            for chunk_id, key in by_doc.get(r.doc_id, ()):
                if r.key in key:
                    cid = canon[chunk_id]
                    rel[cid] = max(rel.get(cid, 0), r.grade)
        qrels[q.qid] = rel
    return qrels


def unmatched_phrases(queries: Iterable[Query], chunks: Iterable[Chunk]) -> list[str]:
    """Labelled phrases that fall in no single chunk (split across two, or text lost in ingest).

    Documents with no chunks at all are reported once per question.
    """
    by_doc = _keys_by_doc(chunks)
    problems: list[str] = []
    for q in queries:
        missing_docs: set[str] = set()
        for r in q.relevant:
            if r.doc_id not in by_doc:
                if r.doc_id not in missing_docs:
                    missing_docs.add(r.doc_id)
                    problems.append(f"{q.qid}: no chunks for document {r.doc_id}")
                continue
            if not any(r.key in key for _, key in by_doc[r.doc_id]):
                problems.append(
                    f"{q.qid}: phrase matches no chunk of {r.doc_id}: '{_short(r.phrase)}'"
                )
    return problems


# --------------------------------------------------------------------------- rankings


def as_ranking(results: Sequence[tuple[str, float]] | Mapping[str, float]) -> Ranking:
    """A ranked list of (chunk_id, score), best first; a mapping is sorted by score, then id.

    Later repeats of a chunk id are dropped.
    """
    if isinstance(results, Mapping):
        items = sorted(results.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    else:
        items = list(results)
    out: Ranking = []
    seen: set[str] = set()
    for doc_id, score in items:
        if doc_id in seen:
            continue
        seen.add(doc_id)
        out.append((str(doc_id), float(score)))
    return out
