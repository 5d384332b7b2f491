"""The HTML reader: content blocks in order, chrome and code left out, offsets exact."""

from __future__ import annotations

import base64

import pytest

from ingest.records import ParsedDocument, alnum_key
from ingest.readers.html import read_html

TITLE = "PEEL 2023–25: An inspection of Essex Police"
SUMMARY = "The force is good at preventing crime and tackling anti-social behaviour."
FINDING = "Officers do not always record the needs of victims when they first report a crime."
ITEMS = ["Improve how victims are kept informed", "Reduce the backlog of digital devices"]
TABLE = [["Crime type", "Recorded", "Solved"], ["Burglary", "1,200", "96"], ["Robbery", "310", "41"]]
CONCLUSION = "We will continue to monitor the force's progress."

# Text of things that must never reach a block, or the document text.
CHROME = [
    "Skip to content",
    "We use cookies on this website",
    "Accept all cookies",
    "HMICFRS home",
    "Publications and reports",
    "About the inspectorate",
    "Breadcrumb trail home",
    "Share on Twitter",
    "Share on Facebook",
    "Leave a reply",
    "Please enter your comment",
    "Post comment",
    "Crown copyright footer notice",
    "More articles",
    "Another inspection report teaser",
    "Figure 2: Crime trends",
]
CODE = ["TRACKERCODE", "INLINESCRIPTCODE", "NOSCRIPTTEXT", "stealCookies", "ONCLICKCODE", "base64", "iVBOR"]


def _table_html(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{cell}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _report_page(image_bytes: int = 2000) -> bytes:
    """An HMICFRS-like page: site chrome around a <main> with the report."""
    image = base64.b64encode(b"\x89PNG" + b"\0" * image_bytes).decode()
    items = "".join(f"<li>{item}</li>" for item in ITEMS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{TITLE} - HMICFRS</title>
<script>window.tracker = function () {{ return "TRACKERCODE"; }};</script>
<style>.hero {{ background: red; }}</style>
</head><body>
<a class="skip-link" href="#main">Skip to content</a>
<div id="cookie-banner"><p>We use cookies on this website.</p><button>Accept all cookies</button></div>
<header class="site-header"><a href="/">HMICFRS home</a>
  <nav><ul><li><a href="/p">Publications and reports</a></li><li><a href="/a">About the inspectorate</a></li></ul></nav>
</header>
<nav class="breadcrumbs"><a href="/">Breadcrumb trail home</a> &gt; <a href="/peel">PEEL</a></nav>
<main id="main">
  <h1>{TITLE}</h1>
  <p>{SUMMARY} <a href="#" onclick="stealCookies('ONCLICKCODE')">Read the summary</a></p>
  <img src="data:image/png;base64,{image}" alt="A chart">
  <p>Figure 2: Crime trends</p>
  <h2>Summary</h2>
  <p>{FINDING}</p>
  <ul>{items}</ul>
  <h3>Crime data</h3>
  {_table_html(TABLE)}
  <script>document.write("INLINESCRIPTCODE");</script>
  <noscript>NOSCRIPTTEXT</noscript>
  <div class="share-links"><a href="#">Share on Twitter</a> <a href="#">Share on Facebook</a></div>
  <h2>Conclusion</h2>
  <p>{CONCLUSION}</p>
  <section id="comments"><h2>Leave a reply</h2>
    <form><label>Please enter your comment!</label><textarea></textarea><button>Post comment</button></form>
  </section>
  <aside><h2>More articles</h2><ul><li>Another inspection report teaser</li></ul></aside>
</main>
<footer class="site-footer"><p>Crown copyright footer notice</p></footer>
</body></html>""".encode()


def _check_offsets(doc: ParsedDocument) -> None:
    """The reader contract: every block's text is its slice of doc.text, in order."""
    assert doc.blocks
    previous_end = 0
    for block in doc.blocks:
        assert 0 <= block.start < block.end <= len(doc.text)
        assert alnum_key(block.text) == alnum_key(doc.text[block.start : block.end])
        assert block.start >= previous_end  # reading order, no overlap
        previous_end = block.end
        assert block.page is None
        assert (block.level >= 1) == (block.kind == "heading")


def _block_keys(doc: ParsedDocument) -> str:
    return "\n".join(alnum_key(block.text) for block in doc.blocks)


@pytest.fixture(scope="module")
def report() -> ParsedDocument:
    return read_html("report.html", _report_page())


def test_headings_in_order_with_tag_levels(report: ParsedDocument) -> None:
    headings = [(b.text, b.level) for b in report.blocks if b.kind == "heading"]
    assert headings == [(TITLE, 1), ("Summary", 2), ("Crime data", 3), ("Conclusion", 2)]


def test_content_in_reading_order(report: ParsedDocument) -> None:
    keys = [alnum_key(b.text) for b in report.blocks]
    expected = [TITLE, SUMMARY, "Summary", FINDING, *ITEMS, "Crime data", "Conclusion", CONCLUSION]
    positions = [next(i for i, key in enumerate(keys) if alnum_key(text) in key) for text in expected]
    assert positions == sorted(positions)


def test_block_offsets_hold(report: ParsedDocument) -> None:
    _check_offsets(report)
    assert report.fmt == "html"


@pytest.mark.parametrize("text", CHROME + CODE)
def test_chrome_and_code_absent(report: ParsedDocument, text: str) -> None:
    assert alnum_key(text) not in _block_keys(report)
    assert text not in report.text


def test_list_items_are_list_blocks(report: ParsedDocument) -> None:
    lists = [b.text for b in report.blocks if b.kind == "list"]
    assert lists == ITEMS


def test_table_once_with_rows_and_cells(report: ParsedDocument) -> None:
    tables = [b for b in report.blocks if b.kind == "table"]
    assert len(tables) == 1
    rows = [[cell.strip() for cell in row.split("|")] for row in tables[0].text.split("\n")]
    assert rows == TABLE
    for cell in ("Burglary", "Robbery", "1,200"):
        assert report.text.count(cell) == 1


def test_title_drops_site_suffix(report: ParsedDocument) -> None:
    assert report.title == TITLE


def test_huge_inline_image_is_left_out() -> None:
    raw = _report_page(image_bytes=6_000_000)  # ~8 MB of base64 in one attribute
    assert len(raw) > 7_000_000
    doc = read_html("big.html", raw)
    assert "iVBOR" not in doc.text
    assert [b.text for b in doc.blocks if b.kind == "heading"][0] == TITLE


# A page without <main>/<article>: chrome must go by tag, role and class.
NO_MAIN = """<html><head><title>Crime data | Force news</title></head><body>
<div class="top-menu"><a>Home</a> <a>Latest crime figures</a></div>
<header role="banner"><h1 class="logo">Force news</h1></header>
<div class="page has-sidebar">
  <div class="content">
    <h2>Crime in the county</h2>
    <p>Recorded crime fell by 4% in the year to March.</p>
    <p><strong>Areas for improvement</strong></p>
    <p>The force should answer 999 calls faster.</p>
    <p><b>This bold sentence is a full paragraph of ordinary text.</b></p>
    <h3>Burglary</h3>
    <p>Burglary rates were stable<br>across all districts.</p>
  </div>
  <div class="sidebar-widget"><h3>Popular stories</h3><p>Sidebar teaser text</p></div>
  <div id="comments-area"><p>Comment by a reader</p></div>
  <div class="social-share">Share on Facebook</div>
</div>
<div role="contentinfo">Contact the newsroom footer</div>
</body></html>"""


def test_page_without_main_drops_chrome_by_class_and_role() -> None:
    doc = read_html("news.html", NO_MAIN.encode())
    _check_offsets(doc)
    keys = _block_keys(doc)
    for text in ("Latest crime figures", "Force news", "Popular stories", "Sidebar teaser text",
                 "Comment by a reader", "Share on Facebook", "Contact the newsroom footer"):
        assert alnum_key(text) not in keys, text
    assert alnum_key("Recorded crime fell by 4% in the year to March.") in keys
    assert alnum_key("Burglary rates were stable across all districts.") in keys


def test_levels_rebased_and_bold_paragraph_subheading() -> None:
    doc = read_html("news.html", NO_MAIN.encode())
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    # h2/h3 are the top levels used in the content: they become 1/2; the short bold-only
    # paragraph sits one level below its h2. The bold full sentence stays a paragraph.
    assert headings == [("Crime in the county", 1), ("Areas for improvement", 2), ("Burglary", 2)]
    texts = [b.text for b in doc.blocks if b.kind == "text"]
    assert "This bold sentence is a full paragraph of ordinary text." in texts
    assert doc.title == "Crime data"


CP1252_TEXT = "It cost £1.2 million – “a lot” – and the force’s plan says savings are “achievable”."


@pytest.mark.parametrize(
    "declaration",
    [
        '<meta charset="windows-1252">',
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">',
        "",  # undeclared: not UTF-8, so guessed
    ],
)
def test_windows_1252_bytes_decoded(declaration: str) -> None:
    page = (
        f"<html><head>{declaration}<title>Budget</title></head>"
        f"<body><h1>Budget</h1><p>{CP1252_TEXT}</p></body></html>"
    )
    raw = page.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is not UTF-8
    doc = read_html("budget.html", raw)
    assert [b.text for b in doc.blocks if b.kind == "text"] == [CP1252_TEXT]


def test_utf8_bom_and_broken_markup() -> None:
    page = (
        "<html><body><h1>Report<p>First paragraph <b>with bold<p>Second paragraph"
        "<ul><li>one<li>two</ul></div></span>"
    )
    doc = read_html("broken.html", b"\xef\xbb\xbf" + page.encode())
    _check_offsets(doc)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Report"),
        ("text", "First paragraph with bold"),
        ("text", "Second paragraph"),
        ("list", "one"),
        ("list", "two"),
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 64, "binary"),
        (b"<html><head><script>var a = 1;</script></head><body><nav>Home</nav></body>", "no readable text"),
    ],
)
def test_unreadable_pages_raise_value_error(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_html("bad.html", raw)


def test_chrome_section_under_its_own_heading_is_skipped() -> None:
    page = """<html><body><article><h1>Force news</h1>
    <p>The inspection found the force good at preventing crime.</p>
    <h2>More articles</h2><ul><li>Teaser about another force</li></ul>
    <h2>Background</h2><p>The inspection took place in 2023.</p>
    </article></body></html>"""
    doc = read_html("news.html", page.encode())
    _check_offsets(doc)
    texts = [b.text for b in doc.blocks]
    assert "Teaser about another force" not in texts
    assert "More articles" not in texts
    assert texts[-2:] == ["Background", "The inspection took place in 2023."]
