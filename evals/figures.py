"""Figure extraction scored against the labelled figures of change-over-time questions.

For each question with ``figures`` labels (`evals.labels.FigureLabel`), the answer's figures
(`index.api.ask`, the one retrieval path) are judged when their sentence is a labelled one
(it holds a label's phrase, in that label's document): a judged figure is right when a label
of that sentence has its value (as written, whitespace aside) and its period. Every figure of
a labelled sentence is labelled, so a judged figure with no label is wrong.

* precision: right / judged figures (figures of unlabelled sentences are not judged);
* recall: labels matched by a right figure / labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.labels import FigureLabel, Query
from ingest.records import alnum_key


@dataclass
class FigureScores:
    precision: float | None  # None when nothing was judged
    recall: float
    labelled: int
    judged: int
    right: int
    per_query: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "q065: '215' read as [2017], labelled [2016] …"

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "labelled": self.labelled,
                "judged": self.judged, "right": self.right, "per_query": self.per_query, "errors": self.errors}


def _norm(value: str) -> str:
    return " ".join(value.split())


def evaluate_figures(queries: Sequence[Query], answer_figures: Callable[[str], Sequence[Any]],
                     split: str = "all") -> FigureScores:
    """Score ``answer_figures(question)`` (records with ``value``, ``period``, ``sentence`` and
    ``citation.doc_id``, as `index.records.Figure`) on the questions that have figure labels."""
    labelled = judged = right = found = 0
    per_query: dict[str, dict[str, int]] = {}
    errors: list[str] = []
    for q in queries:
        if not q.figures or (split != "all" and q.split != split):
            continue
        labels: list[FigureLabel] = list(q.figures)
        matched: set[int] = set()
        q_judged = q_right = 0
        for f in answer_figures(q.query):
            doc_id = f.citation.doc_id if f.citation else ""
            sentence = alnum_key(f.sentence)
            mine = [i for i, lb in enumerate(labels) if lb.doc_id == doc_id and alnum_key(lb.phrase) in sentence]
            if not mine:
                continue
            q_judged += 1
            ok = [i for i in mine if _norm(labels[i].value) == _norm(f.value)
                  and tuple(labels[i].period) == tuple(sorted(f.period))]
            if ok:
                q_right += 1
                matched.add(ok[0])
            else:
                expected = [f"{labels[i].value} {list(labels[i].period)}" for i in mine]
                errors.append(f"{q.qid}: '{_norm(f.value)}' read as {list(f.period)}; the sentence's labels: "
                              + ", ".join(expected))
        per_query[q.qid] = {"labelled": len(labels), "judged": q_judged, "right": q_right, "found": len(matched)}
        labelled += len(labels)
        judged += q_judged
        right += q_right
        found += len(matched)
    return FigureScores(precision=right / judged if judged else None, recall=found / labelled if labelled else 0.0,
                        labelled=labelled, judged=judged, right=right, per_query=per_query, errors=errors)
