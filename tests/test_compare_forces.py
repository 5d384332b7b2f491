"""Forces side by side: `ask(..., by="force")`, `peel ask --by force`, and the app's columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index import api
from index.engine.filters import Filters
from tests.multi_force import QUESTION, build

ROOT = Path(__file__).resolve().parent.parent
FORCES = ["Dorset Police", "Kent Police", "Surrey Police"]


@pytest.fixture(scope="module")
def multi_force(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("forces"))


def test_each_force_gets_a_column_of_its_own_evidence(multi_force):
    answer = api.ask(api.open_index(multi_force), QUESTION, by="force", k=4)
    assert answer.group_by == "force"
    assert [label for label, _ in answer.groups] == FORCES
    for force, evidence in answer.groups:
        assert evidence
        assert all(e.citation.title.endswith(force) for e in evidence)
        assert any("stop and search" in e.sentence.lower() or "search" in e.sentence for e in evidence)


def test_the_force_filter_chooses_the_columns(multi_force):
    answer = api.ask(api.open_index(multi_force), QUESTION, by="force",
                     filters=Filters(forces=["Kent Police", "Surrey Police"]))
    assert [label for label, _ in answer.groups] == ["Kent Police", "Surrey Police"]


def test_without_by_force_the_answer_is_one_group(multi_force):
    answer = api.ask(api.open_index(multi_force), QUESTION)
    assert answer.group_by == "" and len(answer.groups) == 1


def test_one_force_in_the_index_says_there_is_nothing_to_compare(tmp_path):
    from tests.multi_force import REPORTS

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kent.md").write_text(REPORTS["kent-peel-2018.md"], encoding="utf-8")
    api.build([corpus], tmp_path / "index", model=None)
    answer = api.ask(api.open_index(tmp_path / "index"), QUESTION, by="force")
    assert "Only one force in this index" in (answer.message or "")


def test_peel_ask_by_force_json(multi_force):
    run = subprocess.run([sys.executable, "-m", "search_app.cli", "ask", QUESTION, "--by", "force",
                          "--index", str(multi_force), "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["group_by"] == "force" and [g["label"] for g in data["groups"]] == FORCES
    run = subprocess.run([sys.executable, "-m", "search_app.cli", "ask", QUESTION, "--by", "county",
                          "--index", str(multi_force)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "force" in run.stderr


def test_the_app_shows_forces_side_by_side_from_a_link(multi_force, run_app):
    at = run_app(multi_force, q=QUESTION, by="force")
    assert "Evidence by force" in [s.value for s in at.subheader]
    columns = [m.value[5:] for m in at.markdown if m.value.startswith("#### ")]
    assert columns == FORCES
    assert next(c for c in at.sidebar.checkbox if c.label == "Compare forces side by side").value is True
