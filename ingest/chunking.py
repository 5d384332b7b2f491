"""Cut a parsed document into token-bounded chunks that keep their heading path and offsets.

Sections are split at headings; long blocks at sentence boundaries (pysbd, rule-based,
no data download), over-long sentences at word boundaries. Tiny sections merge into a
neighbour under the same parent. A chunk never bridges text that was left out (a
footnote, a banner), so its source slice always equals its text on letters and digits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from ingest.records import Block, Chunk, DocumentMeta, ParsedDocument, alnum_key
from ingest.structure import normalise_structure, with_paths
from ingest.tokens import (
    count_tokens,
    model_max_length,
    tokenizer_counter,
    wordpiece_counter,
)
from ingest.years import document_context, passage_years


@dataclass(frozen=True)
class ChunkerSettings:
    """Chunk budgets: a soft one in cl100k tokens and the embedding model's hard word-piece limit.

    The word pieces are counted with ``tokenizer_file`` when given (against exactly
    ``model_max_length``); else with the tokenizer in ``model_path`` (default: the packaged
    all-MiniLM-L6-v2), against ``model_max_length`` capped by that folder's own limit.
    """

    max_tokens: int = 200  # cl100k tokens of heading path + text
    min_tokens: int = 50  # a smaller chunk merges into a neighbour under the same parent
    model_max_length: int = 256  # the embedding model's limit in word pieces (hard)
    model_path: str | None = None  # whose tokenizer checks the hard limit (default model if None)
    tokenizer_file: str | None = None  # a tokenizer.json to count word pieces with instead

    def to_dict(self) -> dict:
        """The settings as the index manifest records them."""
        out = asdict(self)
        if out["tokenizer_file"] is None:  # absent before it existed: old manifests stay equal
            del out["tokenizer_file"]
        return out


@dataclass
class _Unit:
    text: str
    start: int
    end: int
    page: int | None
    block: int  # index of the block it came from


@dataclass
class _Draft:
    units: list[_Unit]
    section: list[str]
    text: str = ""

    @property
    def start(self) -> int:
        return self.units[0].start

    @property
    def end(self) -> int:
        return self.units[-1].end


_ASCII_ALNUM = np.zeros(128, dtype=bool)
for _c in b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _ASCII_ALNUM[_c] = True


def _alnum_positions(text: str) -> np.ndarray:
    """Indices of the characters of ``text`` that have letters or digits under `alnum_key`.

    Vectorised (one pass in C): a block can be a whole 20 MB file with no paragraph break.
    """
    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        return np.flatnonzero(_ASCII_ALNUM[codes])
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mask = _ASCII_ALNUM[np.minimum(codes, 127)] & (codes < 128)
    # Beyond ASCII, ask alnum_key once per distinct character ("é" → "e", "ﬁ" → "fi").
    extra = [ord(ch) for ch in set(text) if not ch.isascii() and alnum_key(ch)]
    if extra:
        mask |= np.isin(codes, np.array(extra, dtype=np.uint32))
    return np.flatnonzero(mask)


class _SpanMapper:
    """Maps spans of a block's text to source offsets; positions are computed once per block."""

    def __init__(self, text: str, source: str, source_offset: int):
        self.source_len = len(source)
        self.offset = source_offset
        self.tpos = _alnum_positions(text)
        self.spos = _alnum_positions(source)
        self.ok = len(self.tpos) == len(self.spos) and len(self.tpos) > 0

    def __call__(self, a: int, b: int) -> tuple[int, int]:
        if not self.ok:
            return self.offset, self.offset + self.source_len
        first = int(np.searchsorted(self.tpos, a, side="left"))  # first position >= a
        last = int(np.searchsorted(self.tpos, b, side="left")) - 1  # last position < b
        if first >= len(self.tpos) or last < 0 or last < first:
            return self.offset, self.offset
        return self.offset + int(self.spos[first]), self.offset + int(self.spos[last]) + 1


def map_span(text: str, source: str, source_offset: int, a: int, b: int) -> tuple[int, int]:
    """Map the span [a, b) of ``text`` to offsets in the full source, via letters and digits.

    ``text`` and ``source`` (a slice of the full source starting at ``source_offset``) hold
    the same letters and digits in the same order; only whitespace and punctuation differ.
    (The chunker maps many spans of one block with a `_SpanMapper`.)
    """
    return _SpanMapper(text, source, source_offset)(a, b)


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


# pysbd's time grows with the square of its input (0.3 s for 10,000 characters, 26 s for
# 100,000), so a block longer than any real paragraph is cut into windows at likely
# sentence ends first and each window is segmented on its own: linear in the block.
SBD_MAX_CHARS = 6000
SBD_WINDOW = 3000
_LIKELY_END = re.compile(r"[.!?…][\"'’”)\]]*\s+")


def _windows(text: str) -> list[tuple[int, int]]:
    out, start, n = [], 0, len(text)
    while n - start > SBD_WINDOW:
        limit = start + SBD_WINDOW
        cut = None
        for m in _LIKELY_END.finditer(text, start + SBD_WINDOW // 2, limit):
            cut = m.end()
        if cut is None:
            space = max(text.rfind(" ", start + SBD_WINDOW // 2, limit), text.rfind("\n", start + SBD_WINDOW // 2, limit))
            cut = space + 1 if space > start else limit
        out.append((start, cut))
        start = cut
    out.append((start, n))
    return out


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    if len(text) <= SBD_MAX_CHARS:
        pieces = _segmenter().segment(text)
    else:
        pieces = []
        for w0, w1 in _windows(text):
            for span in _segmenter().segment(text[w0:w1]):
                span.start += w0
                span.end += w0
                pieces.append(span)
    spans = []
    for span in pieces:
        a, b = span.start, span.end
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append((a, b))
    return spans or [(0, len(text))]


def _word_pieces(text: str, a: int, b: int, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Split an over-long span at spaces into pieces that fit."""
    out: list[tuple[int, int]] = []
    words = []
    pos = a
    for word in text[a:b].split():
        i = text.index(word, pos)
        words.append((i, i + len(word)))
        pos = i + len(word)
    cur_start = None
    cur_end = None
    for ws, we in words:
        if cur_start is None:
            cur_start, cur_end = ws, we
            continue
        if fits(text[cur_start:we]):
            cur_end = we
        else:
            out.append((cur_start, cur_end))
            cur_start, cur_end = ws, we
    if cur_start is not None:
        out.append((cur_start, cur_end))
    return out


class Chunker:
    """Turns ParsedDocuments into Chunks under one set of settings."""

    def __init__(self, settings: ChunkerSettings | None = None):
        self.settings = settings or ChunkerSettings()
        if self.settings.tokenizer_file:
            self._wordpieces = tokenizer_counter(self.settings.tokenizer_file)
            self._max_wp = self.settings.model_max_length
        else:
            self._wordpieces = wordpiece_counter(self.settings.model_path)
            self._max_wp = min(self.settings.model_max_length, model_max_length(self.settings.model_path))

    # -- budgets -----------------------------------------------------------------------
    def _fits(self, section: list[str], text: str) -> bool:
        embed = (" > ".join(section) + "\n" + text) if section else text
        if count_tokens(embed) > self.settings.max_tokens:
            return False
        return self._wordpieces is None or self._wordpieces(embed) <= self._max_wp

    # -- units -------------------------------------------------------------------------
    def _units(self, doc: ParsedDocument, block: Block, index: int, section: list[str]) -> list[_Unit]:
        fits = lambda t: self._fits(section, t)  # noqa: E731
        if fits(block.text):
            return [_Unit(block.text, block.start, block.end, block.page, index)]
        if block.kind == "table":
            spans, pos = [], 0
            for line in block.text.split("\n"):
                spans.append((pos, pos + len(line)))
                pos += len(line) + 1
        else:
            spans = _sentence_spans(block.text)
        pieces: list[tuple[int, int]] = []
        for a, b in spans:
            if fits(block.text[a:b]):
                pieces.append((a, b))
            else:
                pieces.extend(_word_pieces(block.text, a, b, fits))
        mapper = _SpanMapper(block.text, doc.text[block.start : block.end], block.start)
        units = []
        for a, b in pieces:
            s, e = mapper(a, b)
            if e > s:
                units.append(_Unit(block.text[a:b], s, e, block.page, index))
        return units

    @staticmethod
    def _join(units: list[_Unit]) -> str:
        parts = [units[0].text]
        for prev, unit in zip(units, units[1:]):
            parts.append((" " if unit.block == prev.block else "\n") + unit.text)
        return "".join(parts)

    # -- packing -----------------------------------------------------------------------
    def _pack(self, doc: ParsedDocument, units: list[_Unit], section: list[str]) -> list[_Draft]:
        drafts: list[_Draft] = []
        cur: list[_Unit] = []
        for unit in units:
            if cur:
                gap = doc.text[cur[-1].end : unit.start]
                if not alnum_key(gap) and self._fits(section, self._join(cur + [unit])):
                    cur.append(unit)
                    continue
                drafts.append(_Draft(cur, section, self._join(cur)))
            cur = [unit]
        if cur:
            drafts.append(_Draft(cur, section, self._join(cur)))
        return drafts

    def _merge_small(self, doc: ParsedDocument, drafts: list[_Draft], headings: list[Block]) -> list[_Draft]:
        """Fold chunks under the budget's minimum into a neighbour with a shared parent."""
        min_tokens = self.settings.min_tokens
        out: list[_Draft] = []
        for draft in drafts:
            if out and (count_tokens(out[-1].text) < min_tokens or count_tokens(draft.text) < min_tokens):
                merged = self._try_merge(doc, out[-1], draft, headings)
                if merged is not None:
                    out[-1] = merged
                    continue
            out.append(draft)
        return out

    def _try_merge(self, doc: ParsedDocument, a: _Draft, b: _Draft, headings: list[Block]) -> _Draft | None:
        between = [h for h in headings if a.end <= h.start and h.end <= b.start]
        gap = doc.text[a.end : b.start]
        if alnum_key(gap) != alnum_key(" ".join(h.text for h in between)):
            return None  # something left out lies between them
        common = []
        for x, y in zip(a.section, b.section):
            if x != y:
                break
            common.append(x)
        if (a.section or b.section) and not common:
            return None
        text = "\n".join([a.text, *(h.text for h in between), b.text])
        if not self._fits(common, text):
            return None
        return _Draft(a.units + b.units, common, text)

    # -- public ------------------------------------------------------------------------
    def chunk(self, doc: ParsedDocument, meta: DocumentMeta) -> list[Chunk]:
        blocks = normalise_structure(doc.blocks)
        headings = [b for b in blocks if b.kind == "heading"]
        drafts: list[_Draft] = []
        section_units: list[_Unit] = []
        section: list[str] | None = None
        paths = with_paths(blocks)
        for index, (block, path) in enumerate(paths):
            if path != section and section_units:
                drafts.extend(self._pack(doc, section_units, section or []))
                section_units = []
            section = path
            section_units.extend(self._units(doc, block, index, path))
        if section_units:
            drafts.extend(self._pack(doc, section_units, section or []))
        drafts = self._merge_small(doc, drafts, headings)

        context = document_context(meta)
        chunks = []
        for position, d in enumerate(drafts):
            # Every heading path its parts came from: a merged chunk keeps each part's dated heading.
            sections = list({tuple(paths[u.block][1]): None for u in d.units})
            years = passage_years(d.text, sections, context, meta.years)
            digest = hashlib.sha1(f"{meta.doc_id}|{d.start}|{d.end}|{d.text}".encode()).hexdigest()[:12]
            embed = (" > ".join(d.section) + "\n" + d.text) if d.section else d.text
            chunks.append(
                Chunk(
                    chunk_id=f"{meta.doc_id}#{digest}",
                    doc_id=meta.doc_id,
                    title=meta.title,
                    force=meta.force,
                    years=years,
                    doc_type=meta.doc_type,
                    section=list(d.section),
                    text=d.text,
                    char_start=d.start,
                    char_end=d.end,
                    page=d.units[0].page,
                    n_tokens=count_tokens(embed),
                    source=meta.source,
                    position=position,
                    doc_years=list(meta.years),
                )
            )
        return chunks
