"""Bring your own reports: `peel ingest --add`, `peel remove` and the app's "Add reports".

Adding keeps every indexed document and embeds only what is new; removing embeds nothing;
a bad file is named and skipped while the rest is added; an interrupted add leaves the
previous index as it was; uploads are saved under safe names with a manifest entry, so a
later full rebuild keeps them with the metadata the user confirmed.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from index import api, library
from index.engine.files import read_chunks
from index.engine.versions import current_folder
from ingest import uploads
from ingest.metadata import load_manifest
from ingest.records import DocumentMeta

ROOT = Path(__file__).resolve().parent.parent
PEEL = [sys.executable, "-m", "search_app.cli"]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONIOENCODING="utf-8")

REPORT = """Custody and detention

Custody records at Chelmsford were complete and detainees were checked every hour by trained
detention officers, who also recorded each risk assessment in full.

Neighbourhood policing

Neighbourhood teams were often moved to response duties, which reduced local problem solving
across the county and left some villages without a regular patrol.
"""
VICTIMS = """Victim care

Victims of domestic abuse were referred to specialist support services on the same day and most
said the call handlers explained their rights clearly and kindly.
"""
DRONES = """# Moorland search and rescue 2021

## Drone patrols

In 2021 the Avalon Constabulary flew thermal-camera drone patrols over the moorland every night
and found fourteen missing walkers before dawn, most of them within an hour of the first call.
"""
QUESTION = "how many missing walkers did the drone patrols over the moorland find?"


def _truncated_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for page in range(3):
        c.drawString(72, 720, f"Custody inspection page {page + 1}: detainees were checked hourly.")
        c.showPage()
    c.save()
    return buf.getvalue()[: len(buf.getvalue()) // 2]  # an interrupted download


HOSTILE = {  # name → (bytes, the word its reason must contain)
    "truncated.pdf": (_truncated_pdf, "truncated"),
    "not-a-pdf.pdf": (lambda: b"<html><body>Sorry, this report has moved.</body></html>", "not a PDF"),
    "binary.txt": (lambda: bytes(range(256)) * 64, "binary"),
    "empty.txt": (lambda: b"", "empty"),
    "huge.md": (lambda: b"x" * (10 * 1024 * 1024 + 1), "too large"),
}


def _hostile(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (make, _) in HOSTILE.items():
        (folder / name).write_bytes(make())
    return {name: word for name, (_, word) in HOSTILE.items()}


@pytest.fixture(scope="module")
def base_index(tmp_path_factory) -> Path:
    """Two documents indexed with the packaged MiniLM (fast), built once per module."""
    corpus = tmp_path_factory.mktemp("library") / "corpus"
    corpus.mkdir()
    (corpus / "essex-custody.txt").write_text(REPORT, encoding="utf-8")
    (corpus / "essex-victims.txt").write_text(VICTIMS, encoding="utf-8")
    index = corpus.parent / "index"
    api.build([corpus], index, model=None)
    return index


@pytest.fixture
def index(base_index, tmp_path) -> Path:
    copy = tmp_path / "idx" / "index"
    shutil.copytree(base_index, copy)
    return copy


def _manifest(index: Path) -> dict:
    return json.loads((current_folder(index) / "manifest.json").read_text(encoding="utf-8"))


def _chunk_ids(index: Path) -> dict[str, str]:
    return {c.chunk_id: c.doc_id for c in read_chunks(index)}


def _top(index: Path, question: str) -> list[str]:
    return [h.doc_id for h in api.search(api.open_index(index), question, k=3).hits]


def test_add_indexes_new_files_skips_bad_ones_and_embeds_nothing_already_indexed(index, tmp_path):
    before = _manifest(index)
    old_chunks = _chunk_ids(index)
    new = tmp_path / "new"
    bad = _hostile(new)
    (new / "drones.md").write_text(DRONES, encoding="utf-8")

    result = library.add(index, [new])

    assert [d.doc_id for d in result.added] == ["drones"]
    assert result.added[0].years == [2021] and "title" in result.added[0].inferred
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert set(reasons) == set(bad)
    for name, word in bad.items():
        assert word in reasons[name], (name, reasons[name])
    after = _manifest(index)
    # every chunk already indexed kept its id and its vector came from the cache …
    assert set(old_chunks) <= set(_chunk_ids(index))
    assert result.report.n_cached == len(old_chunks) == before["counts"]["chunks"]
    # … and only the new document's texts (its chunks and sentences) went through the model
    assert result.report.n_embedded == after["counts"]["distinct_texts"] - before["counts"]["distinct_texts"] > 0
    assert after["counts"]["documents"] == 3 and result.chunks_added == after["counts"]["chunks"] - len(old_chunks)
    assert _top(index, QUESTION)[0] == "drones"
    assert _top(index, "were detainees checked every hour in custody?")[0] == "essex-custody"
    searcher = api.open_index(index)
    assert "fourteen missing walkers" in searcher.doc_text("drones")
    assert {d["doc_id"] for d in searcher.documents()} == {"essex-custody", "essex-victims", "drones"}


def test_a_file_already_indexed_is_skipped_and_a_taken_id_gets_a_suffix(index, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "drones.md").write_text(DRONES, encoding="utf-8")
    (tmp_path / "b" / "drones.md").write_text(DRONES.replace("fourteen", "nine"), encoding="utf-8")
    library.add(index, [tmp_path / "a"])
    again = library.add(index, [tmp_path / "a" / "drones.md"])
    assert again.added == [] and again.report is None
    assert "already in the index: this file is document 'drones'" in again.skipped[0].reason
    copy = tmp_path / "copy of drones.md"
    shutil.copy(tmp_path / "a" / "drones.md", copy)
    assert "the same text is document 'drones'" in library.add(index, [copy]).skipped[0].reason
    other = library.add(index, [tmp_path / "b"])  # another file with the same name
    assert [d.doc_id for d in other.added] == ["drones-2"]
    assert all(cid.startswith("drones-2#") for cid, doc in _chunk_ids(index).items() if doc == "drones-2")


SUMMARY_MANIFEST = """
[[document]]
id = "essex-summary"
file = "summary.txt"
title = "Essex web summary"
force = "Essex Police"
doc_type = "peel-web-summary"
years = [2016]
"""


def test_near_duplicates_are_folded_again_over_the_combined_index(index, tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "summary.txt").write_text(REPORT.split("Neighbourhood policing")[0], encoding="utf-8")
    (tmp_path / "web" / "manifest.toml").write_text(SUMMARY_MANIFEST, encoding="utf-8")
    added = library.add(index, [tmp_path / "web"])
    assert added.added[0].doc_id == "essex-summary" and added.added[0].force == "Essex Police"
    chunks = read_chunks(index)
    summary = [c for c in chunks if c.doc_id == "essex-summary"]
    assert summary and all(c.dup_of and c.dup_of.startswith("essex-custody#") for c in summary)
    # the report goes: the summary's passage is no longer a duplicate of anything
    removed = library.remove(index, ["essex-custody"])
    assert removed.report.n_embedded == 0
    assert all(c.dup_of is None for c in read_chunks(index))


def test_remove_embeds_nothing_and_an_unknown_id_changes_nothing(index):
    before = _manifest(index)
    with pytest.raises(library.UnknownDocumentError) as err:
        library.remove(index, ["essex-victims", "no-such-report"])
    message = str(err.value)
    assert "'no-such-report'" in message and "essex-custody, essex-victims" in message
    assert _manifest(index) == before  # not even rewritten
    with pytest.raises(library.LibraryError, match="would leave the index .* empty"):
        library.remove(index, ["essex-custody", "essex-victims"])
    assert _manifest(index) == before

    result = library.remove(index, ["essex-victims"])
    assert result.report.n_embedded == 0 and result.report.n_cached == result.report.counts["chunks"]
    searcher = api.open_index(index)
    assert [d["doc_id"] for d in searcher.documents()] == ["essex-custody"]
    assert set(_top(index, "support for victims of domestic abuse")) == {"essex-custody"}
    assert searcher.doc_text("essex-victims") is None


def _peel(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*PEEL, *args], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)


def test_peel_ingest_add_and_peel_remove(index, tmp_path):
    new = tmp_path / "new"
    bad = _hostile(new)
    (new / "drones.md").write_text(DRONES, encoding="utf-8")
    run = _peel("ingest", "--add", str(new), "--index", str(index), "--json", "-q")
    assert run.returncode == 3, run.stderr  # partial: the bad files are listed, the rest added
    summary = json.loads(run.stdout)
    assert [d["doc_id"] for d in summary["added"]] == ["drones"]
    assert {Path(s["path"]).name for s in summary["skipped"]} == set(bad)
    assert summary["embeddings_reused"] == len(read_chunks(index)) - summary["chunks_added"]

    run = _peel("ingest", "--add", str(new / "drones.md"), "--index", str(index))
    assert run.returncode == 1 and "already in the index" in " ".join(run.stderr.split())
    run = _peel("ingest", "--add", "--index", str(index))
    assert run.returncode == 2 and "--add needs the files" in run.stderr

    run = _peel("remove", "drones", "no-such-report", "--index", str(index))
    err = " ".join(run.stderr.split())
    assert run.returncode == 1 and "No document 'no-such-report'" in err
    assert "essex-custody, essex-victims, drones" in err and "Traceback" not in run.stderr
    run = _peel("remove", "drones", "--index", str(index), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["embedded"] == 0
    assert "drones" not in set(_chunk_ids(index).values())


_WORDS = ("custody officers victims abuse neighbourhood response calls records training partners "
          "data staff public safe patrol detainees reviews").split()


def _many(folder: Path, n: int) -> Path:
    rng = random.Random(3)
    folder.mkdir(parents=True)
    for i in range(n):
        body = " ".join(rng.choice(_WORDS) for _ in range(50))
        (folder / f"patrol-{i:02d}.txt").write_text(f"Patrol section {i}\n\nThe patrol report {i} says the force {body}.\n",
                                                    encoding="utf-8")
    return folder


def _answers(index: Path) -> list[str]:
    s = api.open_index(index)
    return [h.chunk_id for h in s.search("custody detainees checked", k=5)] + [str(len(s))]


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # see tests/test_hardening_index.py


def _leftovers(index: Path) -> list[str]:
    """Builds' temp folders and pointer files (index/versions/.tmp-<pid>-…, index/.CURRENT.tmp-<pid>)."""
    versions = index / "versions"
    temp = [p.name for p in versions.iterdir() if p.name.startswith(".tmp-")] if versions.is_dir() else []
    return sorted(temp + [p.name for p in index.iterdir() if p.name.startswith(".CURRENT.tmp-")])


def test_an_interrupted_add_leaves_the_previous_index_intact(index, tmp_path):
    big = _many(tmp_path / "big", 40)
    pristine = tmp_path / "pristine"
    shutil.copytree(index, pristine)
    before = _answers(index)
    fingerprint = _manifest(index)["corpus_fingerprint"]
    outcomes = []
    for how in ("SIGKILL while writing", "Ctrl-C"):
        for delay in (2.0, 1.0, 0.4):
            proc = subprocess.Popen([*PEEL, "ingest", "--add", str(big), "--index", str(index), "-q"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
                                    preexec_fn=_sigint_as_in_a_terminal)
            if how.startswith("SIGKILL"):
                end = time.monotonic() + 120
                while proc.poll() is None and time.monotonic() < end and not _leftovers(index):
                    time.sleep(0.001)
            else:
                time.sleep(delay)
            if proc.poll() is None:
                break
            shutil.rmtree(index)  # finished first (a fast machine): again, sooner
            shutil.copytree(pristine, index)
        if how.startswith("SIGKILL"):
            proc.kill()
            proc.wait(timeout=60)
        else:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 130 and "Traceback" not in err, err
            assert not [name for name in _leftovers(index) if re.match(rf"\.(CURRENT\.)?tmp-{proc.pid}\b", name)]
        if _manifest(index)["corpus_fingerprint"] != fingerprint:  # landed in the final rename: whole
            assert how == "Ctrl-C" and len(api.open_index(index)) > 40
            outcomes.append("completed")
            continue
        assert _answers(index) == before, how  # the previous index opens and answers as before
        outcomes.append("intact")
    assert outcomes[0] == "intact"
    # the next add completes, embedding only the new files
    run = _peel("ingest", "--add", str(big), "--index", str(index), "--json", "-q")
    if outcomes[-1] == "completed":
        assert run.returncode == 1  # all already there
        return
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["embeddings_reused"] == int(before[-1])
    assert _leftovers(index) == [] and len(api.open_index(index)) == int(before[-1]) + 40


# -- uploads --------------------------------------------------------------------------
@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("/etc/cron.d/job.md", "job.md"),
    ("..\\..\\Windows\\win.TXT", "win.txt"),
    (".bashrc.txt", "bashrc.txt"),
    ("...txt", "upload.txt"),
    ("a\x00b\x1b[2J c:d|e?.pdf", "a-b--2J c-d-e.pdf"),
    ("Rapport d’été – Kent.html", "Rapport d-été - Kent.html"),
])
def test_upload_names_are_plain_file_names(name, safe):
    assert uploads.safe_name(name) == safe


def test_upload_names_refuse_other_types_and_stay_short():
    for name in ("report.exe", "notes", "archive.tar.gz", "report.pdf.sh"):
        with pytest.raises(uploads.UploadError, match="unsupported file type"):
            uploads.safe_name(name)
    long = uploads.safe_name("é" * 300 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 160


def test_save_upload_never_overwrites(tmp_path):
    folder = tmp_path / "uploads"
    first = uploads.save_upload(folder, "report.txt", b"first")
    second = uploads.save_upload(folder, "../report.txt", b"second")
    (folder / "manifest.toml").write_text('[[document]]\nid = "gone"\nfile = "report-3.txt"\n', encoding="utf-8")
    third = uploads.save_upload(folder, "report.txt", b"third")  # report-3.txt is the manifest's
    assert [p.name for p in (first, second, third)] == ["report.txt", "report-2.txt", "report-4.txt"]
    assert [p.read_bytes() for p in (first, second, third)] == [b"first", b"second", b"third"]
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.toml", "report-2.txt", "report-4.txt", "report.txt"]
    with pytest.raises(uploads.UploadError, match="too large"):
        uploads.save_upload(folder, "big.txt", b"x" * (10 * 1024 * 1024 + 1))


def test_manifest_entries_round_trip_and_removal_keeps_the_rest(tmp_path):
    folder = tmp_path / "uploads"
    a = uploads.save_upload(folder, "a.txt", b"A")
    b = uploads.save_upload(folder, "b.txt", b"B")
    odd = 'Quotes " and \\ back\nslash \x7f [[document]] = "x"'
    uploads.add_manifest_entries(folder, [
        (a, DocumentMeta("a", odd, "Avalon Constabulary", [2020, 2021], "peel-report")),
        (b, DocumentMeta("b", "Plain", None, [], "unknown")),
    ])
    entries = load_manifest(folder)
    assert entries[a.resolve()].title == odd and entries[a.resolve()].years == [2020, 2021]
    assert entries[a.resolve()].force == "Avalon Constabulary" and entries[b.resolve()].force is None
    uploads.remove_manifest_entries(folder, [a])
    text = (folder / "manifest.toml").read_text(encoding="utf-8")
    assert text.startswith("# Reports added in the app")
    assert [e["id"] for e in tomllib.loads(text)["document"]] == ["b"]
    assert uploads.parse_years("2018/19") == [2018, 2019] == uploads.parse_years("2018-2019")
    assert uploads.format_years([2016, 2017, 2018]) == "2016-2018"
    with pytest.raises(ValueError, match="not a year"):
        uploads.parse_years("last year")


def _files(folder: Path) -> list[tuple[str, bytes, str]]:
    return [(p.name, p.read_bytes(), "application/octet-stream") for p in sorted(folder.iterdir())]


def test_upload_in_the_app_refuses_hostile_files_indexes_the_rest_and_a_rebuild_keeps_it(
        index, tmp_path, monkeypatch, run_app):
    data = tmp_path / "data"
    shutil.copytree(Path(read_chunks(index)[0].source).parent, data)
    monkeypatch.setenv("PEEL_DATA", str(data))
    staged = tmp_path / "staged"
    bad = _hostile(staged)
    (staged / "drones.md").write_text(DRONES, encoding="utf-8")

    at = run_app(index)
    at.file_uploader[0].set_value(_files(staged))
    at.run()
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    for name, word in bad.items():
        assert any(w.startswith(f"{name}: ") and word in w for w in warnings), (name, warnings)
    fields = {t.label: t for t in at.text_input}
    assert fields["Title"].value == "Moorland search and rescue 2021" and fields["Years"].value == "2021"
    fields["Force"].input("Avalon Constabulary")
    fields["Title"].input("Avalon moorland drones")
    at.run()
    next(b for b in at.button if b.label == "Index").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Added 1 report" in s.value for s in at.success), [e.value for e in at.error]

    # kept under a safe name with its corrected metadata; nothing of the refused files
    folder = data / "uploads"
    assert sorted(p.name for p in folder.iterdir()) == ["drones.md", "manifest.toml"]
    (entry,) = load_manifest(folder).values()
    assert (entry.title, entry.force, entry.years) == ("Avalon moorland drones", "Avalon Constabulary", [2021])

    # searchable at once, in this session, with the year note above the passages
    next(t for t in at.text_input if t.label == "Question").input(QUESTION + " in 2021")
    at.run()
    cites = [m.value for m in at.markdown if re.search(r'peel-cite">\d+\. ', m.value)]
    assert cites and "Avalon moorland drones (2021)" in cites[0]
    assert any("Passages about 2021 (the years in the question) are ranked first" in re.sub(r"\\(.)", r"\1", i.value) for i in at.info)

    # a full rebuild of the data folder keeps the upload and the metadata the user gave it
    rebuilt = api.build([data], tmp_path / "rebuilt", model=None)
    doc = next(d for d in rebuilt.corpus.documents if d.doc_id == entry.doc_id)
    assert (doc.title, doc.force, doc.inferred) == ("Avalon moorland drones", "Avalon Constabulary", [])


def test_a_full_rebuild_waits_for_an_add_or_remove_in_progress(index, tmp_path):
    """A rebuild swapping in while an add is half done would lose one of the two."""
    import threading

    from index.engine.folder import one_writer

    corpus = tmp_path / "rebuild"
    corpus.mkdir()
    (corpus / "essex-custody.txt").write_text(REPORT, encoding="utf-8")
    before = _manifest(index)["created"]
    done = threading.Event()

    def rebuild() -> None:
        api.build([corpus], index, model=None)
        done.set()

    with one_writer(index):  # as library.add holds it for the whole change
        worker = threading.Thread(target=rebuild)
        worker.start()
        assert not done.wait(timeout=5)  # reading and chunking finished long ago; the swap waits
        assert _manifest(index)["created"] == before
    worker.join(timeout=120)
    assert done.is_set()
    assert set(_chunk_ids(index).values()) == {"essex-custody"}
