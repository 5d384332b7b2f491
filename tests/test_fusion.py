"""Rank fusion: hand-worked examples and agreement with ranx."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import math
import random
import subprocess
import sys

import pytest

from index.engine.fusion import fuse, rrf, weighted


def test_rrf_hand_worked():
    bm25 = [("a", 12.0), ("b", 9.0), ("c", 1.0)]
    dense = [("c", 0.9), ("a", 0.8), ("d", 0.1)]
    fused = dict(rrf([bm25, dense], k=60))
    # a: rank 1 in bm25, rank 2 in dense -> 1/61 + 1/62 = 0.016393 + 0.016129 = 0.032522
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["a"] == pytest.approx(0.0325225, abs=1e-7)
    # c: rank 3 in bm25, rank 1 in dense -> 1/63 + 1/61 = 0.015873 + 0.016393 = 0.032266
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    # b: rank 2 in bm25 only -> 1/62 = 0.016129; d: rank 3 in dense only -> 1/63 = 0.015873
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["d"] == pytest.approx(1 / 63)
    assert [doc for doc, _ in rrf([bm25, dense], k=60)] == ["a", "c", "b", "d"]


def test_rrf_uses_positions_not_scores_and_weights_scale_each_list():
    # The raw scores are on wildly different scales; only the ranks matter.
    one = [("x", 1000.0), ("y", 999.0)]
    two = [("y", 0.2), ("x", 0.1)]
    # x: 1/61 + 1/62 and y: 1/62 + 1/61 tie; the tie goes to the better best-rank, then the
    # earlier list: both reach rank 1, x in list 0 first.
    assert [d for d, _ in rrf([one, two])] == ["x", "y"]
    # Weight list two 3x: y = 3/61 + 1/62 = 0.065309 > x = 1/61 + 3/62 = 0.064781
    out = rrf([one, two], weights=[1.0, 3.0])
    assert [d for d, _ in out] == ["y", "x"]
    assert dict(out)["y"] == pytest.approx(3 / 61 + 1 / 62)
    # A smaller k sharpens the head: k=1 -> x rank1 in list one = 1/2, y rank1 in two = 1/2.
    assert dict(rrf([one, two], k=1))["x"] == pytest.approx(1 / 2 + 1 / 3)


def test_rrf_ignores_repeated_ids_within_one_ranking():
    assert dict(rrf([[("a", 3.0), ("a", 2.0), ("b", 1.0)]]))["a"] == pytest.approx(1 / 61)


def test_weighted_minmax_hand_worked():
    bm25 = [("a", 10.0), ("b", 6.0), ("c", 2.0)]  # min-max: a 1.0, b 0.5, c 0.0
    dense = [("b", 0.9), ("d", 0.7), ("a", 0.5)]  # min-max: b 1.0, d 0.5, a 0.0
    out = dict(weighted([bm25, dense], weights=[0.4, 0.6], norm="minmax"))
    assert out["a"] == pytest.approx(0.4 * 1.0 + 0.6 * 0.0)  # 0.40
    assert out["b"] == pytest.approx(0.4 * 0.5 + 0.6 * 1.0)  # 0.80
    assert out["c"] == pytest.approx(0.4 * 0.0)  # 0.00 (missing from dense: adds nothing)
    assert out["d"] == pytest.approx(0.6 * 0.5)  # 0.30
    assert [d for d, _ in weighted([bm25, dense], [0.4, 0.6])] == ["b", "a", "d", "c"]


def test_weighted_zscore_hand_worked():
    ranking = [("a", 3.0), ("b", 2.0), ("c", 1.0)]  # mean 2, population std sqrt(2/3)
    out = dict(weighted([ranking], [1.0], norm="zscore"))
    assert out["a"] == pytest.approx(1 / math.sqrt(2 / 3))
    assert out["b"] == pytest.approx(0.0)
    assert out["c"] == pytest.approx(-1 / math.sqrt(2 / 3))


def test_weighted_single_candidate_still_counts():
    # A retriever that found one passage: min-max would divide by zero; it counts as its best.
    out = dict(weighted([[("a", 5.0)], [("b", 0.9), ("a", 0.1)]], [1.0, 1.0]))
    assert out["a"] == pytest.approx(1.0 + 0.0)
    assert out["b"] == pytest.approx(1.0)


def test_fuse_rejects_unknown_methods():
    with pytest.raises(ValueError):
        fuse([[("a", 1.0)]], "borda")
    with pytest.raises(ValueError):
        weighted([[("a", 1.0)]], norm="max")


# --- agreement with ranx ----------------------------------------------------------------

# ranx's fusion code is numba-compiled; compiling it takes minutes on a 2-core machine, so
# the reference runs in a subprocess with NUMBA_DISABLE_JIT=1: the same ranx source,
# interpreted. Runs are passed in and fused scores passed back as JSON.
_RANX_SCRIPT = r"""
import json, sys
from ranx import Run, fuse
data = json.load(sys.stdin)
runs = [Run({"q": dict(r)}) for r in data["runs"]]
out = {
    "rrf": dict(fuse(runs, method="rrf").run["q"]),
    "wsum": dict(fuse(runs, norm="min-max", method="wsum",
                      params={"weights": data["weights"]}).run["q"]),
}
print(json.dumps({m: {d: float(s) for d, s in r.items()} for m, r in out.items()}))
"""


def _random_runs(seed: int):
    rng = random.Random(seed)
    ids = [f"d{i}" for i in range(30)]
    runs = []
    for _ in range(3):
        docs = rng.sample(ids, 20)
        scores = sorted((rng.uniform(0, 10) for _ in docs), reverse=True)
        runs.append(list(zip(docs, scores)))  # best first
    return runs


def test_agrees_with_ranx():
    runs = _random_runs(7)
    weights = [0.5, 0.3, 0.2]
    proc = subprocess.run(
        [sys.executable, "-c", _RANX_SCRIPT],
        input=json.dumps({"runs": runs, "weights": weights}),
        capture_output=True,
        text=True,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONWARNINGS": "ignore"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])

    def ordered(pairs):  # best first; equal scores by id, the same rule on both sides
        return [d for d, s in sorted(pairs, key=lambda p: (-round(p[1], 12), p[0]))]

    ours_rrf = rrf(runs, k=60)
    assert set(dict(ours_rrf)) == set(ref["rrf"])
    for doc, score in ours_rrf:
        assert score == pytest.approx(ref["rrf"][doc], abs=1e-12)
    assert ordered(ours_rrf) == ordered(ref["rrf"].items())

    ours_w = weighted(runs, weights, norm="minmax")
    assert set(dict(ours_w)) == set(ref["wsum"])
    for doc, score in ours_w:
        assert score == pytest.approx(ref["wsum"][doc], abs=1e-9)
    assert ordered(ours_w) == ordered(ref["wsum"].items())
