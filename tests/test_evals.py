"""Evaluation harness: hand-computed metrics on a toy corpus, the label validator, TREC files."""

from __future__ import annotations

import math
import os
import sys
import tomllib
from pathlib import Path

# The toy data is a handful of passages: numba compiling (or loading cached) ranx kernels
# costs seconds and saves nothing, so run ranx's kernels as plain Python in this process.
# Only effective if numba is not imported yet; results are identical either way.
if "numba" not in sys.modules:
    os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

import pytest

from evals.harness import METRICS, evaluate, evaluate_rankings, year_coverage
from evals.labels import (
    KINDS,
    Query,
    RelevantPhrase,
    canonical_ids,
    check_phrases,
    chunk_years,
    load_queries,
    missing_duplicates,
    phrases_crossing_breaks,
    qrels_for_chunks,
    unmatched_phrases,
)
from evals.report import write_report, write_trec_qrels, write_trec_run
from evals.tuning import tune_fusion
from ingest.records import Chunk

ROOT = Path(__file__).resolve().parents[1]
LOG2_3 = math.log2(3)  # 1.58496...
LOG2_7 = math.log2(7)  # 2.80735...


# --------------------------------------------------------------------------- toy corpus


def chunk(cid: str, doc: str, years: list[int], text: str, dup_of: str | None = None) -> Chunk:
    return Chunk(
        chunk_id=cid, doc_id=doc, title=doc, force="Toy Police", years=years, doc_type="peel-report",
        section=[], text=text, char_start=0, char_end=len(text), page=None, n_tokens=len(text.split()),
        source=f"{doc}.txt", position=0, dup_of=dup_of,
    )


CHUNKS = [
    chunk("a1", "old", [2015], "Findings.\nThe force's response to domestic-abuse victims is POOR."),
    chunk("a2", "old", [2015], "Roads: unrelated text about speed cameras."),
    chunk("b1", "new", [2018, 2019], "Since 2017 the response to domestic abuse has improved."),
    chunk("b2", "new", [2018, 2019], "Drones saved the force £90,000 last year."),
    # the web summary repeats b1 verbatim: one unit of relevance with it
    chunk("c1", "web", [2018, 2019], "Since 2017 the response to domestic abuse has improved.", dup_of="b1"),
    *[chunk(f"d{i}", "filler", [2017], f"Filler passage number {i}.") for i in range(1, 10)],
]

Q_T1 = Query(
    "t1", "How did the domestic abuse response change?", "temporal", "dev",
    (
        RelevantPhrase("old", "response to domestic abuse victims is poor", 2),
        RelevantPhrase("new", "the response to domestic abuse has improved", 2),
        RelevantPhrase("web", "the response to domestic abuse has improved", 2),
    ),
    years=(2015, 2018, 2019),
)
Q_F1 = Query(
    "f1", "How much did drones save?", "factoid", "test",
    (
        RelevantPhrase("new", "Drones saved the force £90,000", 2),
        RelevantPhrase("old", "unrelated text about speed cameras", 1),
    ),
)
Q_U1 = Query("u1", "What is the Taser policy?", "unanswerable", "test")
QUERIES = [Q_T1, Q_F1, Q_U1]

# Fake rankings, best first (mode -> qid -> [(chunk_id, score)]).
RANKINGS = {
    # t1: a2 (not relevant), c1 (= b1, grade 2), b1 (repeat, dropped), a1 (grade 2)
    # f1: b1 (not relevant here), b2 (grade 2), a2 (grade 1)
    "bm25": {
        "t1": [("a2", 9.0), ("c1", 8.0), ("b1", 7.5), ("a1", 7.0)],
        "f1": [("b1", 5.0), ("b2", 4.0), ("a2", 1.0)],
        "u1": [("a1", 3.5), ("d1", 1.0)],
    },
    # t1: a1 at rank 1, b1 at rank 6;  f1: a2 (grade 1) then b2 (grade 2)
    "dense": {
        "t1": [("a1", 0.9), ("d1", 0.8), ("d2", 0.7), ("d3", 0.6), ("d4", 0.5), ("b1", 0.4)],
        "f1": [("a2", 0.7), ("b2", 0.6)],
        "u1": [("d1", 0.2)],
    },
    # t1: b1 is 11th, so k=10 cuts it;  f1: nothing found
    "hybrid": {
        "t1": [("a1", 1.0)] + [(f"d{i}", 1.0 - i / 100) for i in range(1, 10)] + [("b1", 0.5)],
        "f1": [],
        "u1": [("b2", 0.03)],
    },
}


def fake_search(query: str, mode: str, k: int):
    qid = {q.query: q.qid for q in QUERIES}[query]
    return RANKINGS[mode][qid]  # ignores k on purpose: the harness must cut to k


# Hand computation (qrels after folding c1 into b1): t1 = {a1: 2, b1: 2}, f1 = {b2: 2, a2: 1}
# nDCG (Järvelin): DCG = sum(grade / log2(rank + 1)); IDCG from the ideal order of the qrels.
IDCG_T1 = 2 / 1 + 2 / LOG2_3  # 3.26186
IDCG_F1 = 2 / 1 + 1 / LOG2_3  # 2.63093
EXPECTED = {
    "bm25": {
        # t1 relevant at ranks 2 and 3; f1 relevant at ranks 2 (g2) and 3 (g1)
        "t1": {"recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1 / 2,
               "ndcg@10": (2 / LOG2_3 + 2 / 2) / IDCG_T1},  # 2.26186 / 3.26186 = 0.69343
        "f1": {"recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1 / 2,
               "ndcg@10": (2 / LOG2_3 + 1 / 2) / IDCG_F1},  # 1.76186 / 2.63093 = 0.66967
    },
    "dense": {
        # t1 relevant at ranks 1 and 6: recall@5 = 1/2, recall@10 = 2/2
        "t1": {"recall@5": 0.5, "recall@10": 1.0, "mrr@10": 1.0,
               "ndcg@10": (2 / 1 + 2 / LOG2_7) / IDCG_T1},  # 2.71241 / 3.26186 = 0.83155
        # f1: grade 1 at rank 1, grade 2 at rank 2
        "f1": {"recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0,
               "ndcg@10": (1 / 1 + 2 / LOG2_3) / IDCG_F1},  # 2.26186 / 2.63093 = 0.85972
    },
    "hybrid": {
        # t1: only a1 (rank 1) inside the cut; f1: no hits at all
        "t1": {"recall@5": 0.5, "recall@10": 0.5, "mrr@10": 1.0, "ndcg@10": 2 / IDCG_T1},
        "f1": {"recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0},
    },
}


@pytest.fixture(scope="module")
def result():
    return evaluate(QUERIES, CHUNKS, fake_search, modes=("bm25", "dense", "hybrid"), k=10)


# --------------------------------------------------------------------------- labels on chunks


def test_qrels_fold_duplicates_and_take_max_grade():
    assert qrels_for_chunks(QUERIES, CHUNKS) == {"t1": {"a1": 2, "b1": 2}, "f1": {"b2": 2, "a2": 1}}
    unfolded = qrels_for_chunks(QUERIES, CHUNKS, fold_duplicates=False)
    assert unfolded["t1"] == {"a1": 2, "b1": 2, "c1": 2}
    both = Query("x", "q", "factoid", "dev", (RelevantPhrase("new", "Drones saved", 1),
                                              RelevantPhrase("new", "£90,000 last year", 2)))
    assert qrels_for_chunks([both], CHUNKS) == {"x": {"b2": 2}}
    assert canonical_ids(CHUNKS)["c1"] == "b1"
    assert chunk_years(CHUNKS)["b1"] == (2018, 2019)


def test_unmatched_phrases_reports_phrase_split_across_chunks():
    split_phrase = Query("s1", "q", "factoid", "dev", (
        RelevantPhrase("old", "is POOR. Roads: unrelated", 2),  # spans a1 | a2
        RelevantPhrase("gone", "anything at all here", 1),
    ))
    problems = unmatched_phrases([split_phrase, Q_T1], CHUNKS)
    assert problems == [
        "s1: phrase matches no chunk of old: 'is POOR. Roads: unrelated'",
        "s1: no chunks for document gone",
    ]
    assert qrels_for_chunks([split_phrase], CHUNKS) == {"s1": {}}


def test_check_phrases_and_duplicates():
    texts = {"old": "The force's response to Domestic Abuse victims is poor.",
             "new": "Since 2017 the response to domestic abuse has improved. Drones saved the force £90,000.",
             "web": "Since 2017 the response to domestic abuse has improved."}
    assert check_phrases([Q_T1], texts) == []
    problems = check_phrases([Q_F1], texts)
    assert problems == ["f1: phrase not found in old: 'unrelated text about speed cameras'"]
    only_report = Query("d", "q", "temporal", "dev", (RelevantPhrase("new", "domestic abuse has improved", 2),))
    assert missing_duplicates([only_report], texts) == [
        "d: phrase also occurs in web but is not labelled there: 'domestic abuse has improved'"
    ]
    assert missing_duplicates([Q_T1], texts) == []


# --------------------------------------------------------------------------- metrics by hand


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_per_query_metrics_match_hand_computation(result, mode):
    for qid, expected in EXPECTED[mode].items():
        for metric, value in expected.items():
            assert result.per_query[mode][metric][qid] == pytest.approx(value, abs=1e-9), (mode, qid, metric)


def test_means_overall_and_by_kind(result):
    assert result.counts["all"] == 2 and result.counts["unanswerable"] == 1
    # bm25: recall@5 (1 + 1) / 2, mrr@10 (0.5 + 0.5) / 2, ndcg@10 (0.69343 + 0.66967) / 2
    assert result.scores["bm25"]["all"]["recall@5"] == pytest.approx(1.0)
    assert result.scores["bm25"]["all"]["mrr@10"] == pytest.approx(0.5)
    assert result.scores["bm25"]["all"]["ndcg@10"] == pytest.approx(0.68155, abs=1e-5)
    # dense: recall@5 (0.5 + 1) / 2 = 0.75, mrr@10 (1 + 1) / 2, ndcg@10 (0.83155 + 0.85972) / 2
    assert result.scores["dense"]["all"]["recall@5"] == pytest.approx(0.75)
    assert result.scores["dense"]["all"]["recall@10"] == pytest.approx(1.0)
    assert result.scores["dense"]["all"]["mrr@10"] == pytest.approx(1.0)
    assert result.scores["dense"]["all"]["ndcg@10"] == pytest.approx(0.84563, abs=1e-5)
    # hybrid: recall@5 (0.5 + 0) / 2, mrr@10 (1 + 0) / 2
    assert result.scores["hybrid"]["all"]["recall@5"] == pytest.approx(0.25)
    assert result.scores["hybrid"]["all"]["mrr@10"] == pytest.approx(0.5)
    # one question per kind: the kind means are that question's scores
    assert result.scores["dense"]["temporal"]["recall@5"] == pytest.approx(0.5)
    assert result.scores["dense"]["factoid"]["ndcg@10"] == pytest.approx(0.85972, abs=1e-5)
    assert "unanswerable" not in result.scores["dense"]
    assert set(result.scores["dense"]["all"]) == set(METRICS)


def test_runs_are_cut_to_k_and_folded(result):
    assert [c for c, _ in result.runs["bm25"]["t1"]] == ["a2", "b1", "a1"]  # c1 -> b1, repeat dropped
    assert len(result.runs["hybrid"]["t1"]) == 10 and "b1" not in dict(result.runs["hybrid"]["t1"])


def test_year_coverage(result):
    # t1 wants {2015, 2018, 2019}. bm25: relevant hits b1 (2018, 2019) and a1 (2015) -> 3/3.
    # dense: a1 (rank 1) and b1 (rank 6) -> 3/3. hybrid: only a1 within the top 10 -> 1/3.
    yc = {m: result.year_coverage[m] for m in result.modes}
    assert yc["bm25"]["year_coverage@10"] == pytest.approx(1.0)
    assert yc["dense"]["year_coverage@10"] == pytest.approx(1.0)
    assert yc["hybrid"]["year_coverage@10"] == pytest.approx(1 / 3)
    assert yc["hybrid"]["full_coverage_share"] == 0.0 and yc["bm25"]["full_coverage_share"] == 1.0
    # an irrelevant hit never counts, whatever its year: d1 is from 2017
    assert year_coverage([2015, 2017], [("d1", 1.0), ("a1", 0.5)], {"a1": 2}, chunk_years(CHUNKS)) == 0.5
    assert year_coverage([], [("a1", 1.0)], {"a1": 2}, {}) is None


def test_unanswerable_top_scores_and_significance(result):
    assert result.unanswerable["bm25"]["per_query"] == {"u1": 3.5}
    assert result.unanswerable["hybrid"]["mean_top_score"] == pytest.approx(0.03)
    # answerable top-1 scores for bm25: 9.0 (t1) and 5.0 (f1)
    assert result.unanswerable["bm25"]["answerable_mean_top_score"] == pytest.approx(7.0)
    pairs = {(r["a"], r["b"], r["metric"]) for r in result.significance}
    assert ("bm25", "dense", "mrr@10") in pairs and len(result.significance) == 3 * len(METRICS)
    row = next(r for r in result.significance if (r["a"], r["b"], r["metric"]) == ("bm25", "dense", "mrr@10"))
    # per-question mrr: bm25 (0.5, 0.5) vs dense (1, 1): dense wins both
    assert (row["a_wins"], row["ties"], row["b_wins"]) == (0, 0, 2)
    assert 0.0 <= row["p_value"] <= 1.0


def test_split_filter():
    dev = evaluate(QUERIES, CHUNKS, fake_search, modes=("bm25",), split="dev")
    assert dev.counts["all"] == 1 and set(dev.per_query["bm25"]["mrr@10"]) == {"t1"}
    test = evaluate_rankings(QUERIES, CHUNKS, {"bm25": RANKINGS["bm25"]}, split="test")
    assert set(test.kinds) == {"f1", "u1"} and test.counts["unanswerable"] == 1
    # a mode that found nothing at all still scores (zeros), not crashes
    empty = evaluate_rankings(QUERIES, CHUNKS, {"none": {}})
    assert empty.scores["none"]["all"] == {m: 0.0 for m in METRICS}
    assert empty.year_coverage["none"]["year_coverage@10"] == 0.0
    assert empty.unanswerable["none"]["per_query"] == {"u1": None}


def test_tune_fusion_chooses_on_dev_and_reports_on_test():
    # dev (t1): dense is better (mrr 1 vs 0.5); test (f1) is rigged so bm25 is better.
    rankings = {
        "bm25": {"t1": RANKINGS["bm25"]["t1"], "f1": [("b2", 2.0)]},
        "dense": {"t1": RANKINGS["dense"]["t1"], "f1": [("d1", 1.0), ("d2", 0.9), ("b2", 0.8)]},
    }

    def pick(bm25, dense, w):  # a degenerate "fusion": all of one input or the other
        return bm25 if w >= 0.5 else dense

    tuned = tune_fusion(QUERIES, CHUNKS, rankings, pick, {"w": [1.0, 0.0]}, metric="mrr@10")
    assert tuned.params == {"w": 0.0} and tuned.dev_score == pytest.approx(1.0)
    assert [row["dev"] for row in tuned.grid] == pytest.approx([0.5, 1.0])
    assert tuned.n_dev == 1 and tuned.n_test == 1 and tuned.test.split == "test"
    # on test the fused run is dense's: mrr 1/3, while bm25 scores 1
    assert tuned.test.scores["fused"]["all"]["mrr@10"] == pytest.approx(1 / 3)
    assert tuned.test.scores["bm25"]["all"]["mrr@10"] == pytest.approx(1.0)


def test_write_report(result, tmp_path):
    paths = write_report(result, tmp_path)
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "### mrr@10" in md and "| dense |" in md and "factoid (n=1)" in md
    assert paths["json"].exists() and _read_qrels(paths["qrels"]) == result.qrels
    runs = {mode: _read_run(paths[f"run:{mode}"]) for mode in result.modes}
    assert runs["bm25"]["t1"] == ["a2", "b1", "a1"]
    for mode in result.modes:  # each file holds the rankings that were scored, in their order
        assert runs[mode] == {qid: [c for c, _ in r] for qid, r in result.runs[mode].items() if r}


# --------------------------------------------------------------------------- TREC round trip


def _read_qrels(path):
    from ranx import Qrels

    qrels = Qrels.from_file(str(path), kind="trec").to_dict()
    return {q: {str(d): int(g) for d, g in rel.items()} for q, rel in qrels.items()}


def _read_run(path):
    """qid -> chunk ids in rank order, as a TREC tool reads them (by score)."""
    from ranx import Run

    run = Run.from_file(str(path), kind="trec").to_dict()
    return {q: [str(d) for d in ranking] for q, ranking in run.items()}


def test_trec_round_trip(tmp_path):
    qrels = {"q1": {"doc#1": 2, "doc#2": 1}, "q2": {"x": 1}, "q3": {}}
    # q1 is not in score order (as temporal questions come back): the list order is the ranking
    run = {"q1": [("doc#2", 3.25), ("doc#9", 4.5), ("doc#1", 1e-7)], "q2": {"x": 0.5, "y": 0.75}, "q3": []}
    qpath = write_trec_qrels(qrels, tmp_path / "qrels.trec")
    rpath = write_trec_run(run, tmp_path / "run.trec", tag="toy")
    assert _read_qrels(qpath) == {"q1": {"doc#1": 2, "doc#2": 1}, "q2": {"x": 1}}
    assert _read_run(rpath) == {"q1": ["doc#2", "doc#9", "doc#1"], "q2": ["y", "x"]}
    lines = [line.split() for line in rpath.read_text().splitlines()]
    assert all(len(cols) == 6 and cols[1] == "Q0" and cols[5] == "toy" for cols in lines)
    assert [cols[3] for cols in lines if cols[0] == "q1"] == ["1", "2", "3"]
    with pytest.raises(ValueError):
        write_trec_run({"q1": [("has space", 1.0)]}, tmp_path / "bad.trec", tag="toy")
    # nothing to write still leaves a (valid, empty) file
    assert write_trec_run({"q1": []}, tmp_path / "empty.trec", tag="toy").read_text() == ""


# --------------------------------------------------------------------------- the real labels


@pytest.fixture(scope="module")
def corpus():
    with (ROOT / "data" / "manifest.toml").open("rb") as fh:
        manifest = tomllib.load(fh)
    docs = manifest["document"]
    texts = {d["id"]: (ROOT / "data" / d["file"]).read_text(encoding="utf-8") for d in docs}
    years = {d["id"]: set(d.get("years", [])) for d in docs}
    return texts, years


@pytest.fixture(scope="module")
def labelled():
    return load_queries(ROOT / "evals" / "queries.jsonl")


def test_every_phrase_occurs_in_its_source(labelled, corpus):
    texts, _ = corpus
    assert check_phrases(labelled, texts) == []
    assert missing_duplicates(labelled, texts) == []  # web summary copies are labelled too
    assert phrases_crossing_breaks(labelled, texts) == []


def test_question_set_shape(labelled, corpus):
    _, doc_years = corpus
    assert len(labelled) >= 70
    by_kind = {k: [q for q in labelled if q.kind == k] for k in KINDS}
    for kind, qs in by_kind.items():
        assert len(qs) >= (4 if kind == "unanswerable" else 10), kind
        dev = sum(q.split == "dev" for q in qs)
        assert abs(dev - (len(qs) - dev)) <= 1, kind  # ~50/50 within each kind
    for q in labelled:
        assert q.answerable == (q.kind != "unanswerable"), q.qid
        for r in q.relevant:
            assert 3 <= len(r.phrase.split()) <= 30, (q.qid, r.phrase)
    for q in by_kind["temporal"]:
        expected = set().union(*(doc_years[r.doc_id] for r in q.relevant if r.grade == 2))
        assert set(q.years) == expected, q.qid
        assert len({r.doc_id for r in q.relevant if r.grade == 2} - {"essex-peel-2018-19-web-summary"}) >= 2, q.qid


def test_load_queries_rejects_bad_lines(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text(
        '{"qid": "a", "query": "x", "kind": "factoid", "split": "dev", "relevant": []}\n'
        '{"qid": "b", "query": "y", "kind": "Unanswerable ", "split": "TEST", "relevant": []}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="needs at least one relevant phrase"):
        load_queries(bad)
    bad.write_text(bad.read_text().splitlines()[1] + "\n", encoding="utf-8")
    (q,) = load_queries(bad)
    assert (q.kind, q.split) == ("unanswerable", "test")  # normalised at the boundary
