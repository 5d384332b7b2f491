"""`peel ask` for a terminal: evidence per period, query terms marked, citations wrapped."""

from __future__ import annotations

import re
import textwrap

from index.answers import ALL_YEARS
from index.records import Answer

__all__ = ["format_answer_text"]

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
        return "No passages found for this question." if _has_words(answer.question) else "Please type a question."
    if not answer.strong:
        lines.append("No strong evidence found — nearest passages:")
        lines.append("")
    show_headers = len(answer.groups) > 1 or answer.groups[0][0] != ALL_YEARS
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


def _has_words(text: str) -> bool:
    return bool(re.search(r"[A-Za-z0-9]", text or ""))
