"""Document metadata: the corpus manifest, and inference for files it does not list."""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ingest.forces import BY_NAME, dominant_force, find_forces
from ingest.headings import is_date_line, is_part_name
from ingest.records import DocumentMeta, ParsedDocument
from ingest.years import document_period

MANIFEST_NAME = "manifest.toml"

# Where a document says what it is: its title and file name (the label), then this much
# of its opening text; force mentions are counted over the longer head.
_OPENING, _HEAD = 3000, 20000
_TITLE_BLOCKS, _TITLE_WORDS = 8, 20
_NOT_A_TITLE = re.compile(r"^(skip to (main )?content|under embargo\b|embargoed\b|official\b|menu$|search$)", re.I)
# Document-type cues, in one pattern so that the cue written first wins: a plan's opening
# may mention inspections, and an inspection's the police and crime commissioner.
_PEEL_CUE = (
    r"(?-i:\bPEEL\b)|\bpeel[\s:–-]+(?:20\d\d|report|assessment|inspection|spotlight|effectiveness|efficiency|legitimacy)\b"
)
_TYPE_CUES = re.compile(
    r"(?P<crime_data_integrity>\bcrime[- ]data[- ]integrity\b|\bcrime[- ]recording (?:inspection|audit)s?\b)"
    r"|(?P<pcc_report>\bpolice(?:,|\s+and)?\s+(?:fire\s+and\s+)?crime\s+(?:plan|commissioner|panel)s?\b"
    r"|\bcrime plan\b|\bmayor['’]s office for policing and crime\b)"
    r"|(?P<force_progress_report>\bprogress (?:report|update)s?\b|\brevisit(?:ed)?\b|\bupdate on progress\b|\baction plan\b)"
    r"|(?P<inspection>\binspect(?:ion|ions|ed|orate)?\b|\bthematic\b|\bnational overview\b|" + _PEEL_CUE + ")",
    re.IGNORECASE,
)
_PEEL = re.compile(_PEEL_CUE, re.IGNORECASE)
# A document about many forces: said in its label, or (when no force is named there) in its opening.
_THEMATIC_LABEL = re.compile(
    r"\bthematic\b|\bnational (?:overview|report|picture|review)\b|\bstate of policing\b|\bforces\b"
    r"|\bengland and wales\b|\ball (?:43 |police )?forces\b", re.IGNORECASE)
_THEMATIC_OPENING = re.compile(
    r"\bthematic (?:inspection|review|report)\b|\bnational overview\b|\ball (?:43|forty-three) (?:police )?forces\b"
    r"|\b(?:we|this inspection)\s+(?:inspected|visited|examined)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+(?:police\s+)?forces\b",
    re.IGNORECASE)
_MANY_FORCES = 3  # distinct forces in the head, none dominant: a multi-force document
# A news page: two of these cues in its opening or its last lines.
_NEWS_CUES = (
    re.compile(r"\bnews\b", re.IGNORECASE),  # only searched in the label
    re.compile(r"^\s*(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+(?:\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]+"
               r"|[A-Z][a-z]+\s+\d{1,2}(?:st|nd|rd|th)?),?\s+\d{4}\s*$", re.MULTILINE),  # a dateline
    re.compile(r"^\s*By\s+[A-Z][a-z]+(?:\s+[A-Z][\w'’-]+){1,2}\s*(?:,.*)?$", re.MULTILINE),  # a byline
    re.compile(r"^\s*(?:Published|Posted|Updated)(?:\s+on)?\s*:?\s*\d{1,2}[:.]\d\d", re.MULTILINE | re.IGNORECASE),  # with a time
    re.compile(r"\b(?:published|released|said|announced|revealed|warned)\s+(?:today|yesterday|on\s+[A-Z][a-z]+day)\b"),
    re.compile(r"please enter your comment|leave a comment|share this (?:article|story)|sign up to our newsletter"
               r"|\bmore (?:stories|articles)\b|\bmost read\b|\brelated (?:stories|articles)\b", re.IGNORECASE),
)
_INSPECTORATE = re.compile(
    r"\bHMICFRS\b|\bHMIC\b|\bH(?:er|is) Majesty['’]s Inspectorate of Constabulary|\bHM Inspectorate of Constabulary")
_WITH_FIRE = re.compile(r"\bHMICFRS\b|Inspectorate of Constabulary and Fire (?:&|and) Rescue")
_AUTHOR = re.compile(
    r"\b(?:we|our)\s+(?:inspect\w*|assess\w*|found|find|judg\w*|recommend\w*|conclu\w*|visited|examined|reviewed)\b|©\s*HMIC",
    re.IGNORECASE)
PUBLISHER_HMIC = "HMIC (Her Majesty's Inspectorate of Constabulary)"
PUBLISHER_HMICFRS = "HMICFRS (Her Majesty's Inspectorate of Constabulary and Fire & Rescue Services)"
_PCC = re.compile(r"\b(Police(?:,\s*Fire)?\s+and\s+Crime\s+Commissioner)\s+for\s+(?:the\s+)?([A-Z][\w&'’ -]{2,40})")
_MOPAC = re.compile(r"\bMayor['’]s Office for Policing and Crime\b")
_COPYRIGHT = re.compile(r"(?:©|\bCopyright\b)\s*(?:©\s*)?(?:\d{4}\s+)?([A-Z][\w&'’-]*(?:\.\w+)*(?:[ \t]+[A-Z&][\w&'’-]*(?:\.\w+)*){0,4})")


@dataclass
class ManifestEntry:
    meta: DocumentMeta
    file: Path


def load_manifest(folder: Path) -> dict[Path, DocumentMeta]:
    """Entries of ``folder/manifest.toml`` keyed by resolved file path; {} when absent.

    Raises ValueError naming the manifest when it cannot be parsed.
    """
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    out: dict[Path, DocumentMeta] = {}
    for i, entry in enumerate(data.get("document", []), 1):
        if "file" not in entry or "id" not in entry:
            raise ValueError(f"{path}: document entry {i} needs both 'id' and 'file'")
        file = (folder / entry["file"]).resolve()
        years = entry.get("years", [])
        if isinstance(years, int):
            years = [years]
        out[file] = DocumentMeta(
            doc_id=str(entry["id"]),
            title=entry.get("title") or Path(entry["file"]).stem,
            force=entry.get("force"),
            years=sorted(int(y) for y in years),
            doc_type=entry.get("doc_type", "unknown"),
            publisher=entry.get("publisher"),
            published=str(entry["published"]) if "published" in entry else None,
            url=entry.get("url"),
            source=str(file),
        )
    return out


def slug(text: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "-", text.casefold()).strip("-")
    return s or "document"


def infer_meta(doc: ParsedDocument, doc_id: str) -> DocumentMeta:
    """Title, force, years and type guessed from the text, with the guessed fields listed."""
    inferred = []
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    title = " ".join((doc.title or _title_from_text(doc)).split())[:200]
    inferred.append("title")

    head, tail = doc.text[:_HEAD], doc.text[-_OPENING:]
    file_words = _file_words(doc.path)
    label, opening = f"{title}\n{file_words}", head[:_OPENING]
    force = dominant_force(title, file_words, head)
    thematic = _is_thematic(title, file_words, label, opening, head, force)
    if thematic:
        force = None  # an inspection of many forces is about none of them
    if force:
        inferred.append("force")

    # The period, first to last year: a page may hold several years' assessments.
    years = document_period(title, Path(doc.path).name, headings, (b.text for b in doc.blocks if b.kind != "heading"))
    if years:
        inferred.append("years")

    news = _is_news(label, opening, tail)
    doc_type = _doc_type(label, opening, thematic, news, bool(_AUTHOR.search(head)))
    if doc_type != "unknown":
        inferred.append("doc_type")
    publisher = _publisher(doc_type, head, tail)
    if publisher:
        inferred.append("publisher")
    return DocumentMeta(
        doc_id=doc_id,
        title=title,
        force=force,
        years=years,
        doc_type=doc_type,
        publisher=publisher,
        source=str(Path(doc.path).resolve()),
        inferred=inferred,
    )


def _title_from_text(doc: ParsedDocument) -> str:
    """The first title-like line before the body starts, else the file's name in words.

    Datelines, embargo notices, "Skip to content" and generic part names ("Introduction",
    "Contents") are not titles; a one- to three-word line followed by another title-like
    line is the first half of a title ("PEEL" + "Police effectiveness … 2018/19").
    """
    blocks = doc.blocks[:_TITLE_BLOCKS]
    for i, block in enumerate(blocks):
        text = " ".join(block.text.split())
        if block.kind in ("list", "table") or not text or _NOT_A_TITLE.match(text) or is_date_line(text):
            continue
        if block.kind == "heading" and is_part_name(text):
            continue
        if not _title_like(block, text):
            break  # the body has started
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if len(text.split()) <= 3 and nxt is not None:
            second = " ".join(nxt.text.split())
            if second and _title_like(nxt, second) and not is_part_name(second) and not is_date_line(second):
                return f"{text}: {second}"
        return text
    return _file_words(doc.path)


def _title_like(block, text: str) -> bool:
    if len(text.split()) > _TITLE_WORDS or block.kind in ("list", "table"):
        return False
    return block.kind == "heading" or text[-1] not in ".;,:"


def _file_words(path: str) -> str:
    """'essex-peel-2016_effectiveness.txt' → 'Essex Peel 2016 Effectiveness'."""
    return string.capwords(re.sub(r"[\W_]+", " ", Path(path).stem))


def _is_thematic(title: str, file_words: str, label: str, opening: str, head: str, force: str | None) -> bool:
    """Whether a document covers many forces: its label says so, or no force is named
    there and its opening says so or names several forces with none dominant."""
    if _THEMATIC_LABEL.search(label):
        return True
    if find_forces(title, force_context=True) or find_forces(file_words, force_context=True):
        return False
    if _THEMATIC_OPENING.search(opening):
        return True
    return force is None and len({m.name for m in find_forces(head)}) >= _MANY_FORCES


def _is_news(label: str, opening: str, tail: str) -> bool:
    """Two news cues: "news" in the label, a dateline, a byline, a timed "Published", a
    reporting verb ("said today"), comment or share boxes."""
    page = f"{opening}\n{tail}"
    hits = bool(_NEWS_CUES[0].search(label)) + sum(bool(c.search(page)) for c in _NEWS_CUES[1:])
    return hits >= 2


def _doc_type(label: str, opening: str, thematic: bool, news: bool, inspectors_voice: bool) -> str:
    """The document type from the first cue in its label, else in its opening.

    In the opening an inspection cue counts only in the inspectors' own voice ("we
    inspected", "our inspection"): a force's or a PCC's paper cites inspections too.
    Inspections are then told apart: of many forces (thematic), PEEL, or other.
    """
    if news:
        return "news"
    m = _TYPE_CUES.search(label)
    if m is None:
        m = next((c for c in _TYPE_CUES.finditer(opening) if c.lastgroup != "inspection" or inspectors_voice), None)
    if m is None:
        return "unknown"
    if m.lastgroup != "inspection":
        return m.lastgroup.replace("_", "-")
    if thematic:
        return "thematic-inspection"
    return "peel-report" if _PEEL.search(label) or _PEEL.search(opening) else "inspection-report"


def _publisher(doc_type: str, head: str, tail: str) -> str | None:
    """Who issued the document, when the text says so plainly; None when unsure."""
    if doc_type == "news":
        m = _COPYRIGHT.search(tail) or _COPYRIGHT.search(head[:_OPENING])
        return m.group(1).strip() if m else None
    if doc_type == "pcc-report":
        if _MOPAC.search(head):
            return "Mayor's Office for Policing and Crime"
        for m in _PCC.finditer(head):
            area = find_forces(m.group(2), force_context=True)
            places = BY_NAME[area[0].name].places if area and area[0].start == 0 else ()
            if places:
                return f"{m.group(1)} for {places[0]}"
        return None
    page = f"{head}\n{tail}"
    if _INSPECTORATE.search(page) and _AUTHOR.search(head):
        return PUBLISHER_HMICFRS if _WITH_FIRE.search(page) else PUBLISHER_HMIC
    return None
