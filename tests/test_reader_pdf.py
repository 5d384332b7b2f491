"""The PDF reader, on small reports built with reportlab at test time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pdfplumber
import pytest
from reportlab.lib import colors, pdfencrypt
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from ingest.records import ParsedDocument, alnum_key
from ingest.readers.pdf import read_pdf

BODY = ParagraphStyle("Body", fontName="Helvetica", fontSize=11, leading=14, spaceAfter=8)
TITLE_STYLE = ParagraphStyle("Title", fontName="Helvetica-Bold", fontSize=24, leading=28, spaceAfter=12)
H1 = ParagraphStyle("H1", fontName="Helvetica-Bold", fontSize=18, leading=22, spaceBefore=6, spaceAfter=8)
H2 = ParagraphStyle("H2", fontName="Helvetica-Bold", fontSize=14, leading=17, spaceBefore=6, spaceAfter=6)
H3 = ParagraphStyle("H3", fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=4, spaceAfter=4)
CAPTION = ParagraphStyle("Caption", fontName="Helvetica-Oblique", fontSize=9, leading=11, spaceAfter=8)
BULLET = ParagraphStyle("Bullet", parent=BODY, leftIndent=18, bulletIndent=6)

TITLE = "PEEL 2024: An inspection of Essex Police"
WRAPPED = "How effectively does the force reduce crime and keep people safe from harm in its communities"
HEADINGS = [  # text, style; in reading order
    (TITLE, TITLE_STYLE),
    ("Summary", H1),
    (WRAPPED, H1),
    ("Investigating crime", H2),
    ("Areas for improvement", H3),  # bold at body size
]
BANNER = "UNDER EMBARGO"
FOOTER = "Essex Police PEEL inspection 2024 – page {n}"  # repeats, not a known pattern
FOOTNOTE = [
    "1 Home Office recorded crime data, year ending March 2024, published by the",
    "Office for National Statistics in its quarterly bulletin.",
]
FOOTNOTE_PAGE = 2
MARKED = "Recorded crime<super>1</super> rose in the year, a change the force explained to us."
FIGURE = "Figure 1: Recorded crime by month"
TABLE = [
    ["Crime type", "Recorded", "Solved"],
    ["Burglary", "1200", "96"],
    ["Robbery", "310", "41"],
    ["Stalking", "75", "12"],
]
BULLETS = [
    "The force should improve how it records crime.",
    "The force should make sure that every victim gets a needs assessment, and that the "
    "assessment is recorded where supervisors can see it.",
]
_WORDS = "the force works with partners to protect vulnerable people and to investigate crime".split()


def _paragraph(n: int) -> str:
    """One long sentence (a single full stop, at the end) that wraps over several lines."""
    clauses = []
    for i in range(4):
        k = (n + i) % len(_WORDS)
        clauses.append(" ".join(_WORDS[k:] + _WORDS[:k]))
    return f"Paragraph {n} opens here and " + ", ".join(clauses) + f", closing paragraph {n}."


@dataclass
class Fixture:
    path: Path
    n_pages: int
    paragraphs: list[str]
    placed: dict[str, int] = field(default_factory=dict)  # whole flowable text -> its page
    page_keys: list[str] = field(default_factory=list)  # each page's text, by pdfplumber

    def start_page(self, text: str) -> int:
        """The page a flowable starts on: as reportlab placed it, or where its opening is.

        reportlab reports a paragraph it split over two pages without its text, so those
        are located in pdfplumber's plain page text instead.
        """
        if text in self.placed:
            return self.placed[text]
        opening = alnum_key(text)[:40]
        return next(n for n, key in enumerate(self.page_keys, start=1) if opening in key)


class _Doc(SimpleDocTemplate):
    """Records the page each flowable (or split part) is drawn on: the expected pages."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.placed: dict[str, int] = {}

    def afterFlowable(self, flowable: object) -> None:
        if isinstance(flowable, Paragraph):
            self.placed.setdefault(flowable.getPlainText(), self.page)


def _furniture(c: canvas.Canvas, doc: SimpleDocTemplate) -> None:
    c.saveState()
    c.setFont("Helvetica-Bold", 10)
    c.drawString(72, 760, BANNER)
    c.setFont("Helvetica", 9)
    c.drawString(72, 30, FOOTER.format(n=doc.page))
    if doc.page == FOOTNOTE_PAGE:
        c.setFont("Helvetica", 7)
        c.drawString(72, 95, FOOTNOTE[0])
        c.drawString(72, 86, FOOTNOTE[1])
    c.restoreState()


def _build_report(path: Path, title: str = "") -> Fixture:
    paragraphs = [_paragraph(n) for n in range(1, 20)]
    styles = dict(HEADINGS)
    story: list[object] = [Paragraph(TITLE, styles[TITLE]), Paragraph("Summary", styles["Summary"])]
    story += [Paragraph(p, BODY) for p in paragraphs[:7]]
    story.append(Paragraph(MARKED, BODY))
    story.append(Paragraph(WRAPPED, styles[WRAPPED]))
    story += [Paragraph(p, BODY) for p in paragraphs[7:13]]
    story.append(Paragraph(FIGURE, CAPTION))
    story.append(Paragraph("Investigating crime", styles["Investigating crime"]))
    story += [Paragraph(p, BODY) for p in paragraphs[13:15]]
    table = Table(TABLE)
    grid = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("FONT", (0, 0), (-1, -1), "Helvetica", 10)]
    table.setStyle(TableStyle(grid))
    story.append(table)
    story.append(Paragraph("Areas for improvement", styles["Areas for improvement"]))
    story += [Paragraph(text, BULLET, bulletText="•") for text in BULLETS]
    story += [Paragraph(p, BODY) for p in paragraphs[15:]]
    # Footnote space is kept clear of body text by the larger bottom margin.
    doc = _Doc(str(path), pagesize=letter, topMargin=72, bottomMargin=110, title=title)
    doc.build(story, onFirstPage=_furniture, onLaterPages=_furniture)
    with pdfplumber.open(path) as pdf:
        page_keys = [alnum_key(page.extract_text()) for page in pdf.pages]
    return Fixture(path, doc.page, paragraphs, doc.placed, page_keys)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return _build_report(tmp_path_factory.mktemp("pdf") / "report.pdf")


@pytest.fixture(scope="module")
def report(built: Fixture) -> ParsedDocument:
    return read_pdf(str(built.path))


def _keys(doc: ParsedDocument) -> list[str]:
    return [alnum_key(block.text) for block in doc.blocks]


def test_fixture_exercises_the_hard_cases(built: Fixture) -> None:
    """The layouts the reader must cope with really are in the PDF."""
    assert built.n_pages >= 3
    wrapped = Paragraph(WRAPPED, H1)
    wrapped.wrap(letter[0] - 2 * 72, 1000)
    assert len(wrapped.blPara.lines) >= 2  # the heading wraps
    pages = built.page_keys
    # Some body paragraph starts on one page and ends on the next.
    split = [
        p for p in built.paragraphs
        if not any(alnum_key(p) in page for page in pages)
        and any(alnum_key(p)[:40] in page for page in pages)
    ]
    assert split
    assert all(alnum_key(BANNER) in page for page in pages)
    assert alnum_key(FOOTNOTE[0]) in pages[FOOTNOTE_PAGE - 1]


def test_block_offsets_hold(report: ParsedDocument, built: Fixture) -> None:
    assert report.fmt == "pdf"
    previous_end = 0
    for block in report.blocks:
        assert 0 <= block.start < block.end <= len(report.text)
        assert alnum_key(block.text) == alnum_key(report.text[block.start : block.end])
        assert block.start >= previous_end
        previous_end = block.end
        assert block.page is not None and 1 <= block.page <= built.n_pages
        assert block.kind in {"heading", "text", "list", "table"}
        assert (block.level >= 1) == (block.kind == "heading")


def test_headings_levels_order_and_pages(report: ParsedDocument, built: Fixture) -> None:
    # Levels rank the distinct heading styles by size, largest first.
    sizes = sorted({style.fontSize for _, style in HEADINGS}, reverse=True)
    expected = [
        (alnum_key(text), sizes.index(style.fontSize) + 1, built.start_page(text))
        for text, style in HEADINGS
    ]
    found = [(alnum_key(b.text), b.level, b.page) for b in report.blocks if b.kind == "heading"]
    assert found == expected  # the wrapped heading is one block, not two


def test_paragraphs_whole_and_on_their_start_page(report: ParsedDocument, built: Fixture) -> None:
    blocks = {alnum_key(b.text): b for b in report.blocks if b.kind == "text"}
    for paragraph in built.paragraphs:
        block = blocks.get(alnum_key(paragraph))
        assert block is not None, f"not one block: {paragraph[:30]}"
        assert block.page == built.start_page(paragraph)


@pytest.mark.parametrize(
    "furniture",
    [BANNER, *(FOOTER.format(n=n) for n in (1, 2, 3)), *FOOTNOTE, FIGURE],
)
def test_furniture_footnotes_captions_absent(report: ParsedDocument, furniture: str) -> None:
    key = alnum_key(furniture)
    assert not any(key in block_key for block_key in _keys(report))


def test_footnote_mark_not_glued_to_word(report: ParsedDocument) -> None:
    expected = alnum_key(MARKED.replace("<super>1</super>", ""))
    assert expected in _keys(report)


def test_table_once_with_rows_and_cells(report: ParsedDocument) -> None:
    tables = [b for b in report.blocks if b.kind == "table"]
    assert len(tables) == 1
    rows = [[cell.strip() for cell in row.split("|")] for row in tables[0].text.split("\n")]
    assert rows == TABLE
    for cell in ("Burglary", "Robbery", "Stalking"):
        assert report.text.count(cell) == 1


def test_bullets_are_list_blocks(report: ParsedDocument) -> None:
    lists = [alnum_key(b.text) for b in report.blocks if b.kind == "list"]
    assert lists == [alnum_key(text) for text in BULLETS]


def test_title_from_largest_font_when_metadata_is_empty(report: ParsedDocument) -> None:
    assert report.title == TITLE


def test_title_from_metadata(tmp_path: Path) -> None:
    built = _build_report(tmp_path / "titled.pdf", title="Essex PEEL 2024 full report")
    assert read_pdf(str(built.path)).title == "Essex PEEL 2024 full report"


def test_truncated_pdf(built: Fixture, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pdf"
    data = built.path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or damaged"):
        read_pdf(str(cut))


def test_damaged_pdf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Nonsense >> endobj\ntrailer << >>\n%%EOF\n")
    with pytest.raises(ValueError, match="truncated or damaged"):
        read_pdf(str(bad))


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"<html><body>Not a PDF at all</body></html>", "not a PDF"), (b"", "empty")],
)
def test_not_a_pdf(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        read_pdf(str(path))


def test_pdf_without_text(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path), pagesize=letter)
    c.rect(100, 100, 300, 400, fill=1)  # an image-like page: graphics, no glyphs
    c.showPage()
    c.save()
    with pytest.raises(ValueError, match="no extractable text"):
        read_pdf(str(path))


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    lock = pdfencrypt.StandardEncryption("user-secret", ownerPassword="owner", strength=128)
    c = canvas.Canvas(str(path), encrypt=lock)
    c.drawString(72, 700, "Restricted findings.")
    c.showPage()
    c.save()
    with pytest.raises(ValueError, match="encrypted"):
        read_pdf(str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        read_pdf(str(tmp_path / "nowhere.pdf"))
