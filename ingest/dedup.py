"""Mark chunks that repeat another document's text (a web summary quoting its report).

A chunk is a near-duplicate when at least ``threshold`` of its word 5-grams occur in one
other document; it then points (``dup_of``) at that document's chunk that shares most of
them. Containment over the whole other document, not one chunk, because the two
documents are cut at different places. The more authoritative document keeps the
original: full reports over summaries over news.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from ingest.records import Chunk

SHINGLE = 5
THRESHOLD = 0.8
_AUTHORITY = {"peel-report": 0, "inspection-report": 1, "thematic-inspection": 1, "crime-data-integrity": 1,
              "force-progress-report": 2, "pcc-report": 2, "peel-web-summary": 3, "news": 4}
_WORD = re.compile(r"[0-9a-z]+")


def _shingles(text: str) -> set[int]:
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE:
        return {hash(" ".join(words))} if words else set()
    return {hash(" ".join(words[i : i + SHINGLE])) for i in range(len(words) - SHINGLE + 1)}


def mark_near_duplicates(chunks: list[Chunk], threshold: float = THRESHOLD) -> int:
    """Set ``dup_of`` on near-duplicate chunks in place; return how many were marked."""
    doc_size = Counter(c.doc_id for c in chunks)
    doc_type = {c.doc_id: c.doc_type for c in chunks}

    def authority(doc_id: str) -> tuple:
        return (_AUTHORITY.get(doc_type[doc_id], 2), -doc_size[doc_id], doc_id)

    shingles = [_shingles(c.text) for c in chunks]
    postings: dict[int, list[int]] = defaultdict(list)
    # Shingles found in more than one document: only these can make a duplicate. Skipping
    # the rest keeps a document that repeats itself (boilerplate on every page, a pasted
    # paragraph many times over) linear instead of quadratic in its chunks.
    cross_doc: set[int] = set()
    for i, sh in enumerate(shingles):
        doc_id = chunks[i].doc_id
        for s in sh:
            posting = postings[s]
            if posting and s not in cross_doc and chunks[posting[0]].doc_id != doc_id:
                cross_doc.add(s)
            posting.append(i)

    marked = 0
    for i, chunk in enumerate(chunks):
        chunk.dup_of = None
        sh = shingles[i]
        if len(sh) < 3:
            continue
        by_doc: dict[str, set[int]] = defaultdict(set)
        per_chunk: Counter = Counter()
        for s in sh & cross_doc:
            for j in postings[s]:
                other = chunks[j]
                if other.doc_id != chunk.doc_id:
                    by_doc[other.doc_id].add(s)
                    per_chunk[j] += 1
        best = None
        for doc_id, shared in by_doc.items():
            if len(shared) / len(sh) < threshold or authority(doc_id) >= authority(chunk.doc_id):
                continue
            if best is None or authority(doc_id) < authority(best):
                best = doc_id
        if best is None:
            continue
        j = max((j for j in per_chunk if chunks[j].doc_id == best), key=lambda j: (per_chunk[j], -j))
        chunk.dup_of = chunks[j].chunk_id
        marked += 1
    return marked
