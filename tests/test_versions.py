"""Versions of an index folder (`index.engine.versions`): readers keep the version they
opened, publishing survives a crash at every step, retired versions are collected after the
grace period, pre-versions folders open and migrate, and one writer at a time.

Built with stand-in vectors (the model is loaded, never run), so every build is quick.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from index.engine import Searcher, build_index, files, read_chunks
from index.engine import bm25 as bm25_mod
from index.engine import versions as versions_mod
from index.engine.files import index_version
from index.engine.folder import IndexBusyError, one_writer
from index.engine.layout import MANIFEST, read_json
from index.engine.versions import (
    GRACE_ENV,
    collect_garbage,
    current_folder,
    list_versions,
)
from index.models.embedder import load_model
from ingest.records import Chunk

ROOT = Path(__file__).resolve().parent.parent


def _chunks(n: int = 8) -> list[Chunk]:
    out = []
    for i in range(n):
        text = f"Report {i} says custody staff check detainees and answer calls {i}."
        out.append(Chunk(chunk_id=f"doc-{i}:0", doc_id=f"doc-{i}", title=f"Report {i}", force="Kent",
                         years=[2016 + i % 4], doc_type="peel_report", section=[], text=text, char_start=0,
                         char_end=len(text), page=1, n_tokens=len(text.split()), source=f"data/doc-{i}.txt",
                         position=0))
    return out


CHUNKS = _chunks()


def _build(path: Path, chunks: list[Chunk] = CHUNKS, **kwargs):
    dims = load_model().dims
    rng = np.random.default_rng(len(chunks))
    return build_index(
        chunks, path, progress=False,
        vectors=rng.normal(size=(len(chunks), dims)).astype(np.float32),
        sentence_encoder=lambda texts: rng.normal(size=(len(texts), dims)).astype(np.float32),
        **kwargs,
    )


@pytest.fixture(autouse=True)
def _default_grace(monkeypatch):
    monkeypatch.delenv(GRACE_ENV, raising=False)  # 15 minutes unless a test says otherwise


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("versions") / "index"
    _build(path)
    return path


def _ids(path: Path) -> list[str]:
    return [v.id for v in list_versions(path)]


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in read_json(folder / MANIFEST)["files"])


# --- readers ----------------------------------------------------------------------------


def test_an_open_searcher_keeps_its_version_while_a_new_one_is_published(tmp_path):
    path = tmp_path / "index"
    first = _build(path)
    assert (path / "CURRENT").read_text() == first.version + "\n"
    old = Searcher.open(path)
    second = _build(path, CHUNKS[:3])
    assert index_version(path) == second.version != first.version
    # the open searcher answers from its own version, whose folder is still whole
    assert old.version == first.version and len(old) == len(CHUNKS)
    assert {h.doc_id for h in old.search("custody detainees", k=20, fold=False)} == {c.doc_id for c in CHUNKS}
    assert _complete(old.path) and len(Searcher.open(old.path)) == len(CHUNKS)
    new = Searcher.open(path)
    assert new.version == second.version and len(new) == 3


def test_a_reader_reads_one_version_even_if_another_is_published_while_it_opens(tmp_path, monkeypatch):
    path = tmp_path / "index"
    first = _build(path).version
    real_load = bm25_mod.BM25Index.load
    published = []

    def load(cls, folder):
        if not published:  # half-way through opening: the manifest and chunks are read
            published.append(_build(path, CHUNKS[:3]).version)
        return real_load(folder)

    monkeypatch.setattr(bm25_mod.BM25Index, "load", classmethod(load))
    s = Searcher.open(path)  # would say "inconsistent" if it mixed the two versions' files
    assert s.version == first and len(s) == len(CHUNKS)
    assert index_version(path) == published[0] != first
    monkeypatch.undo()
    assert len(Searcher.open(path)) == 3


def test_a_reader_whose_version_was_collected_resolves_again(tmp_path, monkeypatch):
    path = tmp_path / "index"
    _build(path)
    gone = current_folder(path)
    _build(path, CHUNKS[:3])
    shutil.rmtree(gone)  # another writer's garbage collection, just after this reader resolved it
    real = files.current_folder
    for read, expected in ((lambda: len(Searcher.open(path)), 3), (lambda: len(read_chunks(path)), 3)):
        resolved = iter([gone])
        monkeypatch.setattr(files, "current_folder", lambda d, _it=resolved: next(_it, None) or real(d))
        assert read() == expected


def test_readers_do_not_wait_for_a_writer(built, tmp_path):
    with one_writer(built):  # a build in progress holds it
        opened = []
        t = threading.Thread(target=lambda: opened.append(len(Searcher.open(built))))
        t.start()
        t.join(30)
        assert opened == [len(CHUNKS)]


def test_index_version_and_messages_without_an_index(tmp_path):
    assert index_version(tmp_path / "none") == ""
    empty = tmp_path / "empty"
    with one_writer(empty):
        pass  # a first build that stopped before publishing leaves only its lock file
    assert index_version(empty) == ""
    with pytest.raises(files.IndexOpenError, match=f"^No index at {empty}. Build one with"):
        Searcher.open(empty)


# --- publishing survives a crash at every step -----------------------------------------


@pytest.mark.parametrize("power_cut", [True, False], ids=["power cut", "error"])
@pytest.mark.parametrize("step", ["before the rename", "after the rename", "before the pointer", "after the pointer"])
def test_current_names_a_complete_version_after_a_crash_at_each_step(tmp_path, monkeypatch, step, power_cut):
    path = tmp_path / "index"
    before = _build(path).version
    real_rename, real_replace = os.rename, os.replace

    def crashing(real, is_target, when):
        def call(src, dst, *args, **kwargs):
            if is_target(Path(dst)) and step == f"before the {when}":
                raise KeyboardInterrupt("power cut")
            real(src, dst, *args, **kwargs)
            if is_target(Path(dst)) and step == f"after the {when}":
                raise KeyboardInterrupt("power cut")
        return call

    monkeypatch.setattr(versions_mod.os, "rename", crashing(real_rename, lambda d: d.parent.name == "versions", "rename"))
    monkeypatch.setattr(versions_mod.os, "replace", crashing(real_replace, lambda d: d.name == "CURRENT", "pointer"))
    if power_cut:
        monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)  # nothing is cleaned up
    with pytest.raises(KeyboardInterrupt):
        _build(path, CHUNKS[:4])
    monkeypatch.undo()
    monkeypatch.delenv(GRACE_ENV, raising=False)  # undone with the rest

    landed = step == "after the pointer"
    assert (index_version(path) != before) is landed
    assert _complete(current_folder(path))
    assert len(Searcher.open(path)) == (4 if landed else len(CHUNKS))
    # the process is gone: its temp folder is a dead pid's, and the next build clears it all
    for p in (path / "versions").iterdir():
        if p.name.startswith(f".tmp-{os.getpid()}-"):
            p.rename(p.with_name(f".tmp-999999999-{p.name.rsplit('-', 1)[1]}"))
    after = _build(path, CHUNKS[:3]).version
    assert len(Searcher.open(path)) == 3
    left = sorted(p.name for p in (path / "versions").iterdir())
    assert left == ([before] if not landed else [before, _ids(path)[1]]) + [after]


# --- garbage collection -----------------------------------------------------------------


def _version_id(t: dt.datetime) -> str:
    return f"{t:%Y%m%dT%H%M%S.%f}Z-abcdef"


def test_retired_versions_are_collected_after_the_grace_period(built, tmp_path):
    path = tmp_path / "index"
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    old, mid, cur = (_version_id(t0 + dt.timedelta(seconds=s)) for s in (0, 100, 1000))
    for vid in (old, mid, cur):
        shutil.copytree(current_folder(built), path / "versions" / vid)
    (path / "CURRENT").write_text(cur + "\n")

    # 30 s after cur was published: old was retired 930 s ago, mid only 30 s ago
    notes = collect_garbage(path, grace=60, now=t0 + dt.timedelta(seconds=1030))
    assert notes == [f"removed old version {old}"]
    assert _ids(path) == [mid, cur]
    assert collect_garbage(path, grace=60, now=t0 + dt.timedelta(seconds=1059)) == []
    assert collect_garbage(path, grace=60, now=t0 + dt.timedelta(seconds=1061)) == [f"removed old version {mid}"]
    assert _ids(path) == [cur] and len(Searcher.open(path)) == len(CHUNKS)


def test_each_build_collects_with_the_grace_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "index"
    first = _build(path).version
    second = _build(path).version
    info = list_versions(path)
    assert [v.id for v in info] == [first, second]  # 15 minutes by default: the first is kept
    assert [v.is_current for v in info] == [False, True]
    assert [v.chunks for v in info] == [len(CHUNKS)] * 2 and all(v.size > 0 for v in info)
    assert info[0].created < info[1].created
    monkeypatch.setenv(GRACE_ENV, "0")
    third = _build(path, CHUNKS[:2])
    assert _ids(path) == [third.version]
    assert f"removed old version {first}" in third.recovered and f"removed old version {second}" in third.recovered


def test_grace_setting(monkeypatch):
    assert versions_mod.grace_seconds() == 900
    monkeypatch.setenv(GRACE_ENV, "2.5")
    assert versions_mod.grace_seconds() == 2.5
    monkeypatch.setenv(GRACE_ENV, "soon")
    assert versions_mod.grace_seconds() == 900


# --- an index folder written before versions -------------------------------------------


def test_a_legacy_flat_folder_opens_and_migrates(built, tmp_path, monkeypatch):
    legacy = tmp_path / "legacy"
    shutil.copytree(current_folder(built), legacy)  # manifest.json etc. directly in the folder
    stamp = index_version(legacy)
    assert stamp.startswith("legacy-")
    s = Searcher.open(legacy)
    assert len(s) == len(CHUNKS) and s.version == stamp and s.path == legacy

    report = build_index(CHUNKS[:4], legacy, progress=False)  # no vectors given: its cache serves them
    assert report.n_embedded == 0 and report.n_cached == 4
    assert index_version(legacy) == report.version == (legacy / "CURRENT").read_text().strip()
    assert len(Searcher.open(legacy)) == 4
    info = list_versions(legacy)
    assert [v.id for v in info] == [stamp, report.version] and [v.is_current for v in info] == [False, True]
    assert (legacy / MANIFEST).exists()  # retired, kept for the grace period like any version

    monkeypatch.setenv(GRACE_ENV, "0")
    _build(legacy, CHUNKS[:2])
    assert sorted(p.name for p in legacy.iterdir()) == ["CURRENT", "versions", "writer.lock"]
    assert len(Searcher.open(legacy)) == 2


# --- one writer at a time ---------------------------------------------------------------

_HOLD = """
import sys
from pathlib import Path
from index.engine.folder import one_writer
with one_writer(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def other_writer(built):
    """Another process holding the writer lock of ``built`` until its stdin gets a line."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(built)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.stdin.write("\n")
        proc.stdin.flush()
    proc.wait(timeout=30)


def test_a_second_writer_says_who_it_waits_for_then_goes_ahead(built, other_writer):
    told: list[str] = []
    inside = threading.Event()

    def second() -> None:
        with one_writer(built, notify=told.append):
            inside.set()

    t = threading.Thread(target=second)
    t.start()
    assert not inside.wait(1.0)
    assert told == [f"Another peel process is writing to the index at {built} (pid {other_writer.pid}); "
                    f"waiting for it to finish…"]
    other_writer.stdin.write("\n")
    other_writer.stdin.flush()
    assert inside.wait(30)
    t.join(5)
    assert len(told) == 1


def test_a_writer_that_must_not_wait_gets_a_clear_error(built, other_writer):
    with pytest.raises(IndexBusyError, match=rf"writing to the index at {built} \(pid {other_writer.pid}\)"):
        with one_writer(built, wait=False):
            pass


def test_a_build_waits_for_the_other_writer_before_publishing(built, other_writer, capfd):
    before = index_version(built)
    done = threading.Event()
    t = threading.Thread(target=lambda: (_build(built, CHUNKS[:5]), done.set()))
    t.start()
    assert not done.wait(2.0)
    assert index_version(built) == before and len(Searcher.open(built)) == len(CHUNKS)
    assert f"(pid {other_writer.pid}); waiting for it to finish" in capfd.readouterr().err
    other_writer.stdin.write("\n")
    other_writer.stdin.flush()
    assert done.wait(60)
    t.join(5)
    assert index_version(built) != before and len(Searcher.open(built)) == 5
    _build(built)  # as the module's other tests expect it


def test_one_writer_leaves_a_folder_that_is_not_an_index_alone(tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(ValueError, match="is not a peel-search index"):
        with one_writer(precious):
            pass
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.txt"]


def test_peel_versions_lists_them_and_gc_removes_the_retired(tmp_path, monkeypatch, capsys):
    import json

    from search_app.cli import main

    index = tmp_path / "index"
    monkeypatch.setenv(GRACE_ENV, "3600")
    first = _build(index).version
    second = _build(index, CHUNKS[:5]).version
    assert main(["versions", "--index", str(index), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["versions"]
    assert [(v["id"], v["current"], v["chunks"]) for v in listed] == [(first, False, 8), (second, True, 5)]

    assert main(["versions", "--index", str(index), "--gc", "--json"]) == 0  # still within the grace period
    assert [v["id"] for v in json.loads(capsys.readouterr().out)["versions"]] == [first, second]
    monkeypatch.setenv(GRACE_ENV, "0")
    assert main(["versions", "--index", str(index), "--gc", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [v["id"] for v in report["versions"]] == [second] and report["removed"] == [f"removed old version {first}"]
    assert len(read_chunks(index)) == 5


def test_peel_versions_without_an_index_says_how_to_build_one(tmp_path, capsys):
    from search_app.cli import main

    assert main(["versions", "--index", str(tmp_path / "none")]) == 1
    assert "peel ingest" in capsys.readouterr().err
