"""Markdown (and markdown-like extracts): `#` headings, `**bold**` sub-headings, tab tables."""

from __future__ import annotations

import re

from ingest.furniture import is_furniture_line
from ingest.records import Block, ParsedDocument

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(?P<t>[^*_].*?)(\*\*|__)\s*$")
_LIST_ITEM = re.compile(r"^\s*([-*+•]|\d{1,3}[.)])\s+\S")
_TAG = re.compile(r"</?(b|strong|i|em|u)>", re.I)


def _clean(text: str) -> str:
    """Markdown emphasis markers out, whitespace collapsed; letters and digits untouched."""
    text = re.sub(r"(\*\*|__)", "", text)
    return " ".join(text.split())


def read_markdown(path: str, text: str) -> ParsedDocument:
    """Parse markdown into blocks; offsets index ``text`` itself."""
    blocks: list[Block] = []
    current_level = 0
    pos = 0
    para: list[tuple[int, int, str]] = []  # (start, end, line) of the open paragraph
    table: list[tuple[int, int, str]] = []

    def flush() -> None:
        nonlocal para, table
        for group, kind in ((para, None), (table, "table")):
            if not group:
                continue
            start, end = group[0][0], group[-1][1]
            if kind == "table":
                body = "\n".join(" | ".join(c.strip() for c in line.split("\t")) for _, _, line in group)
            else:
                body = _clean(" ".join(line for _, _, line in group))
                kind = "list" if _LIST_ITEM.match(group[0][2]) else "text"
            lead = len(group[0][2]) - len(group[0][2].lstrip())
            blocks.append(Block(body, start + lead, end, kind))
        para, table = [], []

    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        start, end = pos, pos + len(line.rstrip())
        pos += len(raw)
        stripped = line.strip()
        if not stripped or is_furniture_line(_TAG.sub("", stripped)):
            flush()
            continue
        m = _ATX.match(stripped)
        bold = _BOLD_LINE.match(stripped)
        if m or (bold and len(bold.group("t").split()) <= 14 and not stripped.rstrip("*_").endswith(".")):
            flush()
            if m:
                level = len(m.group(1))
                title = _clean(m.group(2))
            else:
                level = min(6, current_level + 1) if current_level else 2
                title = _clean(bold.group("t"))
            if title:
                lead = len(line) - len(line.lstrip())
                blocks.append(Block(title, start + lead, end, "heading", level))
                if m:
                    current_level = level
            continue
        if "\t" in stripped:
            if para:
                flush()
            table.append((start, end, line))
            continue
        if table:
            flush()
        if para and _LIST_ITEM.match(line):
            flush()
        para.append((start, end, line))
    flush()
    return ParsedDocument(path=path, fmt="md", text=text, blocks=blocks)
