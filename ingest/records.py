"""Records that flow out of ingest: parsed documents, their blocks, and chunks."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

_ALNUM = re.compile(r"[^0-9a-z]+")


def alnum_key(text: str) -> str:
    """Letters and digits only, lower-cased: the key used to compare text with its source."""
    return _ALNUM.sub("", text.casefold())


@dataclass
class Block:
    """One structural unit a reader found: a heading, a paragraph, a list item or a table.

    ``start``/``end`` index into ``ParsedDocument.text``; ``text`` is the block's text with
    only whitespace and markup punctuation changed, so ``alnum_key(text) ==
    alnum_key(doc.text[start:end])`` always holds.
    """

    text: str
    start: int
    end: int
    kind: str = "text"  # "heading" | "text" | "list" | "table"
    level: int = 0  # 1 = top-level heading; 0 for non-headings
    page: int | None = None


@dataclass
class ParsedDocument:
    """What a reader returns: the text that offsets refer to, and its content blocks.

    Page furniture, site chrome, captions and footnotes are left out of ``blocks``; the
    gaps they leave between blocks are never bridged by a chunk.
    """

    path: str
    fmt: str  # "txt" | "md" | "html" | "pdf"
    text: str
    blocks: list[Block]
    title: str | None = None  # from the format's own metadata (<title>, PDF info), if any
    warnings: list[str] = field(default_factory=list)


@dataclass
class DocumentMeta:
    """Bibliographic facts about one document, from the manifest or inferred from its text."""

    doc_id: str
    title: str
    force: str | None = None
    years: list[int] = field(default_factory=list)  # its period: the manifest's, or first–last inferred
    doc_type: str = "unknown"
    publisher: str | None = None
    published: str | None = None  # ISO date or year
    url: str | None = None
    source: str = ""  # path of the file
    inferred: list[str] = field(default_factory=list)  # fields guessed from the text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Chunk:
    """A token-bounded, citable passage of one document."""

    chunk_id: str
    doc_id: str
    title: str
    force: str | None
    years: list[int]  # the years the passage speaks of, from its text and headings
    doc_type: str
    section: list[str]
    text: str
    char_start: int
    char_end: int
    page: int | None
    n_tokens: int
    source: str
    position: int  # order of the chunk within its document
    dup_of: str | None = None  # chunk_id of the passage this one repeats, in another document
    # The document's period; ``years`` above are the passage's own (what filters use).
    # Empty in chunk records written before passages had years of their own.
    doc_years: list[int] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        """The year a citation shows: the document's latest, so every passage of a report
        cites it alike; the passage's own latest for records without a document period."""
        if self.doc_years:
            return max(self.doc_years)
        return max(self.years) if self.years else None

    def embed_text(self) -> str:
        """Heading path and text: what the retrievers see."""
        if not self.section:
            return self.text
        return " > ".join(self.section) + "\n" + self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Chunk":
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


def corpus_fingerprint(chunks: Iterable[Chunk]) -> str:
    """SHA-256 over the chunks' ids and texts, independent of their order."""
    h = hashlib.sha256()
    for cid, text in sorted((c.chunk_id, c.text) for c in chunks):
        h.update(cid.encode())
        h.update(b"\x00")
        h.update(text.encode())
        h.update(b"\x01")
    return h.hexdigest()
