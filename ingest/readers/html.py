"""HTML reader: a web page (HMICFRS report page, news article) to content blocks.

The page is decoded, stripped of everything that is not content (scripts, media, site
chrome) and walked in document order. ``ParsedDocument.text`` is built from the blocks
themselves (joined by blank lines), so every offset is exact and nothing that was dropped,
script code above all, can reach the text.

Heading levels come from the tag number and are then shifted so the smallest level used
in the content becomes 1 (a page whose ``<h1>`` sits in the dropped site header still
gets top-level sections).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import charset_normalizer
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from ingest.furniture import is_furniture_line
from ingest.records import Block, ParsedDocument, alnum_key

# --- decoding ---------------------------------------------------------------------------

# UTF-32 LE starts with the UTF-16 LE BOM, so it is tested first.
_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_META_CHARSET = re.compile(rb"""<meta[^>]{0,500}?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([a-z0-9_.:-]+)""", re.I)


def _codec_for(label: str) -> str | None:
    """Python codec for a declared charset label, as browsers read it; None if unknown."""
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # Browsers (WHATWG) read latin-1 and ASCII labels as windows-1252; pages that declare
    # them routinely contain 0x80-0x9F curly quotes and dashes.
    if name in {"iso8859-1", "latin-1", "ascii"}:
        return "cp1252"
    # A UTF-16/32 label without a BOM is a mistake in an ASCII-compatible page.
    if name.startswith(("utf-16", "utf-32")):
        return None
    return name


def _decode(raw: bytes) -> tuple[str, list[str]]:
    """Bytes to text: BOM, then declared charset, then UTF-8, then a guess."""
    warnings: list[str] = []
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding, errors="replace"), warnings
    head = raw[:8192]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    declared = _codec_for(match.group(1).decode("ascii", "ignore")) if match else None
    if declared:
        try:
            return raw.decode(declared), warnings
        except UnicodeDecodeError:
            warnings.append(f"bytes do not fit the declared charset {declared}; guessed instead")
    try:
        return raw.decode("utf-8"), warnings
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(raw).best()
    if best is not None:
        warnings.append(f"charset not declared; guessed {best.encoding}")
        return str(best), warnings
    warnings.append("charset unknown; decoded as windows-1252")
    return raw.decode("cp1252", errors="replace"), warnings


# Inline data: URIs can be megabytes of base64; they carry no text, so they are cut before
# parsing rather than handed to the parser.
MAX_MARKUP_CHARS = 30_000_000
_DATA_URI = re.compile(r"""(?<=["'(=])\s*data:[\w.+-]+/[\w.+-]+[^"'()<>\s]*""", re.I)

# --- what is not content ----------------------------------------------------------------

_DROP_TAGS = {
    "script", "style", "noscript", "svg", "math", "iframe", "frame", "frameset", "object",
    "embed", "applet", "img", "picture", "video", "audio", "source", "track", "canvas", "map",
    "template", "button", "input", "select", "option", "textarea", "label", "figcaption",
    "head", "link", "meta", "dialog",
}  # fmt: skip
_CHROME_TAGS = {"nav", "header", "footer", "aside", "form"}
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "dialog"}
_CHROME_WORDS = {
    "nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "cookie", "cookies",
    "footer", "share", "sharing", "comment", "comments", "sidebar",
}  # fmt: skip
# "has-sidebar", "no-comments" and the like describe the layout of a wrapper, not chrome.
_LAYOUT_PREFIX = ("has-", "with-", "no-", "without-")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

_CAPTION = re.compile(
    r"^\s*(figure|fig\.|chart|graph|diagram|image|map)\s*\d+[a-z]?\s*[:.\-–—]", re.I
)

_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div",
    "dl", "dt", "fieldset", "figure", "footer", "header", "hr", "html", "li", "main", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip

# <br> becomes this character so that it survives whitespace collapsing as a line break.
_BR = "\u2028"
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0\u200b\u3000]+")
_TITLE_SEP = re.compile(r"\s+(?:\||-|–|—|::)\s+")


def _inline(text: str) -> str:
    """Collapse HTML whitespace to single spaces; <br> marks become spaces too."""
    return _SPACES.sub(" ", text.replace(_BR, " ")).strip()


def _tag_text(tag: Tag) -> str:
    """The text of a heading or table cell: block children are kept apart by a space."""
    pieces: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag):
            if node.name in _BLOCK_TAGS:
                pieces.append(" ")  # "<p>one</p><p>two</p>" must not read "onetwo"
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            pieces.append(str(node))
    return _inline("".join(pieces))


def _chrome_kind(tag: Tag, root_is_body: bool) -> str | None:
    """Why ``tag`` is chrome: "semantic" (tag, role, hidden), "class" (id/class), or None."""
    name = tag.name
    if name in _CHROME_TAGS and name != "form" and (name != "header" or root_is_body):
        return "semantic"
    attrs = tag.attrs or {}
    if str(attrs.get("role", "")).lower() in _CHROME_ROLES:
        return "semantic"
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return "semantic"
    if _HIDDEN_STYLE.search(str(attrs.get("style", ""))):
        return "semantic"
    if name == "form":
        return "class"
    classes = attrs.get("class") or []
    tokens = list(classes) if isinstance(classes, list) else str(classes).split()
    tokens.append(str(attrs.get("id", "")))
    for token in tokens:
        token = token.lower()
        if not token or token.startswith(_LAYOUT_PREFIX):
            continue
        if _CHROME_WORDS.intersection(re.split(r"[-_\s]+", token)):
            return "class"
    return None


def _text_len(tag: Tag) -> int:
    return len(_inline(tag.get_text()))


def _content_root(soup: BeautifulSoup) -> Tag:
    """<main> if present, else the main <article>, else <body>."""
    body = soup.body or soup
    mains = soup.find_all("main") + soup.find_all(attrs={"role": "main"})
    if mains:
        return max(mains, key=_text_len)
    articles = soup.find_all("article")
    if articles:
        best = max(articles, key=_text_len)
        # Listing pages use <article> for teaser cards: take one only if it is the page.
        if best.find("h1") is not None or _text_len(best) >= 0.4 * _text_len(body):
            return best
    return body


def _remove(root: Tag, doomed: Callable[[Tag], bool]) -> None:
    """Decompose every element under ``root`` for which ``doomed`` is true, in place.

    An explicit stack that never enters a removed subtree: linear, and no recursion limit
    on deeply nested broken markup.
    """
    stack = [root]
    while stack:
        for child in list(stack.pop().children):
            if isinstance(child, Tag):
                if doomed(child):
                    child.decompose()
                else:
                    stack.append(child)


def _chrome_test(root: Tag) -> Callable[[Tag], bool]:
    """The test ``_remove`` applies to strip chrome from the content root."""
    root_is_body = root.name in {"body", "html", "[document]"}
    root_len = _text_len(root)

    def doomed(tag: Tag) -> bool:
        kind = _chrome_kind(tag, root_is_body)
        if kind is None or tag.find("main") is not None:
            return False
        if kind == "semantic":
            return True
        # A class name or a <form> can be a page-wide wrapper ("sidebar-left" on the page
        # div, ASP.NET's <form> round everything): one that holds the page heading or most
        # of the text is layout, and dropping it would drop the page.
        return tag.find("h1") is None and _text_len(tag) < 0.5 * root_len

    return doomed


def _is_layout_table(table: Tag) -> bool:
    """Tables used to lay out a page, not to hold data: walk into them instead."""
    if str(table.get("role", "")).lower() in {"presentation", "none"}:
        return True
    return table.find(["table", *_HEADING_TAGS]) is not None


def _table_text(table: Tag) -> str:
    """Rows of cells joined by ' | ', one row a line; empty rows dropped."""
    rows: list[str] = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a row of a nested table
        cells = [_tag_text(cell) for cell in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


# --- the walk ---------------------------------------------------------------------------


@dataclass
class _Found:
    kind: str
    text: str
    level: int = 0
    tag_level: int = 0  # the h1..h6 number; 0 for headings inferred from <strong>


@dataclass
class _Walker:
    """Walks the pruned tree in document order, collecting blocks."""

    found: list[_Found] = field(default_factory=list)
    buffer: list[tuple[str, bool]] = field(default_factory=list)  # (text, inside <b>/<strong>)
    kinds: list[str] = field(default_factory=lambda: ["text"])
    bold: int = 0
    heading_level: int = 0  # level of the last real heading
    skip_below: int = 0  # >0 while inside a chrome section such as "More articles"

    def run(self, root: Tag) -> list[_Found]:
        # An explicit stack rather than recursion: broken markup can nest very deep.
        stack: list[tuple[object, bool]] = [(root, False)]
        while stack:
            node, closing = stack.pop()
            if isinstance(node, NavigableString):
                # Comments, CDATA, doctypes and processing instructions are not text.
                if not isinstance(node, PreformattedString):
                    self.buffer.append((str(node), self.bold > 0))
                continue
            if not isinstance(node, Tag):
                continue
            if closing:
                self._close(node)
            else:
                self._open(node, stack)
        self._flush()
        return self.found

    def _open(self, tag: Tag, stack: list[tuple[object, bool]]) -> None:
        name = tag.name
        if name in _HEADING_TAGS:
            self._flush()
            self._heading(_tag_text(tag), _HEADING_TAGS[name])
            return
        if name == "table" and not _is_layout_table(tag):
            self._flush()
            caption = tag.find("caption")
            if caption is not None and caption.find_parent("table") is tag:
                self._paragraph(_tag_text(caption), "text", False)
            self._add("table", _table_text(tag))
            return
        if name == "pre":
            self._flush()
            lines = [line.rstrip() for line in tag.get_text().replace(_BR, "\n").splitlines()]
            self._add("text", "\n".join(line for line in lines if line.strip()))
            return
        if name == "hr":
            self._flush()
            return
        if name in _BLOCK_TAGS:
            self._flush()
        if name == "li":
            self.kinds.append("list")
        elif name in {"b", "strong"}:
            self.bold += 1
        stack.append((tag, True))
        stack.extend((child, False) for child in reversed(tag.contents))

    def _close(self, tag: Tag) -> None:
        if tag.name in _BLOCK_TAGS:
            self._flush()
        if tag.name == "li":
            self.kinds.pop()
        elif tag.name in {"b", "strong"}:
            self.bold -= 1

    def _flush(self) -> None:
        if not self.buffer:
            return
        pieces, self.buffer = self.buffer, []
        raw = "".join(text for text, _ in pieces)
        bold_only = all(bold for text, bold in pieces if text.strip())
        self._paragraph(raw, self.kinds[-1], bold_only)

    def _paragraph(self, raw: str, kind: str, bold_only: bool) -> None:
        """Split on blank <br> lines, drop furniture lines and captions, add the rest."""
        groups: list[list[str]] = [[]]
        for line in raw.split(_BR):
            line = _inline(line)
            if not line:
                groups.append([])
            elif not is_furniture_line(line):
                groups[-1].append(line)
        for lines in groups:
            text = "\n".join(lines)
            if not text or is_furniture_line(_inline(text)) or _CAPTION.match(text):
                continue
            words = text.split()
            if (
                kind == "text"
                and bold_only
                and self.heading_level
                and len(words) <= 12
                and not text.endswith(".")
            ):
                # A short bold-only paragraph is a sub-heading one level below the last
                # real heading; the last real level is kept so siblings stay siblings.
                self._add("heading", text, min(6, self.heading_level + 1))
            else:
                self._add(kind, text)

    def _heading(self, text: str, level: int) -> None:
        if not text:
            return
        if self.skip_below and level <= self.skip_below:
            self.skip_below = 0
        if is_furniture_line(text):
            # "More articles", "Leave a reply": the whole section under it is chrome.
            self.skip_below = level
            return
        self.heading_level = level
        self._add("heading", text, level, tag_level=level)

    def _add(self, kind: str, text: str, level: int = 0, tag_level: int = 0) -> None:
        if not text.strip() or self.skip_below:
            return
        self.found.append(_Found(kind, text, level, tag_level))


# --- title ------------------------------------------------------------------------------


def _page_title(soup: BeautifulSoup) -> tuple[str | None, str]:
    """The document <title> (not an SVG's) and og:site_name, read before pruning."""
    title = None
    for tag in soup.find_all("title"):
        if tag.find_parent("svg") is None:
            title = _inline(tag.get_text()) or None
            break
    meta = soup.find("meta", attrs={"property": "og:site_name"})
    site = _inline(str(meta.get("content", ""))) if meta is not None else ""
    return title, site


def _title(title: str | None, site: str, h1: str | None) -> str | None:
    """<title> without an obvious ' - Site name' suffix, else the first <h1>."""
    if not title:
        return h1
    seps = list(_TITLE_SEP.finditer(title))
    if not seps:
        return title
    head, suffix = title[: seps[-1].start()].strip(), title[seps[-1].end() :].strip()
    if site and alnum_key(suffix) == alnum_key(site):
        return head
    if h1 and alnum_key(head) == alnum_key(h1):
        return head
    # Only a pipe or a spaced hyphen is a conventional site separator; an en dash is as
    # likely part of a report title ("PEEL 2016 – An inspection of Essex Police").
    conventional = seps[-1].group().strip() in {"|", "-"}
    if conventional and len(suffix.split()) <= 6 and len(head.split()) >= 2:
        return head
    return title


# --- entry point ------------------------------------------------------------------------


def read_html(path: str, raw: bytes) -> ParsedDocument:
    """Parse an HTML page into content blocks; raise ValueError if it holds no text."""
    if not raw.strip():
        raise ValueError("empty file")
    text, warnings = _decode(raw)
    if "\x00" in text[:4096] or text.count("\ufffd") > max(10, len(text) // 100):
        raise ValueError("binary data, not HTML")
    text = _DATA_URI.sub("data:,", text)
    if len(text) > MAX_MARKUP_CHARS:  # the parse tree takes many times this in memory
        raise ValueError(
            f"too large ({len(text) / 1e6:.0f} million characters of markup besides inline images; "
            f"the limit is {MAX_MARKUP_CHARS / 1e6:.0f} million). Split it into smaller files."
        )
    soup = BeautifulSoup(text, "lxml")
    if soup.find(True) is None:
        raise ValueError("not HTML (no elements found)")

    title, site = _page_title(soup)
    _remove(soup, lambda tag: tag.name in _DROP_TAGS)
    h1 = soup.find("h1")
    first_h1 = _inline(h1.get_text()) if h1 is not None else None
    for br in soup.find_all("br"):
        br.replace_with(_BR)

    root = _content_root(soup)
    _remove(root, _chrome_test(root))
    found = _Walker().run(root)

    real_levels = [f.level for f in found if f.tag_level]
    shift = min(real_levels) - 1 if real_levels else 0
    blocks: list[Block] = []
    parts: list[str] = []
    offset = 0
    for item in found:
        level = max(1, item.level - shift) if item.kind == "heading" else 0
        if parts:
            offset += 2  # the "\n\n" separator
        blocks.append(Block(item.text, offset, offset + len(item.text), item.kind, level, None))
        parts.append(item.text)
        offset += len(item.text)
    if not blocks:
        raise ValueError("HTML has no readable text")
    return ParsedDocument(
        path=path,
        fmt="html",
        text="\n\n".join(parts),
        blocks=blocks,
        title=_title(title, site, next((f.text for f in found if f.tag_level == 1), first_h1)),
        warnings=warnings,
    )
