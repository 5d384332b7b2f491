"""Ingest on a Dask cluster (`peel ingest --workers N`, `--scheduler ADDRESS`): the index it
builds is the one a one-process ingest builds, and a worker killed mid-ingest costs a retry,
not data."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from evals.variants import seed_cache
from index.engine.cache import load_cache
from index.engine.files import read_chunks
from index.engine.layout import (
    CACHE_KEYS,
    CACHE_VECTORS,
    MANIFEST,
    read_json,
    write_json,
)
from index.engine.versions import current_folder

DATA = Path(__file__).resolve().parent.parent / "data"
MINILM = "all-minilm-l6-v2"


def _cache(index: Path) -> dict[str, np.ndarray]:
    model_id = read_json(current_folder(index) / MANIFEST)["model"]["id"]  # no model loaded
    return load_cache(index, model_id)


def _forget_every(index: Path, nth: int) -> int:
    """Drop every ``nth`` vector from the (flat, seeded) cache at ``index``; how many went."""
    keys = read_json(index / CACHE_KEYS)
    vectors = np.load(index / CACHE_VECTORS, allow_pickle=False)
    keep = [i for i in range(len(vectors)) if i % nth]
    np.save(index / CACHE_VECTORS, vectors[keep], allow_pickle=False)
    write_json(index / CACHE_KEYS, {**keys, "keys": [keys["keys"][i] for i in keep]})
    return len(vectors) - len(keep)


def _eval(index: Path, out: Path, capsys) -> dict:
    from search_app.cli import main

    assert main(["eval", "--index", str(index), "--modes", "bm25,dense,hybrid", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    return {k: report[k] for k in ("counts", "scores", "per_query", "year_coverage", "unanswerable", "figures")}


def test_two_workers_build_the_index_one_process_builds(bundled_index, tmp_path, capsys):
    """`peel ingest --workers 2` over data/: the same chunks, the same vectors (the texts the
    cache lacks embedded by the workers), the same `peel eval` numbers."""
    from search_app.cli import main

    index = tmp_path / "cluster-index"
    seed_cache(bundled_index, index)  # the cache is content-addressed: only what it lacks is embedded
    forgotten = _forget_every(index, 12)

    code = main(["ingest", str(DATA), "--index", str(index), "--workers", "2", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["embedded"] == forgotten > 100  # the workers embedded exactly the texts the cache lacked

    assert [c.to_dict() for c in read_chunks(index)] == [c.to_dict() for c in read_chunks(bundled_index)]
    one, many = _cache(bundled_index), _cache(index)
    assert one.keys() == many.keys()
    worst = max(float(np.abs(one[k] - many[k]).max()) for k in one)
    assert worst < 1e-4, worst  # float noise from other batch shapes, no more

    cluster, alone = _eval(index, tmp_path / "eval-cluster", capsys), _eval(bundled_index, tmp_path / "eval-one", capsys)
    # the unanswerable questions' raw top scores carry the vectors' float noise (1e-8); every
    # metric is exactly equal
    assert _close(cluster.pop("unanswerable"), alone.pop("unanswerable"))
    assert cluster == alone


def _close(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-5, abs=1e-6)
    return a == b


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_worker_killed_mid_ingest_costs_a_retry_not_data(tmp_path):
    """Kill one of two workers while they embed: the ingest still completes, and its index
    holds every chunk and vector a one-process ingest gives."""
    from distributed import Client, LocalCluster

    from index import api

    corpus = tmp_path / "reports"
    corpus.mkdir()
    for name in ("essex-peel-2016-effectiveness.txt", "essex-peel-2018-19-report.md"):
        shutil.copy(DATA / name, corpus / name)

    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)

        def progress(stage: str, done: int, total: int | None, detail: str) -> None:
            if stage == "Embedding passages" and done and not killed:
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)  # one worker dies with blocks still to embed
                killed.append(victim)

        built = api.build([corpus], tmp_path / "index", model=MINILM, progress=progress,
                          scheduler=cluster.scheduler_address)
        assert killed and not _pid_alive(killed[0])
        assert built.report.counts["chunks"] > 0

    reference = api.build([corpus], tmp_path / "one-process", model=MINILM)
    assert built.report.n_embedded == reference.report.n_embedded  # nothing lost with the worker
    assert [c.to_dict() for c in read_chunks(tmp_path / "index")] == [
        c.to_dict() for c in read_chunks(tmp_path / "one-process")
    ]
    got, want = _cache(tmp_path / "index"), _cache(tmp_path / "one-process")
    assert got.keys() == want.keys()
    assert max(float(np.abs(got[k] - want[k]).max()) for k in want) < 1e-4


def test_an_unreadable_file_on_a_worker_is_skipped_like_in_one_process(tmp_path):
    from index import api

    corpus = tmp_path / "reports"
    corpus.mkdir()
    shutil.copy(DATA / "essex-hmic-inspection-news-article.txt", corpus / "news.txt")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    built = api.build([corpus], tmp_path / "index", model=MINILM, workers=1, write=False)
    local = api.build([corpus], tmp_path / "index", model=MINILM, write=False)
    assert [s.path for s in built.corpus.skipped] == [s.path for s in local.corpus.skipped] == [
        str(corpus / "broken.pdf")
    ]
    assert [c.to_dict() for c in built.corpus.chunks] == [c.to_dict() for c in local.corpus.chunks]


def test_bad_cluster_options_say_what_to_do(tmp_path, capsys):
    from search_app.cli import main

    with pytest.raises(SystemExit):
        main(["ingest", str(DATA), "--index", str(tmp_path / "i"), "--workers", "0"])
    assert "must be 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ingest", str(DATA), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["ingest", "--add", str(DATA), "--index", str(tmp_path / "i"), "--workers", "2"]) == 2
    assert "drop --workers/--scheduler" in " ".join(capsys.readouterr().err.split())
