"""Answers: verbatim evidence sentences chosen from retrieved passages, with citations.

`select_evidence` (grouping, picks, strong/weak), `scoring` (sentence scores), `terms`
(the question's terms and their highlights).
"""

from index.answers.select import ALL_YEARS, select_evidence

__all__ = ["ALL_YEARS", "select_evidence"]
