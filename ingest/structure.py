"""Format-independent clean-up of a reader's blocks, and heading paths."""

from __future__ import annotations

import re
from dataclasses import replace

from ingest.headings import is_grade
from ingest.records import Block, alnum_key

_CONTENTS = re.compile(r"^(table of )?contents$", re.I)


def normalise_structure(blocks: list[Block]) -> list[Block]:
    """Apply the rules every format shares.

    - A grade ("Good", "Requires improvement") is a judgment, not a section name: text.
    - A heading whose only body is grades, with no subsections, is a row of a grades
      table: text. So is a
      heading followed at once by a grade whose text recurs as a heading further on
      (a summary table listing the sections with their grades).
    - A table of contents is navigation, not content: dropped with its heading.
    """
    out = [replace(b, kind="text", level=0) if b.kind == "heading" and is_grade(b.text) else b for b in blocks]

    for i, block in enumerate(out):
        if block.kind != "heading":
            continue
        body = []
        following = None
        for nxt in out[i + 1 :]:
            if nxt.kind == "heading":
                following = nxt
                break
            body.append(nxt)
        has_subsections = following is not None and following.level > block.level
        if body and all(is_grade(b.text) for b in body) and not has_subsections:
            out[i] = replace(block, kind="text", level=0)
        elif body and is_grade(body[0].text):
            key = alnum_key(block.text)
            if any(b.kind == "heading" and alnum_key(b.text) == key for b in out[i + 1 + len(body) :]):
                out[i] = replace(block, kind="text", level=0)

    kept: list[Block] = []
    skipping_level = 0
    for block in out:
        if skipping_level:
            if block.kind == "heading" and block.level <= skipping_level:
                skipping_level = 0
            else:
                continue
        if block.kind == "heading" and _CONTENTS.match(block.text.strip()):
            skipping_level = block.level
            continue
        kept.append(block)
    return kept


def with_paths(blocks: list[Block]) -> list[tuple[Block, list[str]]]:
    """Pair each non-heading block with the list of headings above it, top first."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[Block, list[str]]] = []
    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.text))
            continue
        out.append((block, [title for _, title in stack]))
    return out
