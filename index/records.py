"""Records that flow out of the index: hits, citations, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Citation:
    """Where a passage sits: one format for the CLI, the app and exports."""

    doc_id: str
    title: str
    year: int | None
    section: list[str]
    page: int | None
    char_start: int
    char_end: int
    source: str

    def label(self) -> str:
        """'Title (year) › Section › Subsection, p. N'."""
        head = f"{self.title} ({self.year})" if self.year else self.title
        parts = [head, *self.section]
        text = " › ".join(parts)
        if self.page is not None:
            text += f", p. {self.page}"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["label"] = self.label()
        return d


@dataclass
class Hit:
    """One ranked passage; chunk fields plus how it was found."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    title: str
    year: int | None  # the year a citation shows: the latest of the document's period
    years: list[int]  # the years the passage speaks of
    doc_type: str
    force: str | None
    section: list[str]
    text: str
    char_start: int
    char_end: int
    page: int | None
    source: str
    doc_years: list[int] = field(default_factory=list)  # the document's period
    also_in: list[dict[str, Any]] = field(default_factory=list)  # folded near-duplicates
    ranks: dict[str, int] = field(default_factory=dict)  # per-retriever rank (1-based)
    scores: dict[str, float] = field(default_factory=dict)  # per-retriever raw score

    @classmethod
    def from_chunk(cls, chunk: Any, rank: int, score: float, **extra: Any) -> "Hit":
        """A hit for ``chunk`` (an ingest.records.Chunk) at ``rank``."""
        return cls(
            rank=rank,
            score=score,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            title=chunk.title,
            year=chunk.year,
            years=list(chunk.years),
            doc_years=list(getattr(chunk, "doc_years", None) or chunk.years),
            doc_type=chunk.doc_type,
            force=chunk.force,
            section=list(chunk.section),
            text=chunk.text,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            page=chunk.page,
            source=chunk.source,
            **extra,
        )

    @property
    def citation(self) -> Citation:
        return Citation(
            doc_id=self.doc_id,
            title=self.title,
            year=self.year,
            section=list(self.section),
            page=self.page,
            char_start=self.char_start,
            char_end=self.char_end,
            source=self.source,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["citation"] = self.citation.to_dict()
        return d


@dataclass
class Evidence:
    """One verbatim sentence from a hit, with where it came from."""

    sentence: str
    char_start: int  # offsets of the sentence in the source text
    char_end: int
    score: float
    citation: Citation
    chunk_id: str
    highlights: list[tuple[int, int]] = field(default_factory=list)  # query-term spans in sentence
    # The sentences just before / after ``sentence`` in the chunk, verbatim, when shown for
    # context ("" otherwise). ``sentence`` itself is always the answering sentence.
    context_before: str = ""
    context_after: str = ""
    # True when char_start/char_end were aligned with the source text; False when they are
    # the chunk's char_start plus the sentence's offset in the chunk text (may be off by
    # the whitespace the chunk normalised).
    offsets_exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["citation"] = self.citation.to_dict()
        return d


@dataclass
class Figure:
    """One quantity a sentence states: its words, its value, what it counts and when.

    ``source_text[start:end] == value``; ``citation`` and ``chunk_id`` say where the sentence
    is (set when the figure comes from an answer's evidence)."""

    value: str
    number: float | None
    kind: str  # "count" | "percent" | "money" | "duration" | "rate"
    measure: str
    period: list[int]
    period_from: str  # "sentence" | "passage" | "document"
    sentence: str
    start: int
    end: int
    chunk_id: str = ""
    citation: Citation | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["citation"] = self.citation.to_dict() if self.citation else None
        return d


@dataclass
class Answer:
    """The answer view: evidence sentences, grouped by year when the question asks about change."""

    question: str
    strong: bool  # False: "no strong evidence found", evidence shown as nearest passages only
    temporal: bool  # True when the question is about change over time
    groups: list[tuple[str, list[Evidence]]]  # (label e.g. "2016" or "All years", evidence)
    hits: list[Hit] = field(default_factory=list)
    # labels of groups whose evidence is only the nearest material, not a close match
    # (every group when ``strong`` is False)
    weak_groups: list[str] = field(default_factory=list)
    message: str | None = None  # notes for the user (years read from the question, …)
    # change-over-time answers: the quantities their evidence states, each with its period
    figures: list[Figure] = field(default_factory=list)
    group_by: str = ""  # "period", "force", or "" when the evidence is one group ("All years")

    def to_dict(self) -> dict[str, Any]:
        return {
            "figures": [f.to_dict() for f in self.figures],
            "group_by": self.group_by,
            "question": self.question,
            "strong": self.strong,
            "temporal": self.temporal,
            "groups": [
                {"label": label, "evidence": [e.to_dict() for e in ev]} for label, ev in self.groups
            ],
            "hits": [h.to_dict() for h in self.hits],
            "weak_groups": list(self.weak_groups),
            "message": self.message,
        }
