"""Hostile input (issue 7): a bulk-downloaded folder with bad files beside good reports.

Every bad file is named in the summary with a plain reason, every readable file is
indexed, the run finishes and `peel ingest` exits 3 ("partial"). Big files are skipped by
size before they are read, and a long paragraph is chunked in linear time.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.engine.versions import current_folder
from ingest import chunking
from ingest import pipeline
from ingest.pipeline import load_corpus, read_document
from ingest.records import alnum_key

ROOT = Path(__file__).resolve().parent.parent
PEEL = [sys.executable, "-m", "search_app.cli"]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONIOENCODING="utf-8")

GOOD_TXT = (
    "Custody and detention\n\n"
    "Custody records at Chelmsford were complete and detainees were checked every hour by "
    "trained detention officers, who also recorded each risk assessment in full.\n"
)
CP1252_TXT = (
    "Spending on custody\n\n"
    "The force spent £5m on a new custody suite, and the panel said it was “fit for purpose” "
    "and ‘well run’ by the detention staff.\n"
).encode("cp1252")  # £ is 0xA3, the curly quotes 0x93/0x94 and 0x91/0x92: not UTF-8
UNICODE_NAME = "Rapport d’été – Kent £ custody.txt"
LATIN1_NAME = b"caf\xe9 custody r\xe9sum\xe9.txt"  # not UTF-8: as unpacked from an old zip file
ESCAPES_TXT = "Terminal tricks\n\nThe custody log held \x1b]0;pwned\x07 escape codes \x1b[2J that clear a screen.\n"


def _html_page(image_bytes: int) -> str:
    image = base64.b64encode(b"\x89PNG" + b"\x00" * image_bytes).decode()
    return f"""<!doctype html><html><head><title>Custody web page</title>
<script>document.cookie = 'stolen';</script></head>
<body onload="alert('onload')"><main><h1>Custody web page</h1>
<p onclick="alert('click')" onmouseover="steal()">The custody suite web page says detainees
were treated with respect <img src="data:image/png;base64,{image}" onerror="alert('img')"> at all times.</p>
<script>alert('inline script ran')</script><noscript>Enable JavaScript</noscript>
<p><a href="javascript:alert('link')">A link to the custody inspection report</a> is kept here.</p>
</main></body></html>"""


def _truncated_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    import io

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for page in range(3):
        c.drawString(72, 720, f"Custody inspection page {page + 1}: detainees were checked hourly.")
        c.showPage()
    c.save()
    data = buf.getvalue()
    return data[: len(data) // 2]  # an interrupted download


def _unreadable(folder: Path) -> tuple[Path | None, str]:
    """A .txt that really cannot be read by this process, and how it was made.

    Not root: a file with mode 000. Root reads any file, so a symlink to a kernel file
    that is write-only even for root (procfs checks its mode bits for root too).
    """
    target = folder / "locked report.txt"
    if os.geteuid() != 0:
        target.write_text(GOOD_TXT, encoding="utf-8")
        target.chmod(0)
        return target, "chmod 000"
    for kernel_file in ("/proc/sys/vm/compact_memory", "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches"):
        try:
            with open(kernel_file, "rb"):
                continue  # readable here: no use
        except PermissionError:
            target.symlink_to(kernel_file)
            return target, f"symlink to {kernel_file}"
        except OSError:
            continue
    return None, "no file that root cannot read on this system"


def make_hostile_folder(folder: Path, big_mb: int = 50) -> dict[str, str]:
    """Good reports and bad files side by side; returns {name: expected reason word} of the bad."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good-report.txt").write_text(GOOD_TXT, encoding="utf-8")
    (folder / "good-notes.md").write_text(
        "# Victim care\n\nVictims of domestic abuse were referred to support services on the same day "
        "and most said the custody staff explained their rights clearly.\n",
        encoding="utf-8",
    )
    (folder / "windows-1252.txt").write_bytes(CP1252_TXT)
    (folder / "web page.html").write_text(_html_page(3 * 1024 * 1024), encoding="utf-8")
    (folder / UNICODE_NAME).write_text(GOOD_TXT.replace("Chelmsford", "Maidstone"), encoding="utf-8")
    (folder / os.fsdecode(LATIN1_NAME)).write_text(GOOD_TXT.replace("Chelmsford", "Canterbury"), encoding="utf-8")
    (folder / "escapes.txt").write_text(ESCAPES_TXT, encoding="utf-8")

    bad = {
        "truncated.pdf": "truncated",
        "not-a-pdf.pdf": "not a PDF",
        "binary.txt": "binary",
        "empty.txt": "empty",
        "huge.txt": "too large",
        "loop.txt": "symlink loop",
        "back": "symlink loop",
        "pipe.txt": "not a regular file",
    }
    (folder / "truncated.pdf").write_bytes(_truncated_pdf())
    (folder / "not-a-pdf.pdf").write_text("<html><body>Sorry, this report has moved.</body></html>")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "empty.txt").write_bytes(b"")
    with open(folder / "huge.txt", "wb") as f:  # 50 MB of text
        line = b"Custody records were checked and found complete by the inspection team today.\n"
        f.write(line * (big_mb * 1024 * 1024 // len(line) + 1))
    (folder / "loop.txt").symlink_to("loop.txt")  # a link to itself
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.txt").write_text(GOOD_TXT.replace("Chelmsford", "Colchester"), encoding="utf-8")
    (folder / "sub" / "back").symlink_to("..", target_is_directory=True)  # a folder loop
    os.mkfifo(folder / "pipe.txt")  # reading it would wait forever
    locked, _how = _unreadable(folder)
    if locked is not None:
        bad[locked.name] = "permission denied"
    return bad


GOOD_NAMES = {"good-report.txt", "good-notes.md", "windows-1252.txt", "web page.html", UNICODE_NAME,
              "caf\\xe9 custody r\\xe9sum\\xe9.txt", "escapes.txt", "nested.txt"}


def _check_result(skipped: list[dict], documents: list[str], bad: dict[str, str]) -> None:
    by_name = {Path(s["path"]).name: s["reason"] for s in skipped}
    assert set(by_name) == set(bad), by_name
    for name, word in bad.items():
        assert word in by_name[name], (name, by_name[name])
    assert set(documents) == GOOD_NAMES


def test_hostile_folder_through_the_pipeline(tmp_path):
    bad = make_hostile_folder(tmp_path / "downloads")
    result = load_corpus([tmp_path / "downloads"])
    _check_result([s.__dict__ for s in result.skipped], [Path(d.source).name for d in result.documents], bad)
    by_doc = {Path(d.source).name: result.texts[d.doc_id] for d in result.documents}
    # Windows-1252 decoded: pound sign and curly quotes, not mojibake
    assert "£5m" in by_doc["windows-1252.txt"] and "“fit for purpose”" in by_doc["windows-1252.txt"]
    assert "‘well run’" in by_doc["windows-1252.txt"]
    # the page's text without its script, handlers or image data
    page = by_doc["web page.html"]
    assert "treated with respect" in page and "custody inspection report" in page
    for code in ("alert", "cookie", "steal", "onclick", "onload", "base64", "javascript", "Enable JavaScript"):
        assert code not in page
    # escape sequences are blanked in the text that reaches a terminal, offsets unchanged
    esc = by_doc["escapes.txt"]
    assert "\x1b" not in esc and "\x07" not in esc and len(esc) == len(ESCAPES_TXT)
    chunks = " ".join(c.text for c in result.chunks)
    assert "\x1b" not in chunks and "Maidstone" in chunks and "Canterbury" in chunks and "Colchester" in chunks
    # ids from names with spaces, accents and undecodable bytes keep their letters
    ids = {Path(d.source).name: d.doc_id for d in result.documents}
    assert ids[UNICODE_NAME] == "rapport-d-ete-kent-custody"
    assert ids["caf\\xe9 custody r\\xe9sum\\xe9.txt"] == "cafe-custody-resume"
    json.dumps([c.to_dict() for c in result.chunks], ensure_ascii=False).encode("utf-8")  # all writable


def test_hostile_folder_through_peel_ingest_is_partial_exit_3(tmp_path):
    bad = make_hostile_folder(tmp_path / "downloads")
    index = tmp_path / "index"
    run = subprocess.run([*PEEL, "ingest", str(tmp_path / "downloads"), "--index", str(index), "--json", "-q"],
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    summary = json.loads(run.stdout)
    assert summary["documents"] == len(GOOD_NAMES)
    docs = json.loads((current_folder(index) / "documents.json").read_text(encoding="utf-8"))
    _check_result(summary["skipped"], [Path(d["source"]).name for d in docs], bad)
    # The human summary names each bad file with its reason, on one line each.
    text = subprocess.run([*PEEL, "ingest", str(tmp_path / "downloads"), "--no-index"],
                          capture_output=True, text=True, env=dict(ENV, COLUMNS="2000"), cwd=ROOT, timeout=300)
    assert text.returncode == 3
    out = " ".join(text.stdout.split())  # rich wraps long lines
    assert f"Skipped {len(bad)} file(s):" in out
    for name, word in bad.items():
        assert name in out and word in out


def test_unreadable_file_is_skipped_with_permission_denied(tmp_path, monkeypatch):
    """The PermissionError branch itself, independent of who runs the tests."""
    (tmp_path / "ok.txt").write_text(GOOD_TXT, encoding="utf-8")
    (tmp_path / "secret.txt").write_text(GOOD_TXT, encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = load_corpus([tmp_path])
    assert [(Path(s.path).name, s.reason) for s in result.skipped] == [
        ("secret.txt", "permission denied (cannot read the file)")
    ]
    assert [Path(d.source).name for d in result.documents] == ["ok.txt"]


def test_a_file_root_cannot_read_really_fails(tmp_path):
    locked, how = _unreadable(tmp_path)
    if locked is None:
        pytest.skip(how)
    with pytest.raises(pipeline.ReadError, match="permission denied"):
        read_document(locked)


def test_explicit_paths_name_their_problem(tmp_path):
    (tmp_path / "loop.txt").symlink_to("loop.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    os.mkfifo(tmp_path / "pipe.md")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    files, skipped = pipeline.discover([tmp_path / n for n in ("loop.txt", "dangling.txt", "pipe.md", "notes.docx", "missing.txt")])
    assert files == []
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert reasons == {
        "loop.txt": "symlink loop (the link leads back to itself)",
        "dangling.txt": "broken symlink (its target does not exist)",
        "pipe.md": "not a regular file (a named pipe)",
        "notes.docx": "unsupported file type '.docx'",
        "missing.txt": "no such file or folder",
    }


def test_linked_folders_are_read_once_and_loops_are_named(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.txt").write_text(GOOD_TXT, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.txt").write_text(GOOD_TXT, encoding="utf-8")
    (tmp_path / "reports" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "reports" / "again").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere" / "up").symlink_to(tmp_path / "reports", target_is_directory=True)
    files, skipped = pipeline.discover([tmp_path / "reports"])
    assert sorted(p.name for p in files) == ["a.txt", "b.txt"]  # the linked folder is read, once
    assert [Path(s.path).name for s in skipped] == ["up"]
    assert skipped[0].reason.startswith("symlink loop")


def test_size_limits_are_checked_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.md"
    with open(big, "wb") as f:
        f.truncate(pipeline.MAX_TEXT_BYTES + 1)  # sparse: nothing to read, only the size
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a file over the limit"))
    with pytest.raises(pipeline.ReadError, match=r"too large \(10 MB; the limit for md files is 10 MB"):
        read_document(big)


def test_too_much_extracted_text_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_TEXT_CHARS", 1000)
    (tmp_path / "long.txt").write_text(GOOD_TXT * 20, encoding="utf-8")
    (tmp_path / "short.txt").write_text(GOOD_TXT, encoding="utf-8")
    result = load_corpus([tmp_path])
    assert [Path(s.path).name for s in result.skipped] == ["long.txt"]
    assert "too much text" in result.skipped[0].reason


_MEASURE = """
import json, resource, sys
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from search_app.cli import main
rc = main(sys.argv[1:])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rc": rc, "growth_kb": after - before}), file=sys.stderr)
"""


def test_50mb_file_is_skipped_quickly_with_bounded_memory(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "report.txt").write_text(GOOD_TXT, encoding="utf-8")
    with open(folder / "everything.txt", "wb") as f:
        f.write(os.urandom(1024).hex().encode() * (50 * 1024 * 1024 // 2048))  # 50 MB, no line breaks
    run = subprocess.run([sys.executable, "-c", _MEASURE, "ingest", str(folder), "--no-index", "--json", "-q"],
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
    stats = json.loads(run.stderr.strip().splitlines()[-1])
    summary = json.loads(run.stdout)
    assert stats["rc"] == 3
    assert summary["documents"] == 1
    assert summary["skipped"] == [{
        "path": str(folder / "everything.txt"),
        "reason": "too large (50 MB; the limit for txt files is 10 MB: reading and embedding it "
                  "would take hours). Split it into smaller files.",
    }]
    assert stats["growth_kb"] < 1.5 * 1024 * 1024  # peak RSS growth, imports included


def test_one_huge_paragraph_is_chunked_in_linear_time(tmp_path, monkeypatch):
    """pysbd is quadratic in its input and the span mapping was quadratic in the block:
    a block longer than any real paragraph is segmented in windows, and letter positions
    are computed once per block."""
    sentences = [f"Officer {i} checked custody record {i * 7} and found the detainee safe and well. "
                 for i in range(900)]
    text = "Custody\n\n" + "".join(sentences).strip() + "\n"  # one ~70,000-character paragraph
    (tmp_path / "one-paragraph.txt").write_text(text, encoding="utf-8")

    segmented: list[int] = []
    real_segmenter = chunking._segmenter()

    class Recording:
        def segment(self, s):
            segmented.append(len(s))
            return real_segmenter.segment(s)

    positions: list[int] = []
    real_positions = chunking._alnum_positions
    monkeypatch.setattr(chunking, "_segmenter", lambda: Recording())
    monkeypatch.setattr(chunking, "_alnum_positions", lambda s: positions.append(len(s)) or real_positions(s))

    result = load_corpus([tmp_path])
    assert not result.skipped
    assert segmented and max(segmented) <= chunking.SBD_MAX_CHARS
    assert len(positions) == 2  # text and source of the one block, not once per piece
    source = result.texts[result.documents[0].doc_id]
    assert len(result.chunks) > 50
    for c in result.chunks:
        assert alnum_key(source[c.char_start:c.char_end]) == alnum_key(c.text)
    # every sentence is kept whole: windows are cut at sentence ends
    joined = " ".join(c.text for c in result.chunks)
    assert all(s.strip() in joined for s in sentences)


def test_map_span_matches_a_letter_by_letter_reference():
    import random

    def reference(text, source, offset, a, b):
        tpos = [i for i, ch in enumerate(text) if alnum_key(ch)]
        spos = [i for i, ch in enumerate(source) if alnum_key(ch)]
        if len(tpos) != len(spos) or not tpos:
            return offset, offset + len(source)
        first = next((k for k, p in enumerate(tpos) if p >= a), None)
        last = next((k for k in range(len(tpos) - 1, -1, -1) if tpos[k] < b), None)
        if first is None or last is None or last < first:
            return offset, offset
        return offset + spos[first], offset + spos[last] + 1

    rng = random.Random(7)
    alphabet = "abXY09 .,-\n\té£ﬁKſİ“”ß"
    for _ in range(500):
        source = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        text = " ".join(source.split()) if rng.random() < 0.8 else source[::-1]
        a = rng.randint(0, len(text))
        b = rng.randint(a, len(text))
        assert chunking.map_span(text, source, 5, a, b) == reference(text, source, 5, a, b)
