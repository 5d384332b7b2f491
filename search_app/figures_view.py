"""The figures of a change-over-time answer as a period × measure table and per-measure series.

Rows are measures, grouped by their head word ("orders" for "domestic violence prevention
orders (DVPOs)" and "the number of domestic violence protection orders"), so one measure's
figures from different reports line up; columns are the periods the figures speak of. Every
cell is the figure exactly as written, with its sentence and citation, linking to the passage
card it comes from. Nothing is computed: a series is only the stated numbers in time order.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field

from index.query.periods import period_key, period_label
from index.records import Figure

_LEADING = re.compile(r"^(?:the\s+)?(?:number|numbers|proportion|rate|percentage|share|total|level|amount|count)"
                      r"\s+of\s+(?:the\s+)?")
_CUT = re.compile(r"\s(?:a|an|per|each|every|in|on|at|for|by|from|to|with|who|which|that)\s")
_WORD = re.compile(r"[a-z][a-z'-]*")


def measure_key(measure: str) -> str:
    """The word a measure is grouped by: its head noun, singular ("orders" → "order")."""
    text = re.sub(r"\([^)]*\)", " ", measure.lower())
    text = _LEADING.sub("", text.strip())
    text = _CUT.split(f" {text} ", maxsplit=1)[0]
    words = _WORD.findall(text)
    if not words:
        return ""
    head = words[-1]
    return head[:-1] if head.endswith("s") and not head.endswith("ss") and len(head) > 3 else head


@dataclass
class FigureRow:
    """One measure: its label and its figures by period label."""

    key: str
    label: str
    cells: dict[str, list[Figure]] = field(default_factory=dict)

    def series(self) -> list[tuple[int, float]] | None:
        """(first year of the period, number) in time order when the measure has one number
        for each of two or more periods, all of one kind; else None."""
        points = []
        kinds = {f.kind for figs in self.cells.values() for f in figs}
        if len(kinds) != 1:
            return None
        for figs in self.cells.values():
            if len(figs) != 1 or figs[0].number is None:
                return None
            points.append((min(figs[0].period), figs[0].number))
        return sorted(points) if len({year for year, _ in points}) >= 2 else None


def figure_table(figures: list[Figure]) -> tuple[list[str], list[FigureRow]]:
    """(period labels in time order, rows in order of first appearance)."""
    periods = sorted({period_label(f.period) for f in figures}, key=lambda lb: period_key(_years(lb, figures)))
    rows: dict[str, FigureRow] = {}
    labels: dict[str, Counter] = {}
    for f in figures:
        key = measure_key(f.measure) or f.kind
        row = rows.setdefault(key, FigureRow(key, key))
        row.cells.setdefault(period_label(f.period), []).append(f)
        labels.setdefault(key, Counter())[" ".join(f.measure.split()) or f.kind] += 1
    for key, row in rows.items():
        # the most used wording, the shortest among equals
        row.label = min(labels[key].items(), key=lambda kv: (-kv[1], len(kv[0])))[0]
    return periods, list(rows.values())


def _years(label: str, figures: list[Figure]) -> list[int]:
    return next(f.period for f in figures if period_label(f.period) == label)


def table_html(periods: list[str], rows: list[FigureRow], anchors: dict[str, str]) -> str:
    """The table; ``anchors`` maps a chunk id to the id of its passage card on the page."""
    head = "".join(f"<th>{html.escape(p)}</th>" for p in periods)
    body = []
    for row in rows:
        cells = []
        for p in periods:
            items = []
            for f in row.cells.get(p, []):
                cite = f.citation.label() if f.citation else ""
                # quotes escaped, and "=" too: no attribute-like text (onclick=…) from a report
                # ever appears inside the tag, even as a tooltip
                tip = html.escape(f"“{' '.join(f.sentence.split())}” — {' '.join(cite.split())}",
                                  quote=True).replace("=", "&#61;")
                value = html.escape(" ".join(f.value.split()))
                target = anchors.get(f.chunk_id)
                items.append(f'<a href="#{target}" title="{tip}">{value}</a>' if target
                             else f'<span title="{tip}">{value}</span>')
            cells.append(f"<td>{' / '.join(items)}</td>")
        body.append(f"<tr><th>{html.escape(row.label)}</th>{''.join(cells)}</tr>")
    return (f'<table class="peel-figures"><thead><tr><th>measure</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
